import Foundation
import Testing

@testable import Parquet

@Suite("Column chunks encoded in batches: dictionary decision, fallback to PLAIN, pyarrow reads them")
struct ColumnChunkEncoderTests {
    /// A list<int64> column over batches: repeating values first (dictionary), then distinct ones past
    /// the decision (PLAIN pages after the fallback), a null row and an empty list in every batch.
    static func file(rowsPerBatch: Int, batches: Int) throws -> (bytes: [UInt8], rows: [[Int64]?]) {
        let schema = ParquetSchema(fields: [.list("v", .optional, element: .leaf("element", .int64, .required))])
        let sink = ParquetMemorySink()
        let options = ParquetWriterOptions(compression: .zstd(level: 1), pageSize: 4096, maxDictionarySize: 16 << 20)
        let writer = try ParquetFileWriter(schema: schema, options: options, sink: sink)
        var encoder = ParquetColumnChunkEncoder(descriptor: writer.columnDescriptors[0], options: options)
        var all: [[Int64]?] = []
        let perRow = ParquetColumnChunkEncoder.dictionaryDecisionValues / (rowsPerBatch * 2) + 1
        for b in 0..<batches {
            var rep: [UInt8] = []
            var def: [UInt8] = []
            var values: [Int64] = []
            for r in 0..<rowsPerBatch {
                let row = b * rowsPerBatch + r
                if r == 1 {
                    rep.append(0); def.append(0); all.append(nil)
                    continue
                }
                if r == 2 {
                    rep.append(0); def.append(1); all.append([])
                    continue
                }
                // The first two batches repeat 10 values; later ones are all distinct.
                let items = (0..<perRow).map { k in b < 2 ? Int64(k % 10) : Int64(row * perRow + k) * 7919 }
                for (k, v) in items.enumerated() {
                    rep.append(k == 0 ? 0 : 1)
                    def.append(2)
                    values.append(v)
                }
                all.append(items)
            }
            try encoder.append(
                ParquetColumnData(definitionLevels: def, repetitionLevels: rep, values: .int64(values)),
                rows: rowsPerBatch)
        }
        let chunk = try encoder.finish()
        try writer.writeRowGroup(rows: all.count, chunks: [chunk])
        try writer.close()
        return (sink.bytes, all)
    }

    @Test("the dictionary waits for its decision, then falls back; the chunk's encodings say both")
    func fallback() throws {
        let (bytes, rows) = try Self.file(rowsPerBatch: 8, batches: 5)
        let f = try footer(bytes)
        let meta = try #require(f[4]?.list?.first?.struct?[1]?.list?.first?.struct?[3]?.struct)
        let encodings = try #require(meta[2]?.list)
        #expect(encodings.contains(.int(8)), "RLE_DICTIONARY pages for the repeating batches")
        #expect(encodings.contains(.int(0)), "PLAIN pages after the fallback")
        #expect(meta[11] != nil, "a dictionary page")
        #expect(f[3]?.int == Int64(rows.count))
    }

    @Test("a batch with a chunk of another row count is refused")
    func rowCountMismatch() throws {
        let schema = ParquetSchema(fields: [.leaf("x", .int32, .required)])
        let writer = try ParquetFileWriter(schema: schema, sink: ParquetMemorySink())
        var encoder = ParquetColumnChunkEncoder(descriptor: writer.columnDescriptors[0], options: writer.options)
        try encoder.append(ParquetColumnData(values: .int32([1, 2, 3])), rows: 3)
        #expect(throws: ParquetError.self) { try encoder.append(ParquetColumnData(values: .int32([1])), rows: 2) }
        let chunk = try encoder.finish()
        #expect(throws: ParquetError.self) { try writer.writeRowGroup(rows: 4, chunks: [chunk]) }
        try writer.writeRowGroup(rows: 3, chunks: [chunk])
    }

    @Test(
        "pyarrow reads every value of a batched chunk (dictionary and PLAIN pages)",
        .enabled(if: ParquetWriterTests.python != nil, "no Python with pyarrow (set STOREINGEST_PYTHON)"))
    func pyarrowReads() throws {
        let (bytes, rows) = try Self.file(rowsPerBatch: 8, batches: 5)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("storeingest-\(UUID().uuidString).parquet")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let script = """
            import json, sys, pyarrow.parquet as pq
            t = pq.read_table(sys.argv[1])
            print(json.dumps(t.column("v").to_pylist()))
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ParquetWriterTests.python!)
        p.arguments = ["-c", script, url.path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0)
        let read = try #require(try JSONSerialization.jsonObject(with: data) as? [Any])
        #expect(read.count == rows.count)
        for (r, expected) in rows.enumerated() {
            if let expected {
                #expect((read[r] as? [NSNumber])?.map(\.int64Value) == expected, "row \(r)")
            } else {
                #expect(read[r] is NSNull, "row \(r)")
            }
        }
    }
}
