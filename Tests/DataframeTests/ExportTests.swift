import ArrowIPC
import Chunks
import Dataframe
import Dispatch
import FixtureSupport
import Foundation
import IngestCore
import IngestTestSupport
import Parquet
import Store
import Testing

/// The exported dataset read by the engines users run: DuckDB over the Hive layout returns the SDK
/// reader's values cell by cell; pyarrow reads Parquet and Arrow IPC files with the SDK's exact Arrow
/// types; the Parquet footers (row counts, statistics, ARROW:schema) are checked by pyarrow and by our
/// own Thrift reader.
@Suite("Export: DuckDB, pyarrow and our footer reader agree with the SDK's reader")
struct ExportTests {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let duckdbPython = Python.with(["duckdb", "pyarrow.parquet", "rerun", "datafusion"])
    static let pyarrowPython = Python.with(["pyarrow.parquet", "rerun", "datafusion"])
    static let polarsPython = Python.with(["polars", "pyarrow.parquet"])

    /// Every recording store (with chunks) of every well-formed fixture, exported below a new folder.
    static func export(format: DatasetExport.Format) throws -> (dir: URL, files: [String: DatasetExport.WrittenFile]) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "storeingest-export-\(UUID().uuidString)")
        // Small row groups and pages: several of each even in the fixtures.
        let options = DatasetExport.Options(
            format: format, rowGroupBytes: 64, parquet: ParquetWriterOptions(pageSize: 256))
        var files: [String: DatasetExport.WrittenFile] = [:]
        for file in SDKReaderTests.wellFormed {
            let (stores, _) = loadStores(paths: [Fixtures.rrdPath(file)])
            for (id, store) in stores.stores where id.kind == .recording && store.statistics.chunks > 0 {
                // Columns shredded and encoded on several threads, as `ingest export` does.
                let written = try #require(
                    try DatasetExport.write(
                        store, id: id, to: dir.path, options: options,
                        parallelFor: { DispatchQueue.concurrentPerform(iterations: $0, execute: $1) }))
                files[id.recordingId] = written
            }
        }
        return (dir, files)
    }

    /// The SDK's view that the export of a store with default options holds: its first timeline by
    /// name (the static view when it has none), without fill, every entity.
    static func sdkView(recording: String) -> [String: Any]? {
        for views in SDKReaderTests.sdkViews.values {
            let mine = views.filter { $0["recording_id"] as? String == recording }
            let indexes = mine.compactMap { $0["index"] as? String }.sorted()
            let index = indexes.first
            if let view = mine.first(where: {
                $0["index"] as? String == index && $0["fill_latest_at"] as? Bool == false && $0["contents"] is NSNull
            }) {
                return view
            }
        }
        return nil
    }

    /// Rows in a canonical order (the JSON text of each row, keys sorted).
    static func sortedRows(_ rows: [Any]) -> [NSArray] {
        rows.map { $0 as! NSArray }.sorted {
            let a = try! JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .fragmentsAllowed])
            let b = try! JSONSerialization.data(withJSONObject: $1, options: [.sortedKeys, .fragmentsAllowed])
            return a.lexicographicallyPrecedes(b)
        }
    }

    static func compare(_ label: String, columns: [String], rows: [Any], with view: [String: Any]) {
        let expectedColumns = (view["columns"] as! [[String]]).map { $0[0] }
        #expect(columns == expectedColumns, "\(label): columns")
        guard columns == expectedColumns else { return }
        let ours = sortedRows(rows)
        let theirs = sortedRows(view["rows"] as! [Any])
        #expect(ours.count == theirs.count, "\(label): rows")
        for (r, (a, b)) in zip(ours, theirs).enumerated() {
            #expect(a.isEqual(b), "\(label): row \(r)\n duckdb \(a)\n sdk    \(b)")
        }
    }

    /// Recordings the SDK cannot read (it refuses the concatenated file's footer).
    static let notForTheSDK: Set<String> = ["fixture-concat-a", "fixture-concat-b"]

    @Test(
        "DuckDB read_parquet over DIR/**/*.parquet (hive partitions) = the SDK's reader, cell by cell",
        .enabled(
            if: duckdbPython != nil,
            "no Python with duckdb, pyarrow, rerun-sdk 0.41 and datafusion (pip install duckdb)"))
    func duckdb() throws {
        let (dir, files) = try Self.export(format: .parquet)
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try Python.run(
            Self.duckdbPython!, [Self.here.appendingPathComponent("duckdb_read.py").path, dir.path])
        try #require(result.status == 0, "duckdb failed: \(result.stderr)")
        var seen: Set<String> = []
        for line in String(decoding: result.stdout, as: UTF8.self).split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            if let aggregates = object["aggregates"] as? [[Any]] {
                #expect(aggregates.count == files.count)
                for a in aggregates {
                    #expect(a[2] as? Int == files[a[1] as! String]?.rows, "rows of \(a[1])")
                }
                continue
            }
            let recording = object["recording_id"] as! String
            seen.insert(recording)
            #expect(object["application_id"] as? String == "rrd_fixtures", "the hive partition of \(recording)")
            guard let view = Self.sdkView(recording: recording) else {
                #expect(Self.notForTheSDK.contains(recording), "no SDK view of \(recording)")
                continue
            }
            Self.compare(
                "duckdb \(recording)", columns: object["columns"] as! [String], rows: object["rows"] as! [Any],
                with: view)
        }
        #expect(seen == Set(files.keys))
        #expect(seen.count >= 15)
    }

    @Test(
        "Polars reads every Parquet file with pyarrow's values; scan_parquet of the Hive folder finds every store",
        .enabled(if: polarsPython != nil, "no Python with polars and pyarrow (pip install polars)"))
    func polars() throws {
        let (dir, files) = try Self.export(format: .parquet)
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try Python.run(
            Self.polarsPython!, [Self.here.appendingPathComponent("polars_read.py").path, dir.path])
        try #require(result.status == 0, "polars failed: \(result.stderr)")
        let byPath = Dictionary(uniqueKeysWithValues: files.values.map { ($0.path, $0) })
        var read = 0
        for line in String(decoding: result.stdout, as: UTF8.self).split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            if let scan = object["scan"] as? [[Any]] {
                #expect(scan.count == files.count, "one group per store")
                for row in scan {
                    let recording = try #require(row[1] as? String)
                    #expect(row[0] as? String == "rrd_fixtures", "the hive partition of \(recording)")
                    #expect(row[2] as? Int == files[recording]?.rows, "rows of \(recording)")
                }
                continue
            }
            let path = try #require(object["file"] as? String)
            let file = try #require(byPath[path], "a file we did not write: \(path)")
            #expect(object["error"] == nil, "Polars refuses \(path): \(object["error"] ?? "")")
            #expect(object["rows"] as? Int == file.rows, "\(path): rows")
            #expect((object["columns"] as? [String])?.count == file.columns, "\(path): columns")
            #expect((object["mismatches"] as? [String]) == [], "\(path): Polars and pyarrow differ")
            read += 1
        }
        #expect(read == files.count)
    }

    @Test(
        "pyarrow reads every Parquet file with the SDK's Arrow types; footers: row counts, statistics, ARROW:schema",
        .enabled(if: pyarrowPython != nil, "no Python with pyarrow, rerun-sdk 0.41 and datafusion"))
    func parquetMetadata() throws {
        let (dir, files) = try Self.export(format: .parquet)
        defer { try? FileManager.default.removeItem(at: dir) }
        let ordered = files.sorted { $0.key < $1.key }
        let read = try ArrowParquetTests.pyarrowRead(ordered.map(\.value.path))
        try #require(read.count == ordered.count)
        for ((recording, file), r) in zip(ordered, read) {
            #expect(r["error"] == nil, "\(recording): \(r["error"] ?? "")")
            // pyarrow's view of the file.
            #expect(r["num_rows"] as? Int == file.rows, "\(recording): rows")
            #expect((r["row_group_rows"] as? [Int])?.reduce(0, +) == file.rows)
            #expect(r["num_row_groups"] as? Int == file.rowGroups)
            if file.rows > 1 { #expect(file.rowGroups > 1, "\(recording): small row groups asked for") }
            let statistics = try #require(r["statistics"] as? [String: [Any]])
            for (path, groups) in statistics {
                for g in groups {
                    let s = try #require(g as? [Any], "\(recording) \(path): statistics missing")
                    #expect(s[1] is Int, "\(recording) \(path): null count")
                }
            }
            if let view = Self.sdkView(recording: recording) {
                let types = (view["columns"] as! [[String]]).map { $0[1] }
                #expect(r["types"] as? [String] == types, "\(recording): the SDK's exact Arrow types")
                let columns = r["columns"] as! [String: [Any]]
                let names = (view["columns"] as! [[String]]).map { $0[0] }
                let rows: [Any] = (0..<file.rows).map { i in names.map { columns[$0]![i] } }
                Self.compare("pyarrow \(recording)", columns: r["names"] as! [String], rows: rows, with: view)
                // The index column's statistics are its first and last time (rows ascend).
                if let index = view["index"] as? String, let groups = statistics[index],
                    let first = groups.first as? [Any],
                    let last = groups.last as? [Any], let rowsOfView = view["rows"] as? [[Any]], !rowsOfView.isEmpty
                {
                    let k = names.firstIndex(of: index)!
                    #expect(first[0] as? Bool == true && last[0] as? Bool == true)
                    #expect((first[2] as? NSNumber)?.int64Value == (rowsOfView.first![k] as? NSNumber)?.int64Value)
                    #expect((last[3] as? NSNumber)?.int64Value == (rowsOfView.last![k] as? NSNumber)?.int64Value)
                }
            } else {
                #expect(Self.notForTheSDK.contains(recording))
            }
            // Our own reader of the footer.
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file.path)))
            #expect(bytes.count == file.bytes)
            let metadata = try ParquetFileMetadata(file: bytes)
            #expect(metadata.numRows == Int64(file.rows))
            #expect(metadata.rowGroups.count == file.rowGroups)
            #expect(metadata.rowGroups.reduce(0) { $0 + $1.numRows } == Int64(file.rows))
            #expect(metadata.keyValues["ARROW:schema"]?.isEmpty == false)
            #expect(metadata.keyValues["rerun:recording_id"] == recording)
            for group in metadata.rowGroups {
                #expect(group.columns.count == metadata.rowGroups[0].columns.count)
                for c in group.columns {
                    #expect(c.nullCount != nil, "\(recording) \(c.path): statistics")
                    #expect(c.codec == 6, "zstd")
                    #expect(c.numValues >= group.numRows)
                }
            }
        }
    }

    @Test(
        "pyarrow opens every Arrow IPC file: the SDK's types and values",
        .enabled(if: pyarrowPython != nil, "no Python with pyarrow, rerun-sdk 0.41 and datafusion"))
    func arrowFiles() throws {
        let (dir, files) = try Self.export(format: .arrow)
        defer { try? FileManager.default.removeItem(at: dir) }
        let ordered = files.sorted { $0.key < $1.key }
        let script = """
            import json, sys, pyarrow as pa
            sys.path.insert(0, sys.argv[1])
            from read_parquet import cells
            for path in sys.argv[2:]:
                with pa.ipc.open_file(path) as f:
                    t = f.read_all()
                    print(json.dumps({"batches": f.num_record_batches, "names": t.column_names,
                                      "types": [str(x.type) for x in t.schema],
                                      "columns": {n: cells(t.column(n)) for n in t.column_names}}))
            """
        let result = try Python.run(Self.pyarrowPython!, ["-c", script, Self.here.path] + ordered.map(\.value.path))
        try #require(result.status == 0, "pyarrow failed: \(result.stderr)")
        let lines = String(decoding: result.stdout, as: UTF8.self).split(separator: "\n")
        try #require(lines.count == ordered.count)
        for ((recording, file), line) in zip(ordered, lines) {
            let r = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(r["batches"] as? Int == 1)
            guard let view = Self.sdkView(recording: recording) else { continue }
            #expect(r["types"] as? [String] == (view["columns"] as! [[String]]).map { $0[1] }, "\(recording): types")
            let names = (view["columns"] as! [[String]]).map { $0[0] }
            let columns = r["columns"] as! [String: [Any]]
            let rows: [Any] = (0..<file.rows).map { i in names.map { columns[$0]?[i] ?? NSNull() } }
            Self.compare("arrow \(recording)", columns: r["names"] as! [String], rows: rows, with: view)
        }
    }
}
