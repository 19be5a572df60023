import IngestCore

/// The store's state, not thread-safe: ``ChunkStore`` guards it with its reader-writer lock.
///
/// Composed of facets, each owning its state and the operations on it (one file each):
/// - ``chunks`` (``ChunkTable``): the chunks held by slot, id → slot, what became of ids no longer
///   held, the distinct ids offered; held totals (chunks, rows, bytes);
/// - ``entities`` (``EntityIndexes``): per entity path its static winners and its temporal chunks by
///   (timeline, component) and time;
/// - ``timelines`` (``TimelineExtents``): the store-wide extent of each timeline;
/// - ``compactor`` (``Compactor``): compacted chunks' ids, merges that wait;
/// - ``collector`` (``Collector``): the memory budget's other bytes, the collection queue and log;
/// - ``events`` (``EventRecorder``): event ids and the current mutation's events;
/// - ``writes`` (``WriteCounters``): what inserts and removals did.
///
/// Operations that span facets are extensions of this type, by path: the write path
/// (`StoreIndex+Writes.swift`: insert, place, remove), compaction (`StoreIndex+Compaction.swift`),
/// garbage collection (`StoreIndex+GarbageCollection.swift`), queries (`StoreIndex+Queries.swift`:
/// latest-at, range, static, listings) and the statistics snapshot (`StoreIndex+Statistics.swift`).
/// Only the write path, compaction and collection mutate; queries only read (the timeline
/// summaries excepted, which settle stale extents).
struct StoreIndex<C: StorableChunk> {
    let configuration: ChunkStoreConfiguration
    var chunks = ChunkTable<C>()
    var entities = EntityIndexes()
    var timelines = TimelineExtents()
    var compactor = Compactor()
    var collector: Collector
    var events = EventRecorder<C>()
    var writes = WriteCounters()

    /// An empty index; under a budget, `queued` counts against it besides the chunks.
    init(configuration: ChunkStoreConfiguration, queued: QueuedByteCount) {
        self.configuration = configuration
        collector = Collector(queued: queued)
    }
}
