#if LIVE_SERVER
import FixtureSupport
import Foundation
import IngestCore
import IngestServer
import Ingestion
import RRD
import Testing

/// `ProxySender` and `ingest send`: a recording streamed to a proxy as the SDK streams it, one
/// `WriteMessages` call per store, arrives whole and in order; bad URLs, absent servers and damaged
/// files are reported with the documented exit statuses.
@Suite("ingest send: recordings streamed to a proxy")
struct SendTests {
    /// The `ingest` binary beside the test bundle.
    static var binary: String {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("ingest").path
    }

    @Test func urlsAreParsedAsTheSDKTakesThem() throws {
        let plain = try ProxyURL(parsing: "rerun+http://127.0.0.1:9876/proxy")
        #expect(plain.host == "127.0.0.1" && plain.port == 9876)
        #expect(plain.description == "rerun+http://127.0.0.1:9876/proxy")
        let v6 = try ProxyURL(parsing: "rerun+http://[::1]:9000/proxy")
        #expect(v6.host == "::1" && v6.port == 9000 && v6.description == "rerun+http://[::1]:9000/proxy")
        #expect(try ProxyURL(parsing: "rerun+http://localhost").host == "127.0.0.1")
        #expect(try ProxyURL(parsing: "rerun+http://example.org/proxy").port == ProxyURL.defaultPort)
        for bad in [
            "rerun+https://127.0.0.1:9876/proxy", "rerun://127.0.0.1:9876/proxy", "http://127.0.0.1:9876/proxy",
            "rerun+http://127.0.0.1:9876/catalog", "rerun+http://127.0.0.1:0/proxy", "rerun+http://127.0.0.1:x/proxy",
            "rerun+http://:9876/proxy", "rerun+http://[::1/proxy",
        ] {
            #expect(throws: ProxyURL.ParseError.self, "\(bad)") { try ProxyURL(parsing: bad) }
        }
    }

    /// A file with a recording and its blueprint: two stores, so two calls; each store equals the
    /// file's (order included).
    @Test func aFileArrivesWholeOneCallPerStore() async throws {
        let path = Fixtures.rrdPath("recording_with_blueprint.rrd")
        let bytes = ByteSlice(copying: Array(try Fixtures.bytes(URL(fileURLWithPath: path))))
        let (streams, errors) = ProxyStream.split(bytes, source: path)
        #expect(errors.isEmpty)
        #expect(streams.count == 2)
        let live = try await LiveServer.start()
        let reports = await ProxySender(url: try ProxyURL(parsing: live.url)).send(streams)
        #expect(reports.allSatisfy { $0.failure == nil }, "\(reports)")
        #expect(reports.map(\.messages) == streams.map(\.messages.count))
        #expect(reports.allSatisfy { $0.firstSendUnixNanoseconds <= $0.endedUnixNanoseconds })
        #expect(live.server.statistics.calls == 2)
        let received = await live.stop()
        #expect(received == (try fileEntries(path)))
        #expect(live.server.statistics.bytes == UInt64(reports.reduce(0) { $0 + $1.bytes }))
    }

    /// The command: JSON figures, the stores complete; exit 3 when nothing listens, 2 for a bad
    /// URL, 1 for a damaged file (whose readable messages are still sent).
    @Test func theCommandSendsAndReportsItsStatus() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the ingest product: \(Self.binary)")
        let live = try await LiveServer.start()
        let files = ["scalars_sequence.rrd", "two_recordings_merged.rrd"].map(Fixtures.rrdPath)
        let ok = ChildProcess(Self.binary, ["send", "--json"] + files + ["--to", live.url])
        try ok.start()
        #expect(await ok.exitStatus(timeout: .seconds(60)) == 0, "\(ok.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(ok.stdout.utf8)) as? [String: Any])
        let sent = try files.map { try fileEntries($0) }
        let messages = sent.flatMap(\.values).reduce(0) { $0 + $1.count }
        #expect(doc["messages"] as? Int == messages)
        #expect(doc["failed"] as? Int == 0)
        #expect((doc["streams"] as? [Any])?.count == sent.reduce(0) { $0 + $1.count })

        let damaged = ChildProcess(Self.binary, ["send", "-q", Fixtures.rrdPath("corrupt_truncated.rrd"), "--to", live.url])
        try damaged.start()
        #expect(await damaged.exitStatus(timeout: .seconds(60)) == 1, "\(damaged.stderr)")
        #expect(damaged.stderr.contains("corrupt_truncated.rrd"))

        let received = await live.stop()
        for entries in sent {
            for (store, want) in entries { #expect(received[store] == want, "\(store)") }
        }
        // The truncated file's readable messages arrived: its store info and its one whole chunk.
        let truncatedPath = Fixtures.rrdPath("corrupt_truncated.rrd")
        let truncatedBytes = ByteSlice(copying: Array(try Fixtures.bytes(URL(fileURLWithPath: truncatedPath))))
        let (truncatedStreams, truncatedErrors) = ProxyStream.split(truncatedBytes, source: truncatedPath)
        #expect(!truncatedErrors.isEmpty)
        let truncatedStore = try #require(truncatedStreams.first?.storeId)
        let truncated = try #require(received[truncatedStore])
        #expect(truncated.filter(\.isChunk).count == 1)
        #expect(truncated.count == truncatedStreams[0].messages.count)

        let nobody = ChildProcess(Self.binary, ["send", files[0], "--to", "rerun+http://127.0.0.1:\(live.port)/proxy"])
        try nobody.start()
        #expect(await nobody.exitStatus(timeout: .seconds(60)) == 3)
        #expect(nobody.stderr.contains("unavailable"), "\(nobody.stderr)")

        let badURL = ChildProcess(Self.binary, ["send", files[0], "--to", "rerun+https://127.0.0.1:1/proxy"])
        try badURL.start()
        #expect(await badURL.exitStatus(timeout: .seconds(60)) == 2)
        #expect(badURL.stderr.contains("TLS"))
    }
}
#endif
