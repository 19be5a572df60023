@testable import ArrowIPC
import IngestCore
import Testing

@Suite("Load plans: the quick path for known schemas")
struct LoadPlanTests {
    /// Every array's shape (type, length, null count, buffer positions) and values, recursively.
    static func describe(_ a: ArrowArray) -> String {
        var s = "\(a.type) n=\(a.length) nulls=\(a.nullCount) v=\(a.validity) \(a.values)+\(a.valuesCount) \(a.data)+\(a.dataCount) ["
        s += (0..<a.length).map { a.jsonValue(at: $0) }.joined(separator: ",") + "]"
        return s + "{" + a.children.map(describe).joined(separator: ";") + "}"
    }

    @Test("the plan path builds exactly the arrays the general path builds", arguments: GoldenType.allFiles.map(\.1))
    func sameArrays(_ file: String) throws {
        let bytes = try goldenBytes(file)
        let reader = ArrowStreamReader()
        // `validateFully` always takes the general path; without it a known, plain schema takes the plan.
        let general = try reader.read(ByteStorage(copying: bytes), validateFully: true)
        let planned = try reader.read(ByteStorage(copying: bytes))
        let compressed = file.contains(".lz4.") || file.contains(".zstd.")
        let plannable = LoadPlan(general.fields) != nil
        #expect(reader.plannedBatches == (plannable && !compressed ? 1 : 0))
        #expect(planned.length == general.length && planned.fields == general.fields)
        #expect(planned.columns.map(Self.describe) == general.columns.map(Self.describe))
        #expect(planned.warnings == general.warnings)
        #expect(planned.retainedByteCount == planned.walkedRetainedByteCount)
    }

    @Test("which schemas get a plan")
    func planned() throws {
        for (file, expected) in [
            ("int32.arrows", true), ("list_int32.arrows", true), ("fixed_size_list_f32x3.arrows", true),
            ("fixed_size_binary16.arrows", true), ("binary.arrows", true), ("dictionary_int32_string.arrows", false),
            ("binary_view.arrows", false),
        ] {
            let schema = try goldenBytes(file).withUnsafeBytes { raw -> ArrowSchema in
                let size = Int(raw.loadUnaligned(fromByteOffset: 4, as: Int32.self))
                let meta = UnsafeRawBufferPointer(rebasing: raw[8..<(8 + size)])
                return try SchemaDecoding.schema(try FBTable.root(meta, base: 8).table(2)!)
            }
            #expect((LoadPlan(schema.fields) != nil) == expected, "\(file)")
        }
    }

    @Test("a damaged batch of a schema read before still fails with the general path's error")
    func damagedBatchOfKnownSchema() throws {
        let schema = IPCBuilder.schemaMessage(of: try goldenBytes("int32.arrows"))
        let good = schema + IPCBuilder.recordBatch(length: 3, nodes: [(3, 0)], buffers: [[], IPCBuilder.le([Int32(1), 2, 3])]) + IPCBuilder.eos
        let reader = ArrowStreamReader()
        let batch = try reader.read(ByteStorage(copying: good))
        #expect((0..<3).map { batch.columns[0].int64(at: $0) } == [1, 2, 3])
        #expect(reader.plannedBatches == 1)
        // Too few value bytes for the rows, a null count above the length, a column shorter than the batch.
        let damaged: [([UInt8], String)] = [
            (schema + IPCBuilder.recordBatch(length: 3, nodes: [(3, 0)], buffers: [[], IPCBuilder.le([Int32(1), 2])]) + IPCBuilder.eos, "values buffer has 8 bytes, needs at least 12"),
            (schema + IPCBuilder.recordBatch(length: 3, nodes: [(3, 4)], buffers: [[0], IPCBuilder.le([Int32(1), 2, 3])]) + IPCBuilder.eos, "null count 4"),
            (schema + IPCBuilder.recordBatch(length: 3, nodes: [(2, 0)], buffers: [[], IPCBuilder.le([Int32(1), 2, 3])]) + IPCBuilder.eos, "column has 2 slots"),
            (schema + IPCBuilder.recordBatch(length: 3, nodes: [(3, 0), (3, 0)], buffers: [[], IPCBuilder.le([Int32(1), 2, 3])]) + IPCBuilder.eos, "2 field nodes"),
        ]
        for (bytes, text) in damaged {
            for arena in [nil, SlabArena(.chunkBodies)] {
                do {
                    _ = try reader.read(ByteStorage(copying: bytes), compactingInto: arena) { _, _ in }
                    Issue.record("\(text): no error")
                } catch {
                    #expect(error.code == .invalidData, "\(text): \(error)")
                    #expect(error.description.contains(text), "\(error.description)")
                    #expect(error.offset >= schema.count, "the offset points into the record batch message")
                }
            }
        }
        // And the reader goes on reading good batches of that schema.
        #expect(try reader.read(ByteStorage(copying: good)).length == 3)
        #expect(reader.plannedBatches == 2)
    }
}
