#if LIVE_SERVER
import Foundation
import IngestCore
import IngestServer
import IngestTestSupport
import Ingestion
import RRD
import Testing

/// The real Rerun SDK (`rr.connect_grpc`, rerun-sdk 0.41.0) streaming into the library server and
/// into `ingest serve`. Each run tees the SDK's stream to a file of its own (`--tee`: one batcher, so
/// the file holds the very chunks sent, ids included): a store must equal that file message for
/// message, in order, and its chunk and row counts `rerun rrd stats`'s of the file.
///
/// Serialized: each test starts SDK processes of its own, and the machine has two cores.
@Suite(
    "Live ingestion from the real Rerun SDK", .serialized,
    .enabled(
        if: SDK.python != nil,
        "no Python with rerun-sdk==0.41.0: set STOREINGEST_PYTHON, or let the tests create a venv (needs pip's network)"
    ))
struct SDKLiveTests {
    /// One recording: the server's store equals the SDK's own file, in order; `rerun rrd stats`
    /// counts the same chunks and rows; a chunk over 4 MB (three 400 k-point clouds) arrives whole.
    @Test func libraryServerMatchesTheSDKsFile() async throws {
        let live = try await LiveServer.start()
        let tee = temporaryPath(".rrd")
        defer { try? FileManager.default.removeItem(atPath: tee) }
        try await SDKRun.grpc(
            url: live.url, tee: tee, recordingId: "match",
            ["--shape", "mixed", "--rows", "3000", "--clouds", "3", "--points", "400000"]
        ).run()
        let received = await live.stop()
        let expected = try fileEntries(tee)
        #expect(received.count == 1)
        let got = try #require(store(received, recording: "match"))
        let want = try #require(store(expected, recording: "match"))
        #expect(got == want)
        let reference = try SDK.referenceStats(tee)
        #expect(got.filter(\.isChunk).count == reference.chunks)
        #expect(got.reduce(0) { $0 + $1.rows } == reference.rows)
        #expect(reference.rows == 3000 + 3 + 1)  // the rows, the clouds, the recording properties
        #expect(live.server.statistics.errors == 0)
    }

    /// Eight SDK processes at once, one recording each: every store equals its own file.
    @Test func eightSDKProcessesAtOnce() async throws {
        let live = try await LiveServer.start()
        let tees = (0..<8).map { _ in temporaryPath(".rrd") }
        defer { for t in tees { try? FileManager.default.removeItem(atPath: t) } }
        let processes = try (0..<8).map { i in
            try SDKRun.grpc(
                url: live.url, tee: tees[i], recordingId: "eight-\(i)",
                ["--rows", "\(1500 + 100 * i)", "--entities", "\(1 + i % 4)"]
            ).start()
        }
        for p in processes {
            let status = await p.exitStatus()
            #expect(status == 0, "\(p.stderr.suffix(1000))")
        }
        let received = await live.stop()
        #expect(received.count == 8)
        for i in 0..<8 {
            let want = try #require(store(try fileEntries(tees[i]), recording: "eight-\(i)"))
            #expect(store(received, recording: "eight-\(i)") == want, "recording eight-\(i)")
            #expect(want.reduce(0) { $0 + $1.rows } == 1500 + 100 * i + 1)
        }
        #expect(live.server.statistics.calls == 8)
    }

    /// Sixty-four SDK processes at once (small recordings: the machine may have two cores), one
    /// recording each: every store equals the SDK's own file of it (so its chunks and rows do),
    /// `rerun rrd stats` agrees on a sample of them, and the server takes a new client afterwards.
    @Test func sixtyFourSDKProcessesAtOnce() async throws {
        let live = try await LiveServer.start()
        let count = 64
        let tees = (0..<count).map { _ in temporaryPath(".rrd") }
        defer { for t in tees { try? FileManager.default.removeItem(atPath: t) } }
        let started = ContinuousClock.now
        let processes = try (0..<count).map { i in
            try SDKRun.grpc(
                url: live.url, tee: tees[i], recordingId: "many-\(i)",
                ["--shape", i % 8 == 0 ? "mixed" : "scalars", "--rows", "\(100 + i)", "--entities", "\(1 + i % 3)",
                 "--clouds", "1", "--points", "2000", "--batch-rows", "16"]
            ).start()
        }
        for (i, p) in processes.enumerated() {
            let status = await p.exitStatus(timeout: .seconds(600))
            #expect(status == 0, "many-\(i): \(p.stderr.suffix(1000))")
        }
        let sent = ContinuousClock.now - started
        // The server is alive: a new client after the 64 is served in full.
        let after = temporaryPath(".rrd")
        defer { try? FileManager.default.removeItem(atPath: after) }
        try await SDKRun.grpc(url: live.url, tee: after, recordingId: "after-many").run()
        #expect(live.server.statistics.calls == count + 1)
        #expect(live.server.statistics.errors == 0)
        let received = await live.stop()
        #expect(received.count == count + 1)
        for i in 0..<count {
            let want = try #require(store(try fileEntries(tees[i]), recording: "many-\(i)"))
            let got = store(received, recording: "many-\(i)")
            #expect(got == want, "recording many-\(i)")
            let rows = (100 + i) + (i % 8 == 0 ? 1 : 0) + 1  // scalars, the cloud, the recording properties
            #expect(want.reduce(0) { $0 + $1.rows } == rows, "recording many-\(i)")
            if i % 16 == 0 {
                let reference = try SDK.referenceStats(tees[i])
                #expect(got?.filter(\.isChunk).count == reference.chunks, "recording many-\(i)")
                #expect(got?.reduce(0) { $0 + $1.rows } == reference.rows, "recording many-\(i)")
            }
        }
        #expect(store(received, recording: "after-many") == store(try fileEntries(after), recording: "after-many"))
        print("64 SDK processes: all exited after \(sent)")
    }

