import Dataframe
import FixtureSupport
import Foundation
import IngestCore
import IngestTestSupport
import Parquet
import Store
import Testing

/// The scale-out recipe: recordings exported one by one (as separate machines would), then Spark in
/// local mode over the whole folder gives DuckDB's aggregate answers.
///
/// Spark's start alone takes 15-25 s on these machines, so the test runs only when asked:
/// `STOREINGEST_SPARK=1 swift test --filter SparkTests` (its own CI stage).
@Suite("Export: Spark (local mode) over many recordings = DuckDB")
struct SparkTests {
    static let python = Python.with(["pyspark", "duckdb", "pyarrow.parquet"])
    static let java: Bool = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/java") }
    }()

    @Test(
        "rows, non-null cells and a sum of scalars per recording: Spark = DuckDB, over 64 recordings in 4 applications",
        .enabled(
            if: ProcessInfo.processInfo.environment["STOREINGEST_SPARK"] == "1",
            "Spark takes ~25 s: run with STOREINGEST_SPARK=1 (swift test --filter SparkTests)"),
        .enabled(if: python != nil, "no Python with pyspark and duckdb (pip install pyspark duckdb)"),
        .enabled(if: java, "no java on PATH (Spark needs OpenJDK 17)"))
    func sparkAgreesWithDuckDB() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "storeingest-spark-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        // Every fixture's recordings, each written four times under other ids: a fleet of recordings.
        var written = 0
        var seen: Set<String> = []
        for file in SDKReaderTests.wellFormed {
            let (stores, _) = loadStores(paths: [Fixtures.rrdPath(file)])
            // A recording id that several fixtures hold is exported once (one folder per id).
            for (id, store) in stores.stores
            where id.kind == .recording && store.statistics.chunks > 0 && seen.insert(id.recordingId).inserted {
                for robot in 0..<4 {
                    let fleetId = StoreId(
                        kind: .recording, applicationId: "robot-\(robot)", recordingId: "\(id.recordingId)-\(robot)")
                    _ = try #require(try DatasetExport.write(store, id: fleetId, to: dir.path, options: .init()))
                    written += 1
                }
            }
        }
        #expect(written == 64)
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        func aggregates(_ script: String) throws -> [[Any]] {
            let result = try Python.run(Self.python!, [here.appendingPathComponent(script).path, dir.path])
            try #require(result.status == 0, "\(script) failed: \(result.stderr.suffix(3000))")
            let last = try #require(String(decoding: result.stdout, as: UTF8.self).split(separator: "\n").last)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
            return try #require(object["aggregates"] as? [[Any]])
        }
        let duck = try aggregates("duckdb_read.py")
        let spark = try aggregates("spark_read.py")
        #expect(duck.count == 64)
        #expect(spark.count == duck.count)
        for (d, s) in zip(duck, spark) {
            #expect(d[0] as? String == s[0] as? String && d[1] as? String == s[1] as? String, "\(d) vs \(s)")
            #expect(d[2] as? Int == s[2] as? Int, "rows of \(d[1])")
            #expect(d[3] as? Int == s[3] as? Int, "non-null cells of \(d[1])")
            let x = d[4] as! Double
            let y = s[4] as! Double
            #expect(abs(x - y) <= 1e-9 * max(1, abs(x)), "scalar sum of \(d[1]): \(x) vs \(y)")
        }
        // The fleet is visible as such: four applications of sixteen recordings.
        #expect(Set(duck.map { $0[0] as! String }) == ["robot-0", "robot-1", "robot-2", "robot-3"])
        #expect(duck.contains { ($0[4] as! Double) != 0 }, "some scalars were summed")
    }
}
