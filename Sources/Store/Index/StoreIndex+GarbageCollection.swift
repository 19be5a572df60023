import IngestCore

// Garbage collection under the memory budget (§3.3). The ``Collector`` keeps the queue, the other
// bytes and the log; dropping a chunk is the write path's unindexing.
extension StoreIndex {
    /// Drops whole temporal chunks, smallest first RowId first, while the chunks' bytes plus the
    /// external and queued bytes exceed the budget. Static chunks are never dropped. A no-op without
    /// a budget (the queued count is then not even read).
    mutating func collectGarbageIfNeeded() {
        guard let budget = configuration.memoryBudget else { return }
        // Read once: one collection judges against one figure, whatever the engine admits meanwhile.
        let queued = collector.queued.value
        let before = chunks.bytes + collector.externalBytes + queued
        guard before > budget else { return }
        var record = GarbageCollectionRecord(
            firstEventId: events.lastId + 1, afterInserts: writes.chunksInserted, bytesBefore: before,
            bytesAfter: before, budget: budget, chunksDropped: 0, rowsDropped: 0, bytesDropped: 0)
        while chunks.bytes + collector.externalBytes + queued > budget, let entry = collector.popOldest() {
            guard let slot = chunks.slot(of: entry.chunkId), !chunks[slot].isStaticData,
                chunks[slot].rowId(at: 0) == entry.firstRowId
            else { continue }
            let chunk = unindex(chunkId: entry.chunkId, .gone)!
            record.chunksDropped += 1
            record.rowsDropped += chunk.numRows
            record.bytesDropped += chunk.approximateByteSize
            if record.oldestDroppedRowId == nil { record.oldestDroppedRowId = entry.firstRowId }
            record.newestDroppedRowId = entry.firstRowId
            events.emit(.deletion(chunk, .garbageCollected))
        }
        if record.chunksDropped == 0 { record.firstEventId = 0 }
        record.bytesAfter = chunks.bytes + collector.externalBytes + queued
        collector.finish(record)
        // Stale entries (chunks compacted away or removed) pile up: rebuild when they dominate.
        collector.dropStaleEntries(held: chunks.count, slots: chunks.slots)
    }
}
