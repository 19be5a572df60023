import FixtureSupport
import Foundation
import Ingestion
import RRD
import Testing

@testable import ingest

/// Runs the `ingest` binary with `args` (COLUMNS=80, so help is laid out the same everywhere) and
/// stdin closed; returns (status, stdout, stderr). Output goes through files: no pipe can fill up.
func runIngest(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
    let base = NSTemporaryDirectory() + "ingest-run-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    let outPath = base + ".out"
    let errPath = base + ".err"
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    defer {
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
    }
    let p = Process()
    p.executableURL = try IngestBinaryTests.binary()
    p.arguments = args
    var environment = ProcessInfo.processInfo.environment
    environment["COLUMNS"] = "80"
    p.environment = environment
    p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    p.standardInput = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    let o = try String(contentsOfFile: outPath, encoding: .utf8)
    let e = try String(contentsOfFile: errPath, encoding: .utf8)
    return (p.terminationStatus, o, e)
}

/// A fresh empty directory (removed by the caller).
private func emptyDirectory() throws -> String {
    let dir = NSTemporaryDirectory() + "ingest-exit-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// The exit statuses of `ingest help`'s table, command by command.
@Suite("ingest: exit statuses, one table for every command")
struct ExitStatusTests {
    static let clean = Fixtures.rrdPath("points3d.rrd")
    static let damaged = Fixtures.rrdPath("corrupt_truncated.rrd")
    static let missing = "/nonexistent-dir/missing.rrd"
    /// A question `points3d.rrd` answers.
    static let query = ["--entity", "/points", "--component", "Points3D:positions", "--timeline", "frame", "--at", "0"]

    /// One row per command and status: the arguments (after the command) and the status expected.
    static let cases: [(String, [String], Int32)] = [
        ("print", [clean], 0), ("print", [damaged], 1), ("print", ["--no-such-option", clean], 2),
        ("print", [missing], 3), ("print", [missing, damaged], 3), ("print", [damaged, missing, clean], 3),
        ("stats", [clean], 0), ("stats", [damaged], 1), ("stats", [], 2), ("stats", ["-", "-"], 2),
        ("stats", [missing], 3), ("stats", [damaged, missing], 3),
        ("verify", [clean], 0), ("verify", [damaged], 1), ("verify", ["--repeat", "0", clean], 2),
        ("verify", [missing], 3), ("verify", [clean, missing, damaged], 3),
        ("replay", ["-q", clean], 0), ("replay", ["-q", damaged], 1),
        ("replay", ["-q", "--queue-slots", "0", clean], 2),
        ("replay", ["-q", missing], 3), ("replay", ["-q", damaged, missing, clean], 3),
        ("query", [clean] + query, 0), ("query", [damaged] + query, 1), ("query", [clean, "--entity", "/points"], 2),
        ("query", [clean, "--store", "nope"] + query, 2), ("query", [missing, clean] + query, 3),
        ("query", [damaged, missing] + query, 3),
    ]

    @Test("every command: 0 clean, 1 damaged, 2 usage error, 3 I/O error; the largest wins", arguments: cases)
    func status(command: String, args: [String], expected: Int32) throws {
        let (status, _, err) = try runIngest([command] + args)
        #expect(status == expected, "ingest \(command) \(args.joined(separator: " ")): \(err)")
    }

    @Test(
        "a file that cannot be opened: one line on stderr, no summary for it, the others still read",
        arguments: ["print", "stats", "verify"])
    func unreadableFile(command: String) throws {
        let (status, out, err) = try runIngest([command, Self.missing, Self.clean])
        #expect(status == 3)
        #expect(err == "ingest \(command): \(Self.missing): cannot open: No such file or directory\n")
        #expect(!out.contains(Self.missing), "no summary or line for the missing file")
        let (_, alone, _) = try runIngest([command, Self.clean])
        // print names the file on each line when there are several inputs.
        let prefixed =
            command == "print" ? alone.split(separator: "\n").map { "\(Self.clean): \($0)\n" }.joined() : alone
        #expect(out == prefixed, "the other input's output is unchanged")
        // With --json too: nothing on stdout for it.
        let (jsonStatus, json, jsonErr) = try runIngest([command, "--json", Self.missing])
        #expect(jsonStatus == 3 && json.isEmpty)
        #expect(jsonErr == "ingest \(command): \(Self.missing): cannot open: No such file or directory\n")
    }

    @Test("query: a file that cannot be opened is one line; the answer comes from the others")
    func queryUnreadableFile() throws {
        let (status, out, err) = try runIngest(["query", Self.missing, Self.clean] + Self.query)
        #expect(status == 3)
        #expect(err == "ingest query: \(Self.missing): cannot open: No such file or directory\n")
        let (s0, alone, _) = try runIngest(["query", Self.clean] + Self.query)
        #expect(s0 == 0 && out == alone && !out.isEmpty)
    }

    @Test("stats: the old empty summary for a missing file is gone (one line only)")
    func statsHasNoEmptySummary() throws {
        let (_, out, err) = try runIngest(["stats", Self.missing])
        #expect(out.isEmpty)
        #expect(!err.contains("0 stream(s)") && err.split(separator: "\n").count == 1)
    }

    @Test("replay: an empty directory or a pattern that matches nothing is one line, exit 2, nothing read")
    func replayNoRecordings() throws {
        let dir = try emptyDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = FileManager.default.createFile(atPath: dir + "/notes.txt", contents: Data("x".utf8))
        let (s1, o1, e1) = try runIngest(["replay", dir])
        #expect(s1 == 2 && o1.isEmpty)
        #expect(e1 == "ingest replay: no recordings found under \(dir)\n")
        let pattern = dir + "/**/*.rrd"
        let (s2, o2, e2) = try runIngest(["replay", Self.clean, pattern])
        #expect(s2 == 2 && o2.isEmpty, "nothing is replayed when an argument names no recording")
        #expect(e2 == "ingest replay: no recordings found matching \(pattern)\n")
        // In process: the same error, before anything is read.
        let cmd = try ReplayCommand.arguments(["-q", dir])
        #expect(throws: ReplayInputError.self) { try cmd.execute(cancellation: ReplayCancellation(), output: { _ in }) }
    }

    @Test("replay: a missing file is listed with its error, the others are replayed, exit 3")
    func replayMissingFile() throws {
        let (status, out, _) = try runIngest(["replay", "-q", "--json", Self.missing, Self.clean])
        #expect(status == 3)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        let failed = try #require(doc["files_failed"] as? [[String: Any]])
        #expect(failed.map { $0["file"] as? String } == [Self.missing])
        #expect(failed.first?["error"] as? String == "\(Self.missing): cannot open: No such file or directory")
        #expect(doc["chunks"] as? Int == 2)
    }

    @Test("replay: Ctrl-C (SIGINT) stops the run with 130 and still prints the summary")
    func replayInterrupted() throws {
        let dir = try emptyDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Following a file that does not exist yet: the replay waits until interrupted.
        let p = Process()
        p.executableURL = try IngestBinaryTests.binary()
        p.arguments = ["replay", "-q", "--follow", "--idle-timeout", "30", dir + "/later.rrd", Self.damaged]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        usleep(500_000)
        p.interrupt()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationReason == .exit)
        #expect(p.terminationStatus == 130, "130 over the damaged input's 1")
        #expect(String(decoding: o, as: UTF8.self).hasPrefix("files: 2 attempted"))
        // In process: a cancelled run's status.
        let cmd = try ReplayCommand.arguments(["-q", Self.clean])
        let cancelled = ReplayCancellation()
        cancelled.cancel()
        let (_, status) = try cmd.execute(cancellation: cancelled, output: { _ in })
        #expect(status == 130)
    }

    @Test("an I/O error in the middle of an input: print, stats and verify keep what was read and call for 3")
    func ioErrorWhileReading() throws {
        let bytes = try Fixtures.bytes(URL(fileURLWithPath: Self.clean))
        func failingReader() -> RRDReader {
            RRDReader(source: FailingByteSource(bytes: bytes, failAfter: 300), name: "flaky.rrd")
        }
        var reader = failingReader()
        var lines: [String] = []
        #expect(PrintCommand.lines(reader: &reader, path: "flaky.rrd", json: true) { lines.append($0) } == .ioError)
        #expect(lines.first?.contains("\"StreamHeader\"") == true)
        #expect(lines.last?.contains("\"Error\"") == true && lines.last?.contains("Input/output error") == true)

        reader = failingReader()
        let stats = StatsCommand.collect(reader: &reader, path: "flaky.rrd")
        #expect(stats.status == .ioError && stats.streams.count == 1 && stats.errors.count == 1)

        reader = failingReader()
        var totals = VerifyCommand.Throughput()
        let verify = try VerifyCommand.arguments(["--json", "flaky.rrd"])
        #expect(verify.verify(&reader, path: "flaky.rrd", quiet: true, totals: &totals) == .ioError)

        // Damage (a corrupt LZ4 block at byte 218) and then an I/O error in one input: the I/O error wins.
        let damagedBytes = try Fixtures.bytes(URL(fileURLWithPath: Fixtures.rrdPath("corrupt_lz4_flipped.rrd")))
        reader = RRDReader(source: FailingByteSource(bytes: damagedBytes, failAfter: 6000), name: "both.rrd")
        let both = StatsCommand.collect(reader: &reader, path: "both.rrd")
        #expect(both.errors.map(\.code) == [.decompression, .io])
        #expect(both.status == .ioError)
    }

    @Test("the replay report's failures map to the table: I/O 3 over damage 1, interruption 130 over both")
    func replayReportStatus() throws {
        let bytes = try Fixtures.bytes(URL(fileURLWithPath: Self.clean))
        let options = ReplayOptions(
            readerThreads: 1, retry: ReplayRetryPolicy(attempts: 0, initialDelay: .zero, maxDelay: .zero),
            openSource: { input throws(ByteSourceError) in
                if input.description == "flaky.rrd" { return FailingByteSource(bytes: bytes, failAfter: 300) }
                return try ByteSources.open(path: input.description)
            })
        let pipeline = ReplayPipeline(inputs: [.file(Self.damaged), .file("flaky.rrd")], options: options)
        let report = pipeline.run()
        pipeline.hub.shutdown(drain: true)
        #expect(report.files.map(\.stoppedByIOError) == [false, true])
        #expect(IngestExitStatus.of(report) == .ioError)
    }

    @Test("argument-parser's usage errors exit 2 with its message and usage")
    func parserUsageErrors() throws {
        for args in [["print"], ["stats", "--no-such-flag", Self.clean], ["no-such-command"], ["query", Self.clean]] {
            let (status, out, err) = try runIngest(args)
            #expect(status == 2, "\(args)")
            #expect(out.isEmpty && err.hasPrefix("Error: ") && err.contains("Usage: ingest"), "\(args): \(err)")
        }
        let (help, out, _) = try runIngest(["help", "stats"])
        #expect(help == 0 && out.contains("USAGE: ingest stats"))
    }
}

/// Hands out `bytes` up to `failAfter`, then fails every read with EIO (a disk that went away).
final class FailingByteSource: ByteSource, @unchecked Sendable {
    // @unchecked: read by one thread at a time.
    private let bytes: [UInt8]
    private let failAfter: Int
    private var position = 0

    init(bytes: [UInt8], failAfter: Int) {
        self.bytes = bytes
        self.failAfter = failAfter
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ByteSourceError) -> Int {
        guard position < failAfter else { throw ByteSourceError(errno: EIO, "cannot read") }
        let n = min(buffer.count, failAfter - position, bytes.count - position)
        bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + position, byteCount: n) }
        position += n
        return n
    }

    var canGrow: Bool { false }
}
