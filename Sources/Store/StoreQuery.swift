import Chunks
import IngestCore

/// One question of the query contract (`ingest query`): an entity+component, and latest-at, range or
/// static.
public struct StoreQuery: Hashable, Sendable {
    /// Which kind of answer.
    public enum Mode: Hashable, Sendable {
        /// Latest-at `time` on `timeline`.
        case latestAt(timeline: String, time: Int64)
        /// Every row with `from <= time <= through` on `timeline`.
        case range(timeline: String, from: Int64, through: Int64)
        /// The static winner.
        case staticData
    }

    /// The entity path as the recording writes it (escapes included).
    public var entity: String
    /// The component column name, e.g. `Points3D:positions`.
    public var component: String
    /// The kind of answer.
    public var mode: Mode

    /// Creates a query.
    public init(entity: String, component: String, mode: Mode) {
        self.entity = entity
        self.component = component
        self.mode = mode
    }

    /// Parses `T0..T1` (both integers, either may be negative, both ends inclusive).
    public static func parseRange(_ text: String) -> (Int64, Int64)? {
        // Search from index 1 so that a leading minus sign is never part of the separator.
        let scalars = Array(text.utf8)
        guard scalars.count >= 4 else { return nil }
        for i in 1..<(scalars.count - 2)
        where scalars[i] == UInt8(ascii: ".") && scalars[i + 1] == UInt8(ascii: ".") {
            guard let lo = Int64(String(decoding: scalars[..<i], as: UTF8.self)),
                let hi = Int64(String(decoding: scalars[(i + 2)...], as: UTF8.self))
            else { return nil }
            return (lo, hi)
        }
        return nil
    }

    /// Answers against one store.
    /// - Returns: the latest-at/static hit (`single`), or the range rows (`rows`).
    public func answer<C>(in store: ChunkStore<C>?) -> (single: CellHit<C>?, rows: [CellHit<C>]) {
        guard let store else { return (nil, []) }
        switch mode {
        case .latestAt(let timeline, let time):
            return (
                store.latestAt(entity: entity, component: component, timeline: timeline, at: time), []
            )
        case .range(let timeline, let from, let through):
            return (
                nil,
                store.range(
                    entity: entity, component: component, timeline: timeline, from: from, through: through)
            )
        case .staticData:
            return (store.staticCell(entity: entity, component: component), [])
        }
    }

    /// The answer's lines in the stable JSON form: one object for latest-at/static, one object per row
    /// for a range (no lines when no row matches).
    public func jsonLines(in store: ChunkStore<Chunk>?) -> [String] {
        let (single, rows) = answer(in: store)
        switch mode {
        case .range: return rows.map { QueryJSON.rangeRow($0) { $0.jsonValue } }
        case .latestAt, .staticData: return [QueryJSON.latestAt(single) { $0.jsonValue }]
        }
    }

    /// The answer's lines in readable form.
    public func textLines(in store: ChunkStore<Chunk>?) -> [String] {
        let (single, rows) = answer(in: store)
        switch mode {
        case .range:
            if rows.isEmpty { return ["no rows"] }
            return rows.map {
                "time \($0.time.map(String.init) ?? "static")  row \($0.rowId)  \($0.jsonValue)"
            }
        case .latestAt, .staticData:
            guard let hit = single else { return ["not found"] }
            let when = hit.time.map { "time \($0)" } ?? "static"
            return ["\(when)  row \(hit.rowId)  \(hit.jsonValue)"]
        }
    }
}
