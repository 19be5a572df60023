import RRD

/// Index-based accessors, in the shape the chunk store's `StorableChunk` protocol asks for (so the
/// store can declare `extension Chunk: StorableChunk {}`). Rows are in RowId order.
extension Chunk {
    /// The RowId of `row`; ascending in `row`.
    @inlinable
    public func rowId(at row: Int) -> Tuid { storage.rowId(at: row) }

    /// Number of timelines.
    public var timelineCount: Int { timelines.count }

    /// Name of timeline `timeline` (`0..<timelineCount`).
    public func timelineName(at timeline: Int) -> String { timelines[timeline].name }

    /// Time of `row` on timeline `timeline` (a sequence value or nanoseconds).
    @inlinable
    public func time(timeline: Int, row: Int) -> Int64 { timelines[timeline].time(at: row) }

    /// Smallest and largest time of a timeline, nil without rows.
    public func timeRange(timeline: Int) -> ClosedRange<Int64>? { timelines[timeline].range }

    /// Whether a timeline's times are non-decreasing in row order.
    public func isTimeSorted(timeline: Int) -> Bool { timelines[timeline].isSorted }

    /// Number of component columns.
    public var componentCount: Int { components.count }

    /// Column name of component `component`, e.g. `Points3D:positions`.
    public func componentName(at component: Int) -> String { components[component].name }

    /// Whether the cell (`component`, `row`) is null ("not logged in that row").
    @inlinable
    public func isNull(component: Int, row: Int) -> Bool { components[component].isNull(row) }

    /// Approximate memory kept alive, in bytes: ``byteSize``.
    public var approximateByteSize: Int { byteSize }
}
