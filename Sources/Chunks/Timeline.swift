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
        self.name = name
        self.columnName = columnName
        self.kind = kind
        self.arrowType = arrowType
        self.rowOrder = rowOrder
        let n = column.length
        // One pass over the values buffer (8 bytes per slot: every timeline type is 64-bit), checked
        // once instead of per row as `value(at:)` would. The state lives inside the closure: captured
        // `var`s would be boxed and access-checked.
        let (sorted, lo, hi) = column.withUnsafeBuffers { values, _ -> (Bool, Int64, Int64) in
            precondition(values.count >= 8 * n, "timeline column \(columnName) is shorter than its \(n) rows")
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
            return (sorted, lo, hi)
        }
        isSorted = sorted
        range = n > 0 ? lo...hi : nil
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
