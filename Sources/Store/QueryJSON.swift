import IngestCore

/// The stable JSON forms of query answers (`ingest query --json`), one line each, written as Python's
/// `json.dumps` writes them: `", "` and `": "` separators, and every non-ASCII character escaped as
/// `\uXXXX` (UTF-16, surrogate pairs above U+FFFF), so the text is pure ASCII.
public enum QueryJSON {
    /// The latest-at / static answer: `{"found": B, "time": N|null, "row_id": "…"|null, "value": V|null}`.
    /// - Parameters:
    ///   - hit: the answer's cell (nil: not found).
    ///   - value: the cell rendered as JSON text (ignored when `hit` is nil).
    public static func latestAt<C>(_ hit: CellHit<C>?, value: (CellHit<C>) -> String) -> String {
        guard let hit else { return #"{"found": false, "time": null, "row_id": null, "value": null}"# }
        let time = hit.time.map { String($0) } ?? "null"
        return #"{"found": true, "time": \#(time), "row_id": "\#(hit.rowId)", "value": \#(asciiEscaped(value(hit)))}"#
    }

    /// One row of a range answer: `{"time": N, "row_id": "…", "value": V}`.
    public static func rangeRow<C>(_ hit: CellHit<C>, value: (CellHit<C>) -> String) -> String {
        let time = hit.time.map { String($0) } ?? "null"
        return #"{"time": \#(time), "row_id": "\#(hit.rowId)", "value": \#(asciiEscaped(value(hit)))}"#
    }

    /// JSON text with every non-ASCII character written as `\uXXXX`. Valid for any JSON text: outside
    /// strings JSON is ASCII already, and inside strings the escape means the same character.
    public static func asciiEscaped(_ json: String) -> String {
        guard json.utf8.contains(where: { $0 >= 0x80 }) else { return json }
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(json.utf8.count + 16)
        for scalar in json.unicodeScalars {
            if scalar.value < 0x80 {
                out.append(UInt8(scalar.value))
                continue
            }
            for unit in String(scalar).utf16 {
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u")])
                for shift in stride(from: 12, through: 0, by: -4) {
                    out.append(hex[Int((unit >> UInt16(shift)) & 0xF)])
                }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
