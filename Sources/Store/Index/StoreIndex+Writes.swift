import IngestCore

/// What inserts and removals did (since creation); the other counters are their facets'.
struct WriteCounters {
    var chunksInserted = 0
    var duplicatesSkipped = 0
    var droppedEmpty = 0
    var removed = 0
}

// The write path: insert (dedupe, checks, compaction or placement), place, remove, unindex.
extension StoreIndex {
    /// Indexes one chunk. Work is per timeline × component (one array insert each, name look-ups only
    /// for a column layout the entity did not see last); rows are only visited to check their order
    /// (unless the chunk vouches for it) and, for static chunks, to find each column's winner.
    /// A chunk rejected for its row order leaves the store unchanged (its id is not remembered).
    mutating func insert(_ chunk: C) throws(StoreError) -> InsertReport {
        let id = chunk.id
        let hash = id.hash64
        let status = chunks.status(of: id, hash: hash)
        if status == .held {
            writes.duplicatesSkipped += 1
            return InsertReport(outcome: .duplicate, isNewChunkId: false, isFirstChunkWithRows: false)
        }
        let isNew = status == .new
        let numRows = chunk.numRows
        let numComponents = chunk.componentCount
        if numRows <= 0 || numComponents <= 0 {
            writes.droppedEmpty += 1
            var first = false
            if isNew {
                first = chunks.countNewId(rows: numRows)
                chunks.recordDeparture(of: id, hash: hash, .gone)
            }
            return InsertReport(outcome: .droppedEmpty, isNewChunkId: isNew, isFirstChunkWithRows: first)
        }
        // Chunks that checked their row order when they were built (decoded ones) are not checked twice.
        var previous = chunk.rowId(at: 0)
        for row in 1..<(chunk.rowIdsAreKnownAscending ? 1 : numRows) {
            let rowId = chunk.rowId(at: row)
            if rowId < previous {
                throw StoreError(
                    .rowsNotSorted,
                    "chunk \(id.tuid) on \(chunk.entityPath): row \(row) has RowId \(rowId), below row \(row - 1)'s \(previous)"
                )
            }
            previous = rowId
        }
        let first = isNew ? chunks.countNewId(rows: numRows) : false
        let report = InsertReport(outcome: .inserted, isNewChunkId: isNew, isFirstChunkWithRows: first)
        writes.chunksInserted += 1
        if let limits = configuration.compaction, !chunk.isStaticData {
            if limits.mergeBatch > 1 {
                if compactDeferred(chunk, hash: hash, limits) { return report }
            } else if compact(chunk, hash: hash, limits) {
                return report
            }
        }
        place(chunk, hash: hash)
        events.emit(.addition(chunk))
        return report
    }

    /// Indexes a chunk known to be valid and not held (`hash`: its id's ``/IngestCore/ChunkId/hash64``).
    mutating func place(_ chunk: C, hash: UInt64) {
        let isStatic = chunk.isStaticData
        let slot = chunks.hold(chunk, hash: hash, isStatic: isStatic)
        // The entity's index is modified in place (one hash of the path, no copy of the index).
        entities.modify(chunk.entityPath, creating: true) { entity in
            entity.chunkCount += 1
            if isStatic {
                entity.addStatic(chunk, slot: slot)
            } else {
                entity.addTemporal(chunk, slot: slot)
            }
        }
        if !isStatic {
            timelines.add(chunk)
            if configuration.memoryBudget != nil { collector.track(chunk) }
        }
    }

    /// Removes one chunk (``ChunkStore/remove(chunkId:)``): counted, with a deletion event.
    mutating func remove(chunkId: ChunkId) -> C? {
        guard let chunk = unindex(chunkId: chunkId, .gone) else { return nil }
        writes.removed += 1
        events.emit(.deletion(chunk, .removed))
        return chunk
    }

    /// Removes one chunk from every index, remembering how its id went (`fate`). Returns it, or nil
    /// when no chunk with that id is held.
    mutating func unindex(chunkId: ChunkId, _ fate: DepartedIds.Fate) -> C? {
        let hash = chunkId.hash64
        guard let slot = chunks.slot(of: chunkId, hash: hash) else { return nil }
        // A chunk of a waiting group goes (removed, collected or merged): the others stay as they are.
        compactor.dropGroup(containing: chunkId)
        let chunk = chunks.release(slot: slot, hash: hash, fate)
        if chunk.isStaticData {
            let slots = chunks.slots
            entities.modify(chunk.entityPath, creating: false) { entity in
                entity.chunkCount -= 1
                entity.removeStatic(slot: slot, slots: slots)
            }
        } else {
            // The entity's index is modified in place (one hash of the path, no copy of the index).
            var held = false
            entities.modify(chunk.entityPath, creating: false) { entity in
                held = true
                entity.chunkCount -= 1
                entity.removeTemporal(chunk, slot: slot)
            }
            if held { timelines.remove(chunk) }
        }
        return chunk
    }
}
