import ArrowIPC
import Dataframe
import FixtureSupport
import Foundation
import IngestCore
import Parquet
import Testing

/// Arrow → Parquet shredding of every Arrow golden (every type the reader decodes), read back by
/// pyarrow: the types the mapping states (exactly the Arrow types, except the documented mappings)
/// and every value.
@Suite("Arrow → Parquet (pyarrow reads every golden back)")
struct ArrowParquetTests {
    static let python = Python.with(["pyarrow.parquet"])
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "read_parquet.py")

    static var goldens: [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: Fixtures.arrow.path))?
            .filter { $0.hasSuffix(".arrows") && !$0.contains(".lz4.") && !$0.contains(".zstd.") }.sorted() ?? []
    }

    /// Reads `files` with `read_parquet.py`; one object per file.
    static func pyarrowRead(_ files: [String]) throws -> [[String: Any]] {
        let result = try Python.run(python!, [script.path] + files)
        try #require(result.status == 0, "pyarrow failed: \(result.stderr)")
        return String(decoding: result.stdout, as: UTF8.self).split(separator: "\n").map {
            try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("storeingest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A column whose type has a documented Parquet mapping other than itself.
    static func isMapped(_ type: ArrowType) -> Bool {
        switch type {
        case .union, .interval, .time32(.second), .timestamp(.second, _), .date64: return true
        default: return type.children.contains { isMapped($0.type) }
        }
    }

    @Test(
        "every golden column: pyarrow restores the stated type and every value (columns encoded whole, or a row per batch)",
        .enabled(if: python != nil, "no Python with pyarrow (set STOREINGEST_PYTHON)"), arguments: [4 << 20, 1])
    func goldensReadBack(batchBytes: Int) throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var written: [(name: String, batch: ArrowRecordBatch, stated: ArrowSchema, path: String)] = []
        for name in Self.goldens {
            let bytes = try [UInt8](Data(contentsOf: Fixtures.arrow.appendingPathComponent(name)))
            let batch = try ArrowStreamReader().read(ByteStorage(copying: bytes))
            let schema = ArrowSchema(fields: batch.fields, metadata: [])
            let sink = ParquetMemorySink()
            let writer: ArrowParquetWriter
            do {
                writer = try ArrowParquetWriter(schema: schema, options: ParquetWriterOptions(pageSize: 64), sink: sink)
            } catch {
                // Only what the mapping documents as refused.
                #expect(error.code == .unsupported, "\(name): \(error)")
                continue
            }
            writer.batchBytes = batchBytes
            let half = batch.length / 2
            try writer.writeRowGroup(batch.columns, rows: 0..<half)
            try writer.writeRowGroup(batch.columns, rows: half..<batch.length)
            try writer.close()
            let path = dir.appendingPathComponent(name + ".parquet").path
            try Data(sink.bytes).write(to: URL(fileURLWithPath: path))
            written.append((name, batch, writer.statedSchema, path))
        }
        #expect(written.count >= Self.goldens.count - 2, "most goldens are written")
        let read = try Self.pyarrowRead(written.map(\.path))
        try #require(read.count == written.count)
        var compared = 0
        for (w, r) in zip(written, read) {
            if let error = r["error"] as? String {
                Issue.record("\(w.name): pyarrow refuses the file: \(error)")
                continue
            }
            #expect(r["num_rows"] as? Int == w.batch.length, "\(w.name): rows")
            #expect(r["num_row_groups"] as? Int == 2, "\(w.name): row groups")
            // pyarrow names a map's entries field after the column and prints that name.
            let types = w.stated.fields.map { f in
                guard case .map = f.type else { return f.typeDescription }
                return String(f.typeDescription.dropLast()) + " ('\(f.name)')>"
            }
            #expect(r["types"] as? [String] == types, "\(w.name): types")
            for (k, field) in w.batch.fields.enumerated() where !Self.isMapped(field.type) {
                let column = w.batch.columns[k]
                var text = "["
                for i in 0..<column.length { text += (i > 0 ? ", " : "") + column.jsonValue(at: i, options: .integers) }
                let ours = try JSONSerialization.jsonObject(with: Data((text + "]").utf8)) as! NSArray
                let theirs = try #require((r["columns"] as? [String: Any])?[field.name] as? NSArray)
                #expect(ours.isEqual(theirs), "\(w.name) \(field.name):\n ours \(ours)\n pyarrow \(theirs)")
                compared += 1
            }
            // date64 becomes date32 (days, floored); an interval its raw bytes.
            for (k, field) in w.batch.fields.enumerated() {
                let column = w.batch.columns[k]
                let expected: [Any]
                switch field.type {
                case .date64:
                    expected = (0..<column.length).map { i -> Any in
                        column.isNull(i) ? NSNull() : Int(column.int64(at: i).floorDividedBy(86_400_000))
                    }
                case .interval:
                    expected = (0..<column.length).map { i -> Any in
                        guard !column.isNull(i) else { return NSNull() }
                        let w = field.type.byteWidth!
                        return column.withUnsafeBuffers { values, _ in
                            "0x" + values[(i * w)..<(i * w + w)].map { String(format: "%02x", $0) }.joined()
                        }
                    }
                default: continue
                }
                let theirs = try #require((r["columns"] as? [String: Any])?[field.name] as? NSArray)
                #expect(
                    theirs.isEqual(to: expected), "\(w.name) \(field.name):\n pyarrow \(theirs)\n expected \(expected)")
                compared += 1
            }
            // A union becomes a struct whose only non-null member is the slot's value.
            for (k, field) in w.batch.fields.enumerated() {
                guard case .union = field.type else { continue }
                let column = w.batch.columns[k]
                let theirs = try #require((r["columns"] as? [String: Any])?[field.name] as? [Any])
                for i in 0..<column.length {
                    let ours =
                        try JSONSerialization.jsonObject(
                            with: Data("[\(column.jsonValue(at: i, options: .integers))]".utf8)) as! [Any]
                    let row = try #require(theirs[i] as? [String: Any], "\(w.name) row \(i)")
                    let set = row.values.filter { !($0 is NSNull) }
                    if ours[0] is NSNull {
                        #expect(set.isEmpty, "\(w.name) row \(i)")
                    } else {
                        #expect(set.count == 1 && (set as NSArray).isEqual(to: [ours[0]]), "\(w.name) row \(i): \(row)")
                    }
                }
                compared += 1
            }
        }
        #expect(compared >= written.count)
    }
}

extension Int64 {
    /// Division rounding toward negative infinity.
    fileprivate func floorDividedBy(_ d: Int64) -> Int64 { self >= 0 ? self / d : -((-self + d - 1) / d) }
}
