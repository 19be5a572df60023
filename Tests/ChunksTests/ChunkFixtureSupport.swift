import ArrowIPC
import Chunks
import FixtureSupport
import Foundation
import RRD
import Testing

/// Every `ArrowMsg` of a fixture, decoded, in file order.
struct DecodedFile {
    var results: [(offset: UInt64, result: Result<Chunk, ChunkError>)] = []
    var readErrors: [RRDError] = []
    var messages: [ArrowMsg] = []

    init(_ name: String) throws {
        var reader = try RRDReader(path: Fixtures.rrdPath(name))
        let decoder = ChunkDecoder()
        decoder.validateFully = true
        while let event = reader.next() {
            switch event {
            case .message(let m):
                if case .arrowMsg(let msg) = m.message {
                    messages.append(msg)
                    results.append((m.offset, Result { () throws(ChunkError) in try decoder.decode(msg) }))
                }
            case .error(let e): readErrors.append(e)
            default: break
            }
        }
    }

    var chunks: [Chunk] { results.compactMap { try? $0.result.get() } }
    var chunkErrors: [ChunkError] {
        results.compactMap { if case .failure(let e) = $0.result { return e } else { return nil } }
    }
}

/// Compares a value parsed from our JSON with an `EXPECTED.json` value, honouring its truncation
/// marker: a list whose last element is `"... (N items)"` stands for N items of which the first are shown.
func matchesExpected(_ actual: Any, _ expected: Any, path: String = "") -> String? {
    if let e = expected as? [Any] {
        guard let a = actual as? [Any] else { return "\(path): expected a list, got \(actual)" }
        var shown = e
        var total = e.count
        if let last = e.last as? String, last.hasPrefix("... ("), last.hasSuffix(" items)") {
            shown.removeLast()
            total = Int(last.dropFirst(5).dropLast(7)) ?? -1
        }
        guard a.count == total else { return "\(path): \(a.count) items, expected \(total)" }
        for (i, x) in shown.enumerated() {
            if let m = matchesExpected(a[i], x, path: "\(path)[\(i)]") { return m }
        }
        return nil
    }
    if let e = expected as? [String: Any] {
        guard let a = actual as? [String: Any] else { return "\(path): expected an object, got \(actual)" }
        guard Set(a.keys) == Set(e.keys) else { return "\(path): keys \(a.keys.sorted()) vs \(e.keys.sorted())" }
        for (k, v) in e {
            if let m = matchesExpected(a[k]!, v, path: "\(path).\(k)") { return m }
        }
        return nil
    }
    if expected is NSNull { return actual is NSNull ? nil : "\(path): \(actual), expected null" }
    guard let a = actual as? NSObject, let e = expected as? NSObject, a.isEqual(e) else {
        return "\(path): \(actual), expected \(expected)"
    }
    return nil
}

func parseJSONValue(_ text: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
}

/// Fixture names that have chunks in `EXPECTED.json` or are expected to be valid.
let chunkFixtureNames: [String] = Fixtures.expectedFiles.map { $0["file"] as! String }
