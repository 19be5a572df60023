import ArrowIPC
import Chunks
import FixtureSupport
import IngestCore
import RRD
import Testing

extension UInt64 {
    fileprivate var asInt: Int { Int(self) }
}

@Suite("Chunks borrow payload-arena slices, or keep a compact copy")
struct ArenaPayloadTests {
    @Test("with compaction off, a chunk decoded from an arena slice keeps the slab alive instead of copying; a read-block slice is copied")
    func arenaSlicesAreBorrowed() throws {
        var reader = try RRDReader(path: Fixtures.rrdPath("points3d.rrd"))
        var msgs: [ArrowMsg] = []
        while let e = reader.next() {
            if case .message(let m) = e, case .arrowMsg(let a) = m.message, a.compression == .lz4 { msgs.append(a) }
        }
        let msg = try #require(msgs.first)
        let decoder = ChunkDecoder()
        decoder.compactionThreshold = 0
        let reference = try decoder.decode(msg)

        weak var slab: ByteStorage?
        var chunk: Chunk?
        do {
            let arena = SlabArena(.payloads)
            var inArena = msg
            inArena.payload = try msg.decompressedPayload(arena: arena)
            inArena.compression = .none
            // A small payload in a large slab: the read-block rule alone would copy it.
            #expect(inArena.payload.storage.count > 2 * inArena.payload.count + 4096)
            slab = inArena.payload.storage
            chunk = try decoder.decode(inArena)
        }
        #expect(slab != nil, "the chunk borrows the slab")
        #expect(chunk?.rowIds == reference.rowIds && chunk?.numRows == reference.numRows)
        #expect(chunk?.recordBatch.retainedByteCount == msg.uncompressedSize.asInt)
        chunk = nil
        #expect(slab == nil, "freed with the chunk")

        // The same bytes inside a larger storage that is not a slab (like a read block) are copied.
        weak var block: ByteStorage?
        do {
            let ipc = try msg.decompressedPayload()
            let big = ByteStorage(count: ipc.count + 10_000) { dst in
                ipc.withUnsafeBytes { (dst.baseAddress! + 100).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            }
            block = big
            var plain = msg
            plain.payload = ByteSlice(storage: big, range: 100..<(100 + ipc.count))
            plain.compression = .none
            chunk = try decoder.decode(plain)
        }
        #expect(block == nil, "copied: the chunk does not pin the block")
        #expect(chunk?.rowIds == reference.rowIds)
    }

    @Test("a small chunk keeps a copy of its body and metadata: the payload's slab is released, the chunk reads the same")
    func smallChunksAreCompacted() throws {
        var reader = try RRDReader(path: Fixtures.rrdPath("many_small_chunks.rrd"))
        var msgs: [ArrowMsg] = []
        while let e = reader.next() {
            if case .message(let m) = e, case .arrowMsg(let a) = m.message { msgs.append(a) }
        }
        try #require(msgs.count >= 2)
        let plainDecoder = ChunkDecoder()
        plainDecoder.compactionThreshold = 0
        let decoder = ChunkDecoder()
        weak var slab: ByteStorage?
        var chunks: [Chunk] = []
        do {
            let arena = SlabArena(.payloads)
            for msg in msgs {
                var inArena = msg
                inArena.payload = try msg.decompressedPayload(arena: arena)
                inArena.compression = .none
                slab = inArena.payload.storage
                chunks.append(try decoder.decode(inArena))
            }
        }
        #expect(slab == nil, "no chunk keeps the payload slab")
        for (msg, chunk) in zip(msgs, chunks) {
            let reference = try plainDecoder.decode(msg)
            #expect(chunk.id == reference.id && chunk.entityPath == reference.entityPath)
            #expect(chunk.rowIds == reference.rowIds && chunk.numRows == reference.numRows)
            #expect(chunk.schemaMetadata == reference.schemaMetadata)
            #expect(chunk.recordBatch.schemaMetadata("rerun:id") == reference.recordBatch.schemaMetadata("rerun:id"))
            #expect(chunk.timelines.map(\.name) == reference.timelines.map(\.name))
            for (a, b) in zip(chunk.components, reference.components) {
                #expect((0..<a.column.length).map { a.column.jsonValue(at: $0) } == (0..<b.column.length).map { b.column.jsonValue(at: $0) })
            }
            // What the chunk keeps: less than the payload (no schema message), and what the arrays walk to.
            let retained = chunk.recordBatch.retainedByteCount
            #expect(retained > 0 && retained < msg.uncompressedSize.asInt)
            #expect(chunk.byteSize < reference.byteSize)
        }
    }

    @Test("replacing a chunk's record batch keeps its row ids (they no longer point into the old payload)")
    func replacedRecordBatchKeepsRowIds() throws {
        var reader = try RRDReader(path: Fixtures.rrdPath("many_small_chunks.rrd"))
        var msgs: [ArrowMsg] = []
        while let e = reader.next() {
            if case .message(let m) = e, case .arrowMsg(let a) = m.message { msgs.append(a) }
        }
        try #require(msgs.count >= 2)
        let decoder = ChunkDecoder()
        decoder.compactionThreshold = 0  // the chunk's row ids point into its own payload
        let other = try decoder.decode(msgs[1])
        weak var payload: ByteStorage?
        var chunk: Chunk
        let expected: [RowId]
        do {
            var own = msgs[0]
            own.payload = try msgs[0].decompressedPayload(arena: SlabArena(.payloads))
            own.compression = .none
            payload = own.payload.storage
            chunk = try decoder.decode(own)
            expected = chunk.rowIds
            // Every column replaced: nothing of the chunk refers to its own payload any more.
            chunk.recordBatch = other.recordBatch
            chunk.timelines = other.timelines
            chunk.components = other.components
        }
        #expect(payload == nil, "the old payload is gone")
        #expect(chunk.rowIds == expected)
        #expect((0..<chunk.numRows).map { chunk.rowId(at: $0) } == expected)
    }
}
