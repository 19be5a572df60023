#if LIVE_SERVER
import Chunks
import Foundation
import IngestCore
import IngestServer
import Ingestion
import RRD
import Testing

/// The real Rerun SDK (rerun-sdk 0.41.0 in a Python venv) the live tests drive.
///
/// Python is, in this order: `STOREINGEST_PYTHON`, `/work/bench/venv/bin/python`, or a venv this
/// creates once under the temporary folder (`python3 -m venv`, `pip install rerun-sdk==0.41.0 numpy`,
/// as `scripts/bench-compare.sh` does). Where none can be had (no python3, pip unreachable), the
/// tests are skipped with ``unavailableReason``.
enum SDK {
    static let version = "0.41.0"

    /// A python whose `rerun` is 0.41.0 (with numpy), or nil.
    static let python: String? = locate()

    /// Why ``python`` is nil (for the skip message).
    nonisolated(unsafe) static var unavailableReason = "no Python with rerun-sdk==0.41.0"

    /// The `rerun` CLI beside ``python``.
    static var rerun: String { URL(fileURLWithPath: python!).deletingLastPathComponent().appendingPathComponent("rerun").path }

    /// `SDK/sdk_client.py`, the deterministic workload.
    static let client = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("SDK/sdk_client.py").path

    private static func works(_ python: String) -> Bool {
        guard FileManager.default.isExecutableFile(atPath: python) else { return false }
        let check = "import sys, numpy, rerun; sys.exit(rerun.__version__ != '\(version)')"
        return (try? run(python, ["-c", check]).status) == 0
    }

    private static func locate() -> String? {
        let env = ProcessInfo.processInfo.environment
        for candidate in [env["STOREINGEST_PYTHON"], "/work/bench/venv/bin/python"].compactMap({ $0 })
        where works(candidate) {
            return candidate
        }
        let venv = NSTemporaryDirectory() + "storeingest-rerun-sdk-\(version)-venv"
        let python = venv + "/bin/python"
        if works(python) { return python }
        guard let python3 = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: {
            FileManager.default.isExecutableFile(atPath: $0)
        }) else {
            unavailableReason = "no python3 to create a venv with rerun-sdk==\(version) (or set STOREINGEST_PYTHON)"
            return nil
        }
        guard (try? run(python3, ["-m", "venv", venv]).status) == 0 else {
            unavailableReason = "python3 -m venv \(venv) failed (python3-venv missing?)"
            return nil
        }
        let pip = try? run(venv + "/bin/pip", ["install", "--quiet", "rerun-sdk==\(version)", "numpy"])
        guard pip?.status == 0, works(python) else {
            unavailableReason = "pip install rerun-sdk==\(version) failed (no network?): \(pip?.err.suffix(300) ?? "")"
            return nil
        }
        return python
    }

    /// Runs a program to its end; output through files (no pipe can fill up).
    @discardableResult
    static func run(_ executable: String, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = ChildProcess(executable, args)
        try p.start()
        p.process.waitUntilExit()
        return (p.process.terminationStatus, p.stdout, p.stderr)
    }

    /// `rerun rrd stats FILE`: (chunks, rows) of the file as the reference counts them.
    static func referenceStats(_ path: String) throws -> (chunks: Int, rows: Int) {
        let r = try run(rerun, ["rrd", "stats", path])
        try #require(r.status == 0, "rerun rrd stats failed: \(r.err)")
        func figure(_ key: String) throws -> Int {
            let line = try #require(r.out.split(separator: "\n").first { $0.hasPrefix(key + " = ") })
            let digits = line.dropFirst(key.count + 3).filter(\.isNumber)
            return try #require(Int(String(digits)))
        }
        return (try figure("num_chunks"), try figure("num_rows"))
    }
}

/// A child process whose stdout and stderr go to temporary files, waited for without blocking a
/// thread of the cooperative pool (the server under test runs there).
final class ChildProcess: @unchecked Sendable {
    // @unchecked: `Process` is thread-safe for the calls made here (run, isRunning, terminate).
    let process = Process()
    private let outPath: String
    private let errPath: String

    init(_ executable: String, _ args: [String]) {
        let base = NSTemporaryDirectory() + "storeingest-live-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        outPath = base + ".out"
        errPath = base + ".err"
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = args
        var environment = ProcessInfo.processInfo.environment
        environment["RUST_LOG"] = "warn"
        process.environment = environment
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
    }

