@testable import ArrowIPC
import IngestCore
import Testing

@Suite("Compacting read: a batch keeps its body and metadata, not the stream")
struct CompactingReadTests {
    @Test("the same values, a smaller retained count, and the stream is not retained", arguments: GoldenType.allFiles.map(\.1))
    func sameValues(_ file: String) throws {
        let bytes = try goldenBytes(file)
        let plain = try ArrowStreamReader().read(ByteStorage(copying: bytes), validateFully: true)
        let arena = SlabArena(.chunkBodies)
        weak var stream: ByteStorage?
        let compact: ArrowRecordBatch
        do {
            let storage = ByteStorage(copying: bytes)
            stream = storage
            compact = try ArrowStreamReader().read(storage, compactingInto: arena) { _, _ in }
        }
        let compressed = file.contains(".lz4.") || file.contains(".zstd.")
        let hasDictionary = plain.fields.contains { $0.dictionary != nil }
        if compressed || hasDictionary {
            #expect(arena.slabsCreated == 0, "read as without an arena")
            #expect(compact.retainedByteCount == compact.walkedRetainedByteCount)
        } else {
            #expect(arena.slabsCreated == 1)
            #expect(stream == nil, "the stream is released")
            // Its range of the slab: the body (at least the buffers the arrays use) and the metadata.
            var buffers = 0
            for c in compact.columns { buffers += c.bufferBytes }
            #expect(compact.retainedByteCount >= buffers + 4 && compact.retainedByteCount < bytes.count)
        }
        #expect(compact.length == plain.length && compact.fields == plain.fields)
        #expect(compact.schemaMetadata == plain.schemaMetadata)
        for (a, b) in zip(compact.columns, plain.columns) {
            #expect((0..<a.length).map { a.jsonValue(at: $0) } == (0..<b.length).map { b.jsonValue(at: $0) })
        }
    }

    @Test("packed schema metadata (duplicate keys, empty and non-ASCII ones) reads as the decoded form does")
    func packedMetadata() throws {
        let metadata = [
            KeyValue(key: "rerun:id", value: "chunk_0123"), KeyValue(key: "", value: "empty key"),
            KeyValue(key: "k", value: ""), KeyValue(key: "rerun:id", value: "second"),
            KeyValue(key: "ünï", value: "cødé ✓"),
        ]
        // The entries as ranges of one source buffer, as the reader records them.
        var source: [UInt8] = [0xEE]
        var entries: [PackedMetadata.Entry] = []
        for e in metadata {
            let k = source.count
            source += Array(e.key.utf8)
            let v = source.count
            source += Array(e.value.utf8)
            entries.append(.init(key: k, keyCount: e.key.utf8.count, value: v, valueCount: e.value.utf8.count))
        }
        let size = PackedMetadata.size(entries)
        let storage = ByteStorage(count: size + 3) { dst in
            dst.initializeMemory(as: UInt8.self, repeating: 0xAA)
            source.withUnsafeBytes { src in
                PackedMetadata.pack(entries, from: src, into: UnsafeMutableRawBufferPointer(rebasing: dst[3..<(3 + size)]))
            }
        }
        let packed = SchemaMetadataSource.packed(storage: storage, range: 3..<(3 + size))
        let decoded = SchemaMetadataSource.decoded(metadata)
        #expect(packed.decoded == metadata)
        var walked: [KeyValue] = []
        packed.forEach {
            walked.append(KeyValue(key: String(decoding: $0, as: UTF8.self), value: String(decoding: $1, as: UTF8.self)))
        }
        #expect(walked == metadata)
        for key in ["rerun:id", "", "k", "ünï", "absent", "rerun"] {
            let a = packed.withValue(key) { $0.map { Array($0) } }
            let b = decoded.withValue(key) { $0.map { Array($0) } }
            #expect(a == b, "\(key)")
        }
        #expect(packed.withValue("rerun:id") { $0.map { String(decoding: $0, as: UTF8.self) } } == "chunk_0123")
        #expect(packed.withValue("k") { $0?.count } == 0, "an empty value is not an absent one")
    }
}
