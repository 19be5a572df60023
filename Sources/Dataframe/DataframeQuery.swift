import Chunks

/// Which dataframe of a store to build: the semantics of the Rerun SDK's (0.41)
/// `ChunkStore.reader(index=…, contents=…, fill_latest_at=…)`.
///
/// ```swift
/// let frame = try store.dataframe(DataframeQuery(index: "frame", contents: [EntityPathPattern("/world/**")]))
/// ```
public struct DataframeQuery: Hashable, Sendable {
    /// The timeline whose distinct values are the rows; nil for the static view (one row of static data).
    public var index: String?
    /// The entities whose components become columns: an entity is in the view when any pattern matches
    /// it; nil for every entity. `/__properties` and below (recording properties) are never columns,
    /// as in the SDK's reader.
    public var contents: [EntityPathPattern]?
    /// Whether a null cell takes the latest value at or before its row's time (latest-at), as the SDK's
    /// `fill_latest_at=True` does.
    public var fillLatestAt: Bool

    /// A query; the defaults are the static view of every entity, without fill.
    public init(index: String? = nil, contents: [EntityPathPattern]? = nil, fillLatestAt: Bool = false) {
        self.index = index
        self.contents = contents
        self.fillLatestAt = fillLatestAt
    }
}
