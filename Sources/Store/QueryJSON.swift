import IngestCore
import RRD

/// The stable JSON forms of query answers (`ingest query --json`), one line each, written as Python's
/// `json.dumps` writes them: `", "` and `": "` separators, and every non-ASCII character escaped as
/// `\uXXXX` (UTF-16, surrogate pairs above U+FFFF), so the text is pure ASCII.
public enum QueryJSON {
    /// The latest-at / static answer: `{"found": B, "time": N|null, "row_id": "…"|null, "value": V|null}`.
    /// - Parameters:
    ///   - hit: the answer's cell (nil: not found).
    ///   - value: the cell rendered as JSON text (ignored when `hit` is nil).
    public static func latestAt<C>(_ hit: CellHit<C>?, value: (CellHit<C>) -> String) -> String {
        guard let hit else {
            let missing: JSONObject = ["found": false, "time": nil, "row_id": nil, "value": nil]
            return missing.serialized()
        }
        let line: JSONObject = [
            "found": true, "time": time(hit), "row_id": .string("\(hit.rowId)"), "value": .fragment(value(hit)),
        ]
        return line.serialized(asciiOnly: true)
    }

    /// One row of a range answer: `{"time": N, "row_id": "…", "value": V}`.
    public static func rangeRow<C>(_ hit: CellHit<C>, value: (CellHit<C>) -> String) -> String {
        let line: JSONObject = ["time": time(hit), "row_id": .string("\(hit.rowId)"), "value": .fragment(value(hit))]
        return line.serialized(asciiOnly: true)
    }

    private static func time<C>(_ hit: CellHit<C>) -> JSONValue { hit.time.map { .int($0) } ?? .null }

    /// JSON text with every non-ASCII character written as `\uXXXX` (IngestCore's rule for all-ASCII
    /// JSON). Valid for any JSON text: outside strings JSON is ASCII already, and inside strings the
    /// escape means the same character.
    public static func asciiEscaped(_ json: String) -> String { JSONText.asciiEscaped(json) }
}
