import ArrowIPC

/// The three timeline types of Rerun index columns.
public enum TimelineKind: String, Sendable, Hashable {
    /// `Int64` sequence numbers (frames, ticks).
    case sequence
    /// `Timestamp(ns)`: nanoseconds since the Unix epoch.
    case timestamp
    /// `Duration(ns)`: nanoseconds.
    case duration
}

/// One index (time) column of a chunk, read in the chunk's RowId order.
///
/// A self-contained value (it holds its column): ``Chunk/timelines`` builds one per timeline on
/// each access, from the chunk's shared column layout and its time statistics.
public struct Timeline: Sendable {
    /// The timeline name (`rerun:index_name`, else the column name).
    public let name: String
    /// The column name in the record batch.
    public let columnName: String
    /// Sequence, timestamp or duration.
    public let kind: TimelineKind
    /// The Arrow type as pyarrow prints it (`int64`, `timestamp[ns]`, `duration[ns]`).
    public let arrowType: String
    /// The raw column (physical row order).
    public let column: ArrowArray
    @usableFromInline let rowOrder: [Int32]?
    /// Whether the times are non-decreasing in RowId order.
    public let isSorted: Bool
    /// Smallest and largest time (nil for a chunk without rows).
    public let range: ClosedRange<Int64>?

    init(
        name: String, columnName: String, kind: TimelineKind, arrowType: String, column: consuming ArrowArray,
        rowOrder: [Int32]?
    ) {
        // `consuming`: the caller's copy of the column moves in (a copy retains several objects).
        let stats = TimeStats.scan(column, rowOrder: rowOrder, name: columnName)
        self.init(
            name: name, columnName: columnName, kind: kind, arrowType: arrowType, column: column, rowOrder: rowOrder,
            stats: stats)
    }

    /// A timeline whose statistics are known (a chunk computes them once, when it is built).
    init(
        name: String, columnName: String, kind: TimelineKind, arrowType: String, column: consuming ArrowArray,
        rowOrder: [Int32]?, stats: TimeStats
    ) {
        self.name = name
        self.columnName = columnName
        self.kind = kind
        self.arrowType = arrowType
        self.rowOrder = rowOrder
        isSorted = stats.sorted
        range = column.length > 0 ? stats.min...stats.max : nil
        self.column = column
    }

    /// The time of row `row` (RowId order), in sequence units or nanoseconds.
    @inlinable
    public func time(at row: Int) -> Int64 {
        let p = rowOrder.map { Int($0[row]) } ?? row
        return column.value(at: p, as: Int64.self)
    }

    /// Smallest time (nil for an empty chunk).
    public var min: Int64? { range?.lowerBound }
    /// Largest time (nil for an empty chunk).
    public var max: Int64? { range?.upperBound }
}
