import IngestCore

/// What the chunk store needs to know about a chunk: its identity, its rows' ids, its time columns and
/// which component cells are null. Nothing else is read, so the index never depends on how cells are
/// stored.
///
/// Conventions a conforming type must keep (the store checks the row-id order and rejects violations):
/// - rows are in ascending RowId order (``rowId(at:)``), the order the engine sorts every chunk into;
/// - a chunk is **static** when ``isStatic`` is true or it has no timelines; its timelines are then ignored;
/// - time columns may be unsorted, in which case ``isTimeSorted(timeline:)`` must return false;
/// - a null cell (``isNull(component:row:)``) means "not logged in that row"; an empty list is not null.
///
/// Accessors are called per row only by queries and by the static-winner scan on insert; the temporal
/// index reads ``timeRange(timeline:)`` once per timeline.
public protocol StorableChunk: Sendable {
    /// The chunk id (a TUID); the dedupe key.
    var id: ChunkId { get }
    /// The entity path as the recording writes it (escapes included).
    var entityPath: String { get }
    /// The number of rows.
    var numRows: Int { get }
    /// Whether the chunk was logged as static data.
    var isStatic: Bool { get }
    /// The RowId of one row; ascending in `row`.
    func rowId(at row: Int) -> RowId

    /// The number of time columns (timelines).
    var timelineCount: Int { get }
    /// The name of one timeline, `0..<timelineCount`.
    func timelineName(at timeline: Int) -> String
    /// The time of one row on one timeline (a sequence value, or nanoseconds).
    func time(timeline: Int, row: Int) -> Int64
    /// The smallest and largest time on one timeline, or nil when the chunk has no rows.
    func timeRange(timeline: Int) -> ClosedRange<Int64>?
    /// Whether the times of one timeline are non-decreasing in row order.
    func isTimeSorted(timeline: Int) -> Bool

    /// The number of component (data) columns.
    var componentCount: Int { get }
    /// The column name of one component, e.g. `Points3D:positions`.
    func componentName(at component: Int) -> String
    /// Whether one cell is null ("not logged in that row").
    func isNull(component: Int, row: Int) -> Bool

    /// Whether the chunk guarantees ascending RowIds (checked when it was built), so that the store
    /// skips its own O(rows) check. The default is false (the store checks).
    var rowIdsAreKnownAscending: Bool { get }

    /// An object shared by chunks whose timelines and components have the same names in the same
    /// order (e.g. the chunks decoded with one schema), or nil when unknown. The store remembers, per
    /// entity, where the last such layout's columns are indexed, so a chunk with the same key skips
    /// the look-up of its column names. The default is nil (names are looked up for every chunk).
    var columnLayoutKey: (any AnyObject & Sendable)? { get }

    /// An approximate heap size in bytes, for statistics and the memory budget.
    var approximateByteSize: Int { get }

    /// The rows of two temporal chunks of one entity as one new chunk with id `id`, sorted by RowId,
    /// components missing on one side as null cells (compaction). Nil when they cannot be merged
    /// (different timelines or component types, or a type the conforming chunk cannot copy); the
    /// default never merges.
    static func concatenated(_ a: Self, _ b: Self, id: ChunkId) -> Self?

    /// The rows of several temporal chunks of one entity as one new chunk with id `id`, sorted by
    /// RowId (ties: the earlier chunk's rows first), like ``concatenated(_:_:id:)`` applied from left
    /// to right, which is what the default does. A conforming type should copy each row once (the
    /// store merges batches of waiting chunks into a neighbour with it: see
    /// ``ChunkStoreConfiguration/Compaction/mergeBatch``). Nil when they cannot all be merged.
    static func concatenated(_ chunks: [Self], id: ChunkId) -> Self?
}

extension StorableChunk {
    /// Not known: the store checks the row order of every chunk.
    public var rowIdsAreKnownAscending: Bool { false }

    /// No layout key: the store looks each chunk's column names up.
    public var columnLayoutKey: (any AnyObject & Sendable)? { nil }

    /// Never merges: a chunk type without concatenation is never compacted.
    public static func concatenated(_ a: Self, _ b: Self, id: ChunkId) -> Self? { nil }

    /// Folds ``concatenated(_:_:id:)`` from left to right (each step copies the rows merged so far).
    public static func concatenated(_ chunks: [Self], id: ChunkId) -> Self? {
        guard var merged = chunks.first else { return nil }
        for chunk in chunks.dropFirst() {
            guard let next = concatenated(merged, chunk, id: id) else { return nil }
            merged = next
        }
        return chunks.count == 1 ? nil : merged
    }
}

extension StorableChunk {
    /// Whether the store treats this chunk as static data: flagged static, or without timelines.
    @inlinable
    public var isStaticData: Bool { isStatic || timelineCount == 0 }
}
