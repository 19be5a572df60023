import ArrowIPC
import Chunks
import FixtureSupport
import Foundation
import Ingestion
import RRD
import Testing

/// The inputs kept in `Fixtures/fuzz/FuzzIngest/`, replayed like the `FuzzIngest` harness: every message through
/// the hub, then every output drained and every chunk cell rendered.
@Suite("Fuzz regression inputs: whole ingest path")
struct IngestFuzzRegressionTests {
    static var inputs: [String] {
        let dir = Fixtures.root.appendingPathComponent("fuzz/FuzzIngest").path
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted().map { "\(dir)/\($0)" }
    }

    @Test("one-message recordings through the hub: one output per admitted message, no trap", arguments: inputs)
    func replay(path: String) throws {
        let bytes = try Fixtures.bytes(URL(fileURLWithPath: path))
        var decoder = StreamDecoder(source: "fuzz", options: ReaderOptions(maxMessageSize: 1 << 24))
        var messages: [FramedMessage] = []
        bytes.withUnsafeBytes { b in decoder.feed(b) { if case .message(let m) = $0 { messages.append(m) } } }
        decoder.finish { if case .message(let m) = $0 { messages.append(m) } }
        let hub = StoreHub()
        var admitted = 0
        for m in messages where try hub.submit(m, source: "fuzz") != nil { admitted += 1 }
        #expect(hub.flush(timeout: .seconds(20)))
        var outputs = 0
        var out = ""
        hub.drain { _, item in
            outputs += 1
            guard let chunk = item.chunk else { return }
            for component in chunk.components {
                for row in 0..<Swift.min(chunk.numRows, 4096) {
                    component.column.appendJSON(at: component.physicalRow(row), to: &out)
                }
            }
        }
        #expect(outputs == admitted)
        hub.shutdown(drain: false)
    }
}