    /// `kill -9` of one SDK mid-stream: its store keeps what arrived (the rows it had flushed before
    /// it died, at least), the other two SDKs' stores are complete, and the server still serves.
    @Test func killNineOfOneClient() async throws {
        let live = try await LiveServer.start()
        let victim = try SDKRun.grpc(
            url: live.url, tee: nil, recordingId: "victim",
            ["--rows", "1000000", "--progress-every", "500", "--sleep-every", "500", "--sleep-ms", "20"]
        ).start()
        let tees = (0..<2).map { _ in temporaryPath(".rrd") }
        defer { for t in tees { try? FileManager.default.removeItem(atPath: t) } }
        let others = try (0..<2).map { i in
            try SDKRun.grpc(
                url: live.url, tee: tees[i], recordingId: "survivor-\(i)",
                ["--rows", "20000", "--sleep-every", "1000", "--sleep-ms", "20"]
            ).start()
        }
        let progress = await victim.line(startingWith: "PROGRESS 2000")
        try #require(progress != nil, "the victim never flushed 2000 rows: \(victim.stderr.suffix(1000))")
        victim.signal(SIGKILL)
        #expect(await victim.exitStatus(timeout: .seconds(10)) != nil)
        for p in others {
            let status = await p.exitStatus()
            #expect(status == 0, "\(p.stderr.suffix(1000))")
        }
        // The victim's call ends once its connection is gone.
        #expect(await eventually(timeout: .seconds(10)) { live.server.statistics.openCalls == 0 })
        // The server still takes a new client after the kill.
        let after = temporaryPath(".rrd")
        defer { try? FileManager.default.removeItem(atPath: after) }
        try await SDKRun.grpc(url: live.url, tee: after, recordingId: "after-kill").run()
        let received = await live.stop()
        let victimStore = try #require(store(received, recording: "victim"))
        #expect(victimStore.reduce(0) { $0 + $1.rows } >= 2000)
        #expect(!victimStore.contains(.error))
        #expect(Set(victimStore.filter(\.isChunk)).count == victimStore.filter(\.isChunk).count)
        for (i, tee) in tees.enumerated() {
            let want = try #require(store(try fileEntries(tee), recording: "survivor-\(i)"))
            #expect(store(received, recording: "survivor-\(i)") == want)
        }
        #expect(store(received, recording: "after-kill") == store(try fileEntries(after), recording: "after-kill"))
    }

    /// The same recording id sent twice, one call after the other: one store, the first run's
    /// messages then the second's.
    @Test func reconnectAppendsToTheSameStore() async throws {
        let live = try await LiveServer.start()
        let tees = (0..<2).map { _ in temporaryPath(".rrd") }
        defer { for t in tees { try? FileManager.default.removeItem(atPath: t) } }
        try await SDKRun.grpc(url: live.url, tee: tees[0], recordingId: "again", ["--rows", "1000"]).run()
        try await SDKRun.grpc(url: live.url, tee: tees[1], recordingId: "again", ["--rows", "700"]).run()
        let received = await live.stop()
        #expect(received.count == 1)
        let first = try #require(store(try fileEntries(tees[0]), recording: "again"))
        let second = try #require(store(try fileEntries(tees[1]), recording: "again"))
        #expect(store(received, recording: "again") == first + second)
        #expect(live.server.statistics.calls == 2)
    }

