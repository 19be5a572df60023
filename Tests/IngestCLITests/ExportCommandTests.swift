import FixtureSupport
import Foundation
import Testing

/// `ingest export`: the Hive layout, the JSON summary, atomic files, and the exit-status table.
@Suite("ingest export")
struct ExportCommandTests {
    static func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("storeingest-cli-export-\(UUID().uuidString)")
            .path
    }

    static func files(under dir: String) -> [String] {
        (FileManager.default.subpaths(atPath: dir) ?? []).filter { !$0.hasSuffix("/") && $0.contains(".") }.sorted()
    }

    @Test("one Parquet file per recording store, in application_id=…/recording_id=… folders; JSON summary")
    func layoutAndJSON() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let inputs = ["points3d.rrd", "two_recordings_merged.rrd", "recording_with_blueprint.rrd"].map(Fixtures.rrdPath)
        let (status, out, err) = try runIngest(["export"] + inputs + ["--to", dir, "--json", "-q"])
        #expect(status == 0, "\(err)")
        #expect(
            Self.files(under: dir) == [
                "application_id=rrd_fixtures/recording_id=fixture-merged-a/part-0.parquet",
                "application_id=rrd_fixtures/recording_id=fixture-merged-b/part-0.parquet",
                "application_id=rrd_fixtures/recording_id=fixture-points3d/part-0.parquet",
                "application_id=rrd_fixtures/recording_id=fixture-recording_with_blueprint/part-0.parquet",
            ], "no blueprint, no temporary file left")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        #expect(json["command"] as? String == "export")
        #expect(json["exit_status"] as? Int == 0)
        let files = try #require(json["files"] as? [[String: Any]])
        #expect(files.count == 4)
        let points = try #require(files.first { $0["recording_id"] as? String == "fixture-points3d" })
        #expect(points["rows"] as? Int == 5)
        #expect(points["timeline"] as? String == "frame")
        #expect(points["columns"] as? Int == 6)
        let size = try FileManager.default.attributesOfItem(atPath: points["path"] as! String)[.size] as? Int
        #expect(points["bytes"] as? Int == size)
        #expect(json["rows"] as? Int == files.reduce(0) { $0 + ($1["rows"] as! Int) })
    }

    @Test("--timeline: a store without it is skipped; --format arrow writes .arrow files")
    func timelineAndFormat() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let inputs = ["points3d.rrd", "text_logs.rrd"].map(Fixtures.rrdPath)
        let (status, out, err) = try runIngest(
            ["export"] + inputs + ["--to", dir, "--timeline", "sim_time", "--format", "arrow", "--json", "-q"])
        #expect(status == 0, "\(err)")
        #expect(Self.files(under: dir) == ["application_id=rrd_fixtures/recording_id=fixture-points3d/part-0.arrow"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        #expect((json["skipped"] as? [[String: Any]])?.map { $0["recording_id"] as? String } == ["fixture-text_logs"])
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/" + Self.files(under: dir)[0])))
        #expect(Array(bytes.prefix(6)) == Array("ARROW1".utf8) && Array(bytes.suffix(6)) == Array("ARROW1".utf8))
    }

    @Test("exit statuses: damaged input 1 (the rest is written), missing input 3, bad options and no input 2")
    func exitStatuses() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let damaged = try runIngest([
            "export", Fixtures.rrdPath("corrupt_truncated.rrd"), Fixtures.rrdPath("points3d.rrd"), "--to", dir, "-q",
        ])
        #expect(damaged.status == 1)
        #expect(damaged.err.contains("corrupt_truncated.rrd"))
        #expect(
            Self.files(under: dir).contains("application_id=rrd_fixtures/recording_id=fixture-points3d/part-0.parquet"))
        let missing = try runIngest([
            "export", "/nonexistent/x.rrd", Fixtures.rrdPath("points3d.rrd"), "--to", dir, "-q",
        ])
        #expect(missing.status == 3)
        #expect(
            try runIngest(["export", Fixtures.rrdPath("points3d.rrd"), "--to", dir, "--format", "csv"]).status == 2)
        #expect(try runIngest(["export", Fixtures.rrdPath("points3d.rrd")]).status == 2)
        let empty = Self.temporaryDirectory()
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        #expect(try runIngest(["export", empty, "--to", dir]).status == 2)
    }

    @Test("an output that cannot be created is an I/O error (3)")
    func unwritableOutput() throws {
        let (status, _, err) = try runIngest([
            "export", Fixtures.rrdPath("points3d.rrd"), "--to", "/proc/storeingest-no", "-q",
        ])
        #expect(status == 3)
        #expect(err.contains("cannot create"))
    }
}
