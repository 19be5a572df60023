import IngestCore

/// Index-based accessors, in the shape the chunk store's `StorableChunk` protocol asks for (so the
/// store can declare `extension Chunk: StorableChunk {}`). Rows are in RowId order.
extension Chunk {
    /// The RowId of `row`; ascending in `row`.
    @inlinable
    public func rowId(at row: Int) -> RowId { storage.rowId(at: row) }

    /// Number of timelines.
    @inlinable
    public var timelineCount: Int { storage.timelineCount }

    /// Name of timeline `timeline` (`0..<timelineCount`).
    @inlinable
    public func timelineName(at timeline: Int) -> String { storage.timelineName(timeline) }

    /// Time of `row` on timeline `timeline` (a sequence value or nanoseconds).
    @inlinable
    public func time(timeline: Int, row: Int) -> Int64 { storage.time(timeline: timeline, row: row) }

    /// Smallest and largest time of a timeline, nil without rows.
    @inlinable
    public func timeRange(timeline: Int) -> ClosedRange<Int64>? { storage.timeRange(timeline) }

    /// Whether a timeline's times are non-decreasing in row order.
    @inlinable
    public func isTimeSorted(timeline: Int) -> Bool { storage.isTimeSorted(timeline) }

    /// Number of component columns.
    @inlinable
    public var componentCount: Int { storage.componentCount }

    /// Column name of component `component`, e.g. `Points3D:positions`.
    @inlinable
    public func componentName(at component: Int) -> String { storage.componentName(component) }

    /// Whether the cell (`component`, `row`) is null ("not logged in that row").
    @inlinable
    public func isNull(component: Int, row: Int) -> Bool { storage.isNull(component: component, row: row) }

    /// Timeline `timeline` (`0..<timelineCount`) as a value, without building the others.
    public func timeline(at timeline: Int) -> Timeline { storage.timeline(timeline) }

    /// Component column `component` (`0..<componentCount`) as a value, without building the others.
    public func component(at component: Int) -> ComponentColumn { storage.component(component) }

    /// Whether the row ids are known to ascend: checked by the decoder (which sorts the rows when
    /// they are not) or by concatenation, and false once ``rowIds`` or ``numRows`` is set.
    @inlinable
    public var rowIdsAreKnownAscending: Bool { storage.fields.pointee.rowIdsAscending }

    /// The chunk's shared column layout (the same object for every chunk decoded with one schema),
    /// or nil when its columns were set as values: chunks with the same key have the same timeline
    /// and component names in the same order.
    @inlinable
    public var columnLayoutKey: (any AnyObject & Sendable)? { storage.columnLayoutKey }

    /// Approximate memory kept alive, in bytes: ``byteSize``.
    @inlinable
    public var approximateByteSize: Int { byteSize }
}
