import ArrowIPC
import FixtureSupport
import Foundation
import IngestCore
import Testing

@testable import Chunks

/// The copier behind `Chunk.concatenate` on every Arrow golden: gathered slots render exactly like their
/// sources (pyarrow's `to_pylist()` rendering), null segments render as null, unsupported types refuse.
@Suite("Gather (concatenation copier) on the Arrow goldens")
struct GatherTests {
    static var goldens: [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: Fixtures.arrow.path))?
            .filter { $0.hasSuffix(".arrows") && !$0.contains(".lz4.") && !$0.contains(".zstd.") }.sorted() ?? []
    }

    @Test("gathered slots match their sources, for every golden column", arguments: goldens)
    func golden(name: String) throws {
        let bytes = try [UInt8](Data(contentsOf: Fixtures.arrow.appendingPathComponent(name)))
        let batch = try ArrowStreamReader().read(ByteStorage(copying: bytes))
        var gathered = 0
        for column in batch.columns {
            guard Gather.isSupported(column) else {
                #expect(
                    Gather.gather(type: column.type, sources: [column], [], length: 0) == nil
                        || column.dictionaryIndexType != nil)
                continue
            }
            let n = column.length
            guard n > 0 else { continue }
            // Reversed halves, a null run, and single slots: every source slot, in a new order.
            let half = n / 2
            var segments = [Gather.Segment(source: 0, lower: half, upper: n)]
            segments.append(Gather.Segment(source: -1, lower: 0, upper: 2))
            if half > 0 { segments.append(Gather.Segment(source: 1, lower: 0, upper: half)) }
            segments.append(Gather.Segment(source: 0, lower: n - 1, upper: n))
            let expected: [(Int, Int)?] =
                (half..<n).map { (0, $0) } + [nil, nil] + (0..<half).map { (1, $0) } + [(0, n - 1)]
            let out = try #require(
                Gather.gather(type: column.type, sources: [column, column], segments, length: expected.count),
                "\(name): \(column.type)")
            #expect(out.length == expected.count)
            #expect(out.type == column.type)
            for (slot, source) in expected.enumerated() {
                if let (_, k) = source {
                    #expect(out.isNull(slot) == column.isNull(k), "\(name) slot \(slot)")
                    #expect(out.jsonValue(at: slot) == column.jsonValue(at: k), "\(name) slot \(slot)")
                } else {
                    if case .null = column.type {} else { #expect(out.isNull(slot), "\(name) slot \(slot)") }
                    #expect(out.jsonValue(at: slot) == "null", "\(name) slot \(slot)")
                }
            }
            #expect(out.nullCount == (0..<out.length).filter { out.isNull($0) }.count, "\(name)")
            gathered += 1
        }
        let unsupported = ["view", "union", "dictionary"]
        if !unsupported.contains(where: name.contains) { #expect(gathered > 0, "\(name)") }
    }
}