    /// A store whose worker is held at a gate, tiny queues and windows: the SDK has ~120 MB to send,
    /// the server takes a few MB and then holds it back (HTTP/2 flow control), its buffers staying
    /// under their bounds; once the gate opens, everything arrives.
    @Test func gatedWorkerHoldsTheSDKBackWithBoundedMemory() async throws {
        let gate = WorkerGate()
        let ingest = IngestConfiguration(queueCapacity: 4, maxQueuedBytes: 2 << 20).gated(by: gate)
        let configuration = IngestServer.Configuration(
            windowSize: 1 << 20, callBuffer: LiveMessageChannel.Limits(messages: 4, bytes: 2 << 20), historyBytes: 0)
        let live = try await LiveServer.start(ingest, configuration)
        let tee = temporaryPath(".rrd")
        defer { try? FileManager.default.removeItem(atPath: tee) }
        // 200 clouds of 50 k random points: 600 kB chunks that LZ4 cannot shrink, 120 MB in all.
        let sdk = try SDKRun.grpc(
            url: live.url, tee: tee, recordingId: "gated",
            ["--shape", "points", "--clouds", "200", "--points", "50000", "--batch-rows", "1"]
        ).start()
        #expect(gate.waitForArrivals(1, timeout: .seconds(60)))
        // Let the SDK push as far as it can, then look at what the server holds.
        try await Task.sleep(for: .seconds(2))
        let stats = live.server.statistics
        let hub = live.hub.statistics
        // What the call took from the transport: the store's queue (2 MiB, + one message let in over
        // it), the chunk at the gate, the channel (2 MiB), the reading thread's batch (2 MiB) and
        // the send waiting for room: under 8 MB (4.8 MB measured), of 120 MB.
        let bound = 10 << 20
        #expect(stats.bytes < UInt64(bound), "received \(stats.bytes) bytes while the worker was held")
        #expect(stats.bytes > 0)
        #expect(hub.queuedBytes <= (2 << 20) + (1 << 20))
        #expect(stats.channelBytes <= (2 << 20) + (1 << 20))
        #expect(sdk.process.isRunning, "the SDK finished while the server held it back")
        #expect(!sdk.stdout.contains("SENT"))
        gate.open()
        let status = await sdk.exitStatus()
        #expect(status == 0, "\(sdk.stderr.suffix(1000))")
        let received = await live.stop()
        let want = try #require(store(try fileEntries(tee), recording: "gated"))
        #expect(store(received, recording: "gated") == want)
        #expect(want.reduce(0) { $0 + $1.rows } == 201)
    }

    /// `ingest serve --save FILE --json`: the summary's counts are `rerun rrd stats`'s of the SDK's
    /// file, the saved file holds the same messages in the same order, and both our reader and
    /// `rerun rrd verify` accept it. SIGINT stops the server with exit status 0.
    @Test func serveCommandSavesWhatItReceived() async throws {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let binary = exe.deletingLastPathComponent().appendingPathComponent("ingest").path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build the ingest product first: \(binary)")
        let saved = temporaryPath(".rrd")
        let tee = temporaryPath(".rrd")
        defer {
            try? FileManager.default.removeItem(atPath: saved)
            try? FileManager.default.removeItem(atPath: tee)
        }
        let serve = ChildProcess(binary, ["serve", "--port", "0", "--save", saved, "--json", "--quiet"])
        try serve.start()
        let url = try #require(
            await serve.line(startingWith: "rerun+http://", timeout: .seconds(30)), Comment(rawValue: serve.stderr))
        try await SDKRun.grpc(
            url: url, tee: tee, recordingId: "cli", ["--shape", "mixed", "--rows", "2500", "--clouds", "4"]
        ).run()
        serve.signal(SIGINT)
        let status = await serve.exitStatus(timeout: .seconds(30))
        #expect(status == 0, "\(serve.stderr.suffix(1000))")
        let jsonText = serve.stdout.split(separator: "\n", maxSplits: 1).last.map(String.init) ?? ""
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(jsonText.utf8)) as? [String: Any])
        let reference = try SDK.referenceStats(tee)
        #expect(summary["chunks"] as? Int == reference.chunks)
        #expect(summary["rows"] as? Int == reference.rows)
        let savedSummary = try #require(summary["saved"] as? [String: Any])
        #expect(savedSummary["chunks"] as? Int == reference.chunks)
        #expect(savedSummary["error"] is NSNull)
        #expect(try fileEntries(saved) == fileEntries(tee))
        let verify = try SDK.run(SDK.rerun, ["rrd", "verify", saved])
        #expect(verify.status == 0, "rerun rrd verify: \(verify.err.suffix(1000))")
    }
}
#endif
