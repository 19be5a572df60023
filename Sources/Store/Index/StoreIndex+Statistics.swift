// The statistics snapshot, assembled from the counters each facet keeps of its own work.
extension StoreIndex {
    /// The counters, as one snapshot (``ChunkStoreStatistics/queuedBytes`` is ``ChunkStore``'s to fill in).
    var statistics: ChunkStoreStatistics {
        var s = ChunkStoreStatistics()
        s.chunks = chunks.count
        s.staticChunks = chunks.staticCount
        s.rows = chunks.rows
        s.approximateBytes = chunks.bytes
        s.distinctChunkIds = chunks.distinctIds
        s.entities = entities.count
        s.chunksInserted = writes.chunksInserted
        s.duplicatesSkipped = writes.duplicatesSkipped
        s.droppedEmpty = writes.droppedEmpty
        s.removed = writes.removed
        s.eventsEmitted = events.lastId
        s.compactions = compactor.compactions
        s.externalBytes = collector.externalBytes
        s.garbageCollections = collector.runs
        s.chunksCollected = collector.chunksCollected
        s.rowsCollected = collector.rowsCollected
        s.bytesCollected = collector.bytesCollected
        return s
    }
}