    func start() throws {
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    /// The first stdout line starting with `prefix`, waiting up to `timeout`.
    func line(startingWith prefix: String, timeout: Duration = .seconds(60)) async -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = stdout.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) { return String(line) }
            if !process.isRunning, !stdout.contains(prefix) { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    /// The exit status once the process ended (nil: still running after `timeout`).
    func exitStatus(timeout: Duration = .seconds(90)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }
}

/// One run of `sdk_client.py`.
struct SDKRun {
    var args: [String]

    /// The workload to `url` (connect_grpc), teed to `tee` (the SDK's own file of the very same chunks).
    static func grpc(url: String, tee: String?, recordingId: String, _ extra: [String] = []) -> SDKRun {
        SDKRun(args: ["--url", url] + (tee.map { ["--tee", $0] } ?? []) + ["--recording-id", recordingId] + extra)
    }

    func start() throws -> ChildProcess {
        let p = ChildProcess(SDK.python!, [SDK.client] + args)
        try p.start()
        return p
    }

    /// Runs it to its end; fails the test unless it exits 0.
    func run(timeout: Duration = .seconds(90)) async throws {
        let p = try start()
        let status = await p.exitStatus(timeout: timeout)
        try #require(status == 0, "sdk_client.py \(args) exited \(String(describing: status)): \(p.stderr.suffix(2000))")
    }
}

/// A store's outputs (or a file's messages of one store) as comparable entries, in order.
enum Entry: Hashable, CustomStringConvertible {
    case info
    case chunk(ChunkId, rows: Int)
    case activation
    case error

    var description: String {
        switch self {
        case .info: "info"
        case .chunk(let id, let rows): "chunk \(id) (\(rows) rows)"
        case .activation: "activation"
        case .error: "error"
        }
    }

    var isChunk: Bool { if case .chunk = self { true } else { false } }
    var rows: Int { if case .chunk(_, let rows) = self { rows } else { 0 } }
}

/// Every message of a recording file, per store, in file order (rows counted by decoding each chunk
/// through a hub, as the server's are).
func fileEntries(_ path: String) throws -> [StoreId: [Entry]] {
    let hub = StoreHub()
    defer { hub.shutdown(drain: false) }
    var reader = try RRDReader(path: path)
    while let event = reader.next() {
        switch event {
        case .message(let m): _ = try hub.submit(m, source: path)
        case .error(let e): Issue.record("\(path): \(e)")
        case .streamHeader, .streamFooter: break
        }
    }
    hub.flush()
    return outputs(of: hub)
}

/// What a hub's stores put out (everything ready now), per store, in order.
func outputs(of hub: StoreHub) -> [StoreId: [Entry]] {
    var entries: [StoreId: [Entry]] = [:]
    hub.drain { db, output in
        let entry: Entry
        switch output.event {
        case .storeInfo: entry = .info
        case .chunk(let chunk): entry = .chunk(chunk.id, rows: chunk.numRows)
        case .activation: entry = .activation
        case .error: entry = .error
        }
        entries[db.storeId, default: []].append(entry)
    }
    return entries
}

/// A library server on a free loopback port over a fresh hub.
struct LiveServer {
    let hub: StoreHub
    let server: IngestServer
    let url: String
    let port: Int

    static func start(
        _ ingest: IngestConfiguration = IngestConfiguration(),
        _ configuration: IngestServer.Configuration = IngestServer.Configuration()
    ) async throws -> LiveServer {
        let hub = StoreHub(configuration: ingest)
        let server = IngestServer(hub: hub, configuration: configuration)
        let address = try await server.start(host: "127.0.0.1", port: 0)
        return LiveServer(hub: hub, server: server, url: address.url, port: address.port)
    }

    /// Stops (draining) and returns every store's outputs.
    func stop() async -> [StoreId: [Entry]] {
        await server.stop(drain: true)
        let entries = outputs(of: hub)
        hub.shutdown(drain: false)
        return entries
    }
}

/// The store with `recordingId` in `entries`.
func store(_ entries: [StoreId: [Entry]], recording recordingId: String) -> [Entry]? {
    entries.first { $0.key.recordingId == recordingId && $0.key.kind == .recording }?.value
}

/// A fresh temporary path ending in `suffix`.
func temporaryPath(_ suffix: String) -> String {
    NSTemporaryDirectory() + "storeingest-live-\(getpid())-\(UInt64.random(in: 0...UInt64.max))\(suffix)"
}
#endif
