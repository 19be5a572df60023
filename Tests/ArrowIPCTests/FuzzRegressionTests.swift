import ArrowIPC
import FixtureSupport
import Foundation
import Testing

/// The inputs kept in `Fixtures/fuzz/FuzzArrowIPC/`, replayed with the checks of the `FuzzArrowIPC` harness.
@Suite("Fuzz regression inputs: Arrow IPC reader")
struct ArrowFuzzRegressionTests {
    static var inputs: [String] {
        let dir = Fixtures.root.appendingPathComponent("fuzz/FuzzArrowIPC").path
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted().map { "\(dir)/\($0)" }
    }

    @Test("read cold and cached, structurally and fully validated; every accepted value renders", arguments: inputs)
    func replay(path: String) throws {
        let bytes = try Fixtures.bytes(URL(fileURLWithPath: path))
        let reader = ArrowStreamReader()
        reader.maxDecompressedBodySize = 1 << 24
        let first = Result { () throws(ArrowError) in try reader.read(ArrowStorage(copying: bytes)) }
        let second = Result { () throws(ArrowError) in try reader.read(ArrowStorage(copying: bytes), validateFully: true) }
        if case .success = second, case .failure(let e) = first {
            Issue.record("full validation accepted what structural validation rejected: \(e)")
        }
        for result in [first, second] {
            switch result {
            case .success(let batch):
                var out = ""
                for column in batch.columns {
                    for i in 0..<Swift.min(column.length, 4096) { column.appendJSON(at: i, to: &out) }
                }
            case .failure(let e):
                #expect(!e.message.isEmpty)
            }
        }
    }
}
