import HeapModule
import IngestCore

/// A temporal chunk in the collector's queue, ordered by its first (smallest) RowId.
struct GCEntry: Comparable {
    var firstRowId: RowId
    var chunkId: ChunkId
    static func < (a: GCEntry, b: GCEntry) -> Bool { (a.firstRowId, a.chunkId) < (b.firstRowId, b.chunkId) }
}

/// The store's garbage-collection facet (§3.3): the bytes counted against the budget besides the
/// chunks (external and queued), the temporal chunks in collection order, the log of the latest
/// collections and their totals. Which chunks a collection drops, and the unindexing, are
/// ``StoreIndex``'s (`StoreIndex+GarbageCollection.swift`).
struct Collector {
    /// Bytes held outside the store on its behalf (``ChunkStore/reserveExternalBytes(_:)``).
    var externalBytes = 0
    /// The engine's count of bytes waiting for the store, read at each collection (the store only
    /// reads it).
    let queued: QueuedByteCount
    /// Temporal chunks by first RowId (only kept under a budget); entries of chunks no longer held
    /// are skipped when popped.
    private(set) var heap = Heap<GCEntry>()
    /// The latest collections, oldest first (at most 256).
    private(set) var log: [GarbageCollectionRecord] = []
    /// Collections that ran, and the chunks, rows and bytes they dropped (since creation).
    private(set) var runs = 0
    private(set) var chunksCollected = 0
    private(set) var rowsCollected = 0
    private(set) var bytesCollected = 0

    init(queued: QueuedByteCount) {
        self.queued = queued
    }

    /// Queues a temporal chunk just held for collection.
    @inline(__always)
    mutating func track<C: StorableChunk>(_ chunk: C) {
        heap.insert(GCEntry(firstRowId: chunk.rowId(at: 0), chunkId: chunk.id))
    }

    /// The oldest queued entry (possibly of a chunk no longer held).
    mutating func popOldest() -> GCEntry? { heap.popMin() }

    /// Logs a finished collection and adds it to the totals.
    mutating func finish(_ record: GarbageCollectionRecord) {
        runs += 1
        chunksCollected += record.chunksDropped
        rowsCollected += record.rowsDropped
        bytesCollected += record.bytesDropped
        log.append(record)
        if log.count > 256 { log.removeFirst(log.count - 128) }
    }

    /// Rebuilds the queue from the chunks held when stale entries (chunks compacted away or
    /// removed) dominate it.
    mutating func dropStaleEntries<C: StorableChunk>(held: Int, slots: [C?]) {
        guard heap.count > 2 * held + 1024 else { return }
        heap = Heap(
            slots.compactMap { held in
                held.flatMap { $0.isStaticData ? nil : GCEntry(firstRowId: $0.rowId(at: 0), chunkId: $0.id) }
            })
    }
}
