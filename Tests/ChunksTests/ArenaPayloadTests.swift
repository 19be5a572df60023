import Chunks
import FixtureSupport
import RRD
import Testing

@Suite("Chunks borrow payload-arena slices")
struct ArenaPayloadTests {
    @Test("a chunk decoded from an arena slice keeps the slab alive instead of copying; a read-block slice is copied")
    func arenaSlicesAreBorrowed() throws {
        var reader = try RRDReader(path: Fixtures.rrdPath("points3d.rrd"))
        var msgs: [ArrowMsg] = []
        while let e = reader.next() {
            if case .message(let m) = e, case .arrowMsg(let a) = m.message, a.compression == .lz4 { msgs.append(a) }
        }
        let msg = try #require(msgs.first)
        let decoder = ChunkDecoder()
        let reference = try decoder.decode(msg)

        weak var slab: ByteStorage?
        var chunk: Chunk?
        do {
            let arena = PayloadArena()
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

    @Test("replacing a chunk's record batch keeps its row ids (they no longer point into the old payload)")
    func replacedRecordBatchKeepsRowIds() throws {
        var reader = try RRDReader(path: Fixtures.rrdPath("many_small_chunks.rrd"))
        var msgs: [ArrowMsg] = []
        while let e = reader.next() {
            if case .message(let m) = e, case .arrowMsg(let a) = m.message { msgs.append(a) }
        }
        try #require(msgs.count >= 2)
        let decoder = ChunkDecoder()
        let other = try decoder.decode(msgs[1])
        weak var payload: ByteStorage?
        var chunk: Chunk
        let expected: [Tuid]
        do {
            var own = msgs[0]
            own.payload = try msgs[0].decompressedPayload(arena: PayloadArena())
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
