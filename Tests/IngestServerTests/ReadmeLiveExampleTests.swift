#if LIVE_SERVER
import FixtureSupport
import Foundation
import IngestCore
import IngestServer
import Ingestion
import RRD
import Testing

/// The README's live section shows the library server as inline code (`IngestServer` needs the
/// `LiveServer` trait, which the README-examples stage's outside package does not enable): the test
/// below runs those very fragments, and checks that each fragment of the README's bullet appears,
/// character for character, in this file, so the README cannot drift from code that compiles.
@Suite("README: the live section's library example")
struct ReadmeLiveExampleTests {
    @Test func theLibraryExampleRuns() async throws {
        // The README's fragments, as written there:
        let hub = StoreHub()
        let server = IngestServer(hub: hub)
        let address = try await server.start(host: "127.0.0.1", port: 0)
        // What the fragments leave to the reader: a client, and draining the hub as for files.
        let path = Fixtures.rrdPath("points3d.rrd")
        let bytes = ByteSlice(copying: Array(try Fixtures.bytes(URL(fileURLWithPath: path))))
        let reports = await ProxySender(url: try ProxyURL(parsing: address.url)).send(ProxyStream.split(bytes, source: path).streams)
        #expect(reports.allSatisfy { $0.failure == nil })
        await server.stop(drain: true)
        var chunks = 0
        hub.drain { _, output in if case .chunk = output.event { chunks += 1 } }
        #expect(chunks == 2)
        hub.shutdown(drain: false)
    }

    @Test func theReadmeShowsTheseFragments() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOfFile: #filePath, encoding: .utf8)
        // The bullet "In a library (product `IngestServer`, same trait): ..." up to the next blank line.
        let start = try #require(readme.range(of: "- In a library (product `IngestServer`"))
        let rest = readme[start.lowerBound...]
        let bullet = rest[..<(rest.range(of: "\n\n")?.lowerBound ?? rest.endIndex)]
        // Its code spans, rewrapped lines joined (the README wraps inside a span).
        let text = bullet.replacingOccurrences(of: "\n  ", with: " ")
        let spans = text.split(separator: "`", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }.map { String($0.element) }
            .filter { $0.hasPrefix("let ") || $0.hasPrefix("await ") }
        #expect(spans.count >= 3, "\(bullet)")
        for span in spans {
            #expect(source.contains(span), "README fragment not run by this test: \(span)")
        }
    }
}
#endif
