import ArrowIPC

/// The column roles of one schema, shared by every chunk decoded with that schema: per timeline and
/// per component its names, kind or metadata, Arrow type, and the index of its column in the chunk's
/// record batch. A chunk keeps one reference to it (plus per-timeline time statistics) instead of a
/// ``Timeline`` or ``ComponentColumn`` value per column: those are built on demand.
@usableFromInline
final class ColumnLayout: Sendable {
    @usableFromInline
    struct TimelineSlot: Sendable {
        @usableFromInline let name: String
        let columnName: String
        let kind: TimelineKind
        let arrowType: String
        /// The column's index in the record batch.
        @usableFromInline let column: Int
    }

    @usableFromInline
    struct ComponentSlot: Sendable {
        @usableFromInline let name: String
        let archetype: String?
        let component: String
        let componentType: String?
        let arrowType: String
        /// The column's index in the record batch.
        @usableFromInline let column: Int
    }

    @usableFromInline let timelines: [TimelineSlot]
    @usableFromInline let components: [ComponentSlot]
    /// The ``SorbetVersion`` the columns were migrated from (``SchemaMigration``), nil when they are
    /// as the bytes hold them: the chunk's schema metadata is then migrated on access too.
    let migratedFrom: SorbetVersion?

    init(timelines: [TimelineSlot], components: [ComponentSlot], migratedFrom: SorbetVersion? = nil) {
        self.timelines = timelines
        self.components = components
        self.migratedFrom = migratedFrom
    }

    /// No columns (the layout of a chunk whose columns are held as explicit values).
    static let empty = ColumnLayout(timelines: [], components: [])
}

extension ColumnLayout {
    /// Builds a layout (the decoder caches one per schema).
    static func make(
        timelines: [(column: Int, name: String, columnName: String, kind: TimelineKind, arrowType: String)],
        components: [(column: Int, name: String, archetype: String?, component: String, componentType: String?, arrowType: String)],
        migratedFrom: SorbetVersion? = nil
    ) -> ColumnLayout {
        ColumnLayout(
            timelines: timelines.map {
                TimelineSlot(name: $0.name, columnName: $0.columnName, kind: $0.kind, arrowType: $0.arrowType, column: $0.column)
            },
            components: components.map {
                ComponentSlot(
                    name: $0.name, archetype: $0.archetype, component: $0.component, componentType: $0.componentType,
                    arrowType: $0.arrowType, column: $0.column)
            }, migratedFrom: migratedFrom)
    }
}

/// A timeline's smallest and largest time and whether its times are non-decreasing in RowId order.
@usableFromInline
struct TimeStats: Sendable {
    @usableFromInline var min: Int64
    @usableFromInline var max: Int64
    @usableFromInline var sorted: Bool

    /// Scans a timeline column (8 bytes per slot: every timeline type is 64-bit) in the order of
    /// `rowOrder` (physical rows for RowId-order rows; nil: identity), checking the buffer once
    /// instead of per row.
    static func scan(_ column: borrowing ArrowArray, rowOrder: [Int32]?, name: String) -> TimeStats {
        let n = column.length
        // The state lives inside the closure: captured `var`s would be boxed and access-checked.
        return column.withUnsafeBuffers { values, _ -> TimeStats in
            precondition(values.count >= 8 * n, "timeline column \(name) is shorter than its \(n) rows")
            var sorted = true
            var lo = Int64.max
            var hi = Int64.min
            var prev = Int64.min
            for r in 0..<n {
                let p: Int
                if let rowOrder {
                    p = Int(rowOrder[r])
                    precondition(p >= 0 && p < n, "row order entry \(p) out of 0..<\(n)")
                } else {
                    p = r
                }
                let t = values.loadUnaligned(fromByteOffset: 8 * p, as: Int64.self)
                if t < prev { sorted = false }
                prev = t
                lo = Swift.min(lo, t)
                hi = Swift.max(hi, t)
            }
            return TimeStats(min: lo, max: hi, sorted: sorted)
        }
    }
}
