import RRD

/// The stable JSON forms of query answers (`ingest query --json`), one line each, with the separators of
/// Python's `json.dumps` (`", "` and `": "`).
public enum QueryJSON {
    /// The latest-at / static answer: `{"found": B, "time": N|null, "row_id": "…"|null, "value": V|null}`.
    /// - Parameters:
    ///   - hit: the answer's cell (nil: not found).
    ///   - value: the cell rendered as JSON text (ignored when `hit` is nil).
    public static func latestAt<C>(_ hit: CellHit<C>?, value: (CellHit<C>) -> String) -> String {
        guard let hit else { return #"{"found": false, "time": null, "row_id": null, "value": null}"# }
        let time = hit.time.map { String($0) } ?? "null"
        return #"{"found": true, "time": \#(time), "row_id": "\#(hit.rowId)", "value": \#(value(hit))}"#
    }

    /// One row of a range answer: `{"time": N, "row_id": "…", "value": V}`.
    public static func rangeRow<C>(_ hit: CellHit<C>, value: (CellHit<C>) -> String) -> String {
        let time = hit.time.map { String($0) } ?? "null"
        return #"{"time": \#(time), "row_id": "\#(hit.rowId)", "value": \#(value(hit))}"#
    }
}
