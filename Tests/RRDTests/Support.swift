import FixtureSupport
import Foundation
import IngestCore
import RRD

/// Reads a whole input through ``RRDReader``.
func readEvents(_ path: String, options: ReaderOptions = .init()) throws -> [StreamEvent] {
    var reader = try RRDReader(path: path, options: options)
    var events: [StreamEvent] = []
    while let e = reader.next() { events.append(e) }
    return events
}

/// Feeds `bytes` to a ``StreamDecoder`` in pieces of `piece` bytes.
func decodeInPieces(
    _ bytes: [UInt8], piece: Int, source: String = "mem", options: ReaderOptions = .init()
) -> [StreamEvent] {
    var decoder = StreamDecoder(source: source, options: options)
    var events: [StreamEvent] = []
    var i = 0
    bytes.withUnsafeBytes { b in
        while i < b.count {
            let j = Swift.min(i + piece, b.count)
            decoder.feed(UnsafeRawBufferPointer(rebasing: b[i..<j])) { events.append($0) }
            i = j
        }
    }
    decoder.finish { events.append($0) }
    return events
}

extension StreamEvent {
    var error: RRDError? {
        if case .error(let e) = self { return e }
        return nil
    }
    var framed: FramedMessage? {
        if case .message(let m) = self { return m }
        return nil
    }
}

extension StoreId {
    /// The `{kind, application_id, recording_id}` object of `EXPECTED.json`.
    func matches(_ json: Any?) -> Bool {
        guard let d = json as? [String: Any] else { return false }
        return d["kind"] as? String == kind.description && d["application_id"] as? String == applicationId
            && d["recording_id"] as? String == recordingId
    }
}

/// Integers of `EXPECTED.json` (JSONSerialization gives NSNumber).
func u64(_ any: Any?) -> UInt64? { (any as? NSNumber)?.uint64Value }

/// `nil` when the two event lists are equal, otherwise a short description of the first difference
/// (the full lists are too long for a test log).
func firstDifference(_ a: [StreamEvent], _ b: [StreamEvent]) -> String? {
    for (i, (x, y)) in zip(a, b).enumerated() where x != y {
        return "event \(i): \(String(describing: x).prefix(300)) != \(String(describing: y).prefix(300))"
    }
    if a.count != b.count {
        let extra = a.count > b.count ? a[b.count] : b[a.count]
        return "counts \(a.count) != \(b.count); first extra: \(String(describing: extra).prefix(300))"
    }
    return nil
}
