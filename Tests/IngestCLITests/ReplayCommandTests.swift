import FixtureSupport
import Foundation
import Ingestion
import Synchronization
import Testing

@testable import ingest

/// Collects strings written from several threads.
private final class Sink: @unchecked Sendable {
    // @unchecked: `text` is guarded by `lock`.
    private let lock = NSLock()
    private var text = ""
    func write(_ s: String) { lock.withLock { text += s } }
    var value: String { lock.withLock { text } }
}

@Suite("ingest replay (CLI)")
struct ReplayCommandTests {
    @Test("--json over a glob of every fixture: schema_version, stores, files_failed, exit status 1")
    func jsonAllFixtures() throws {
        let cmd = try ReplayCommand.arguments(["--json", "-q", Fixtures.rrd.path + "/*.rrd", Fixtures.rrdPath("blueprint.rbl")])
        var out = ""
        let (_, status) = try cmd.execute(cancellation: ReplayCancellation(), output: { out += $0 })
        #expect(status == 1)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        #expect(doc["schema_version"] as? Int == 1)
        let failed = try #require(doc["files_failed"] as? [[String: Any]])
        let invalid = Fixtures.rrdNames.filter { !(Fixtures.expectation($0)["expect_valid"] as! Bool) }.sorted()
        #expect(failed.map { $0["file"] as? String } == invalid.map { Fixtures.rrdPath($0) })
        #expect(failed.allSatisfy { ($0["error"] as? String)?.isEmpty == false })
        let stores = try #require(doc["stores"] as? [[String: Any]])
        var got: [String: [Int]] = [:]
        for s in stores {
            got["\(s["kind"]!):\(s["application_id"]!):\(s["recording_id"]!)"] = [s["chunks"] as! Int, s["rows"] as! Int]
        }
        var want: [String: Set<String>] = [:]
        var rows: [String: [String: Int]] = [:]
        for name in Fixtures.rrdNames {
            let exp = Fixtures.expectation(name)
            let st = exp["stores"] as! [[String: Any]]
            for s in st { want["\(s["kind"]!):\(s["application_id"]!):\(s["recording_id"]!)", default: []] = [] }
            for c in exp["chunks"] as! [[String: Any]] {
                let s = st.first { "\($0["kind"]!):\($0["recording_id"]!)" == c["store"] as! String }!
                rows["\(s["kind"]!):\(s["application_id"]!):\(s["recording_id"]!)", default: [:]][
                    c["chunk_id"] as! String] = c["num_rows"] as? Int
            }
        }
        let expected = want.keys.reduce(into: [String: [Int]]()) { acc, k in
            acc[k] = [rows[k]?.count ?? 0, rows[k]?.values.reduce(0, +) ?? 0]
        }
        #expect(got == expected)
    }

    @Test("progress: plain lines when not a terminal, a redrawn bar on one, nothing with --quiet")
    func progressModes() throws {
        for (mode, quiet) in [(ProgressDisplay.Mode.lines, false), (.bar, false), (.lines, true)] {
            let sink = Sink()
            var args = [Fixtures.rrdPath("many_small_chunks.rrd"), Fixtures.rrdPath("points3d.rrd")]
            if quiet { args.append("--quiet") }
            let cmd = try ReplayCommand.arguments(args)
            var out = ""
            let (report, status) = try cmd.execute(
                cancellation: ReplayCancellation(), progressMode: mode, progressWrite: sink.write, output: { out += $0 })
            #expect(status == 0)
            #expect(out.hasPrefix("files: 2 attempted, 2 succeeded, 0 failed"))
            #expect(report.chunks == 122)
            let err = sink.value
            if quiet {
                #expect(err.isEmpty)
            } else if mode == .lines {
                #expect(err.hasSuffix("files 2/2  " + err.split(separator: "files 2/2  ").last!))
                #expect(err.contains("progress: 0.2 MB/0.2 MB  files 2/2"))
                #expect(err.hasSuffix("(done)\n"))
                #expect(!err.contains("\r"))
            } else {
                #expect(err.hasPrefix("\r\u{1B}[2K["))
                #expect(err.contains("[########################] 100%  0.2 MB/0.2 MB  files 2/2"))
                #expect(err.hasSuffix("\n"))
            }
        }
    }

    @Test("--follow reads a file appended in pieces; the summary equals replaying the whole file")
    func followCLI() throws {
        let name = "many_small_chunks.rrd"
        let bytes = try Fixtures.bytes(Fixtures.rrd.appendingPathComponent(name))
        let dir = NSTemporaryDirectory() + "replay-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/live.rrd"
        let done = Atomic<Bool>(false)
        let writer = Thread {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            let handle = FileHandle(forWritingAtPath: path)!
            var at = 0
            while at < bytes.count {
                let n = min(7919, bytes.count - at)  // a prime: pieces end at arbitrary points
                handle.write(Data(bytes[at..<(at + n)]))
                at += n
            }
            try? handle.close()
            done.store(true, ordering: .releasing)
        }
        writer.start()
        var followed = ""
        let cmd = try ReplayCommand.arguments(["--follow", "--idle-timeout", "30", "--json", "-q", path])
        let (_, status) = try cmd.execute(cancellation: ReplayCancellation(), output: { followed += $0 })
        let writerDone = done.load(ordering: .acquiring)
        #expect(writerDone)
        var whole = ""
        _ = try ReplayCommand.arguments(["--json", "-q", Fixtures.rrdPath(name)]).execute(
            cancellation: ReplayCancellation(), output: { whole += $0 })
        #expect(status == 0)
        func stores(_ s: String) throws -> [[String: Int]] {
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any])
            return (doc["stores"] as! [[String: Any]]).map { ["chunks": $0["chunks"] as! Int, "rows": $0["rows"] as! Int] }
        }
        #expect(try stores(followed) == stores(whole))
    }

    @Test("option validation")
    func validation() {
        #expect(throws: (any Error).self) { try ReplayCommand.arguments([]) }
        #expect(throws: (any Error).self) { try ReplayCommand.arguments(["x.rrd", "--queue-bytes", "0"]) }
        #expect(throws: (any Error).self) { try ReplayCommand.arguments(["x.rrd", "--pace", "fast"]) }
        #expect((try? ReplayCommand.arguments(["x.rrd", "--pace", "250"]))?.pace == .rate(250))
        #expect((try? ReplayCommand.arguments(["x.rrd"]))?.queueBytes == 256 << 20)
        #expect((try? ReplayCommand.arguments(["x.rrd", "--log-level", "debug"]))?.logLevelName == "debug")
    }
}
