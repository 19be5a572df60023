import IngestCore

// Compaction on insert (§3.2): which neighbour a new chunk merges with, and the merges themselves.
// The ``Compactor`` keeps the ids and the waiting groups; the chunk table remembers what each
// absorbed id became.
extension StoreIndex {
    /// Merges `chunk` (id hash `hash`) with its best time neighbour if one qualifies; returns whether
    /// it did.
    mutating func compact(_ chunk: C, hash: UInt64, _ limits: ChunkStoreConfiguration.Compaction) -> Bool {
        guard let slot = bestNeighbour(chunk, limits) else { return false }
        let neighbour = chunks[slot]
        let mergedId = freshCompactedId()
        guard let merged = C.concatenated(neighbour, chunk, id: mergedId),
            merged.numRows == neighbour.numRows + chunk.numRows
        else { return false }
        let absorbed = chunks.absorber(mergedId)
        _ = unindex(chunkId: neighbour.id, absorbed)
        place(merged, hash: mergedId.hash64)
        chunks.recordDeparture(of: chunk.id, hash: hash, absorbed)
        compactor.compactions += 1
        events.emit(.deletion(neighbour, .compacted(into: mergedId)))
        events.emit(.addition(merged))
        return true
    }

    /// Deferred compaction (``ChunkStoreConfiguration/Compaction/mergeBatch`` above 1): when `chunk`
    /// qualifies for a merge with a neighbour, it is placed as it is and joins the neighbour's group
    /// (the group of the neighbour's own group if it waits in one), checked against the limits as the
    /// whole group; a full group is merged in one copy. When the group as a whole would break a limit
    /// it is merged first and the neighbour search runs again on the merged chunk, so a merge is
    /// refused only where merging on insert would refuse it. Returns whether it placed `chunk`.
    mutating func compactDeferred(_ chunk: C, hash: UInt64, _ limits: ChunkStoreConfiguration.Compaction) -> Bool {
        for _ in 0..<3 {
            guard let slot = bestNeighbour(chunk, limits) else { return false }
            switch compactor.join(chunk, neighbour: chunks[slot], limits) {
            case .refused:
                return false
            case .groupFull(let head):
                mergeGroup(head: head)
            case .joined(let head, let waiting):
                place(chunk, hash: hash)
                events.emit(.addition(chunk))
                if waiting >= limits.mergeBatch { mergeGroup(head: head) }
                return true
            }
        }
        return false
    }

    /// Merges every waiting group (``ChunkStore/compactPending()``); returns the number of merges.
    @discardableResult
    mutating func mergePendingGroups() -> Int {
        let heads = compactor.waitingHeads
        for head in heads { mergeGroup(head: head) }
        return heads.count
    }

    /// Merges one group into a new chunk in one copy and replaces its chunks by it. When the chunk type
    /// cannot merge them, the group is dropped and its chunks stay as they are.
    private mutating func mergeGroup(head: ChunkId) {
        guard let (ids, group) = compactor.takeGroup(head: head), !group.members.isEmpty else { return }
        var parts: [C] = []
        parts.reserveCapacity(ids.count)
        for id in ids {
            guard let slot = chunks.slot(of: id) else { return }
            parts.append(chunks[slot])
        }
        let mergedId = freshCompactedId()
        guard let merged = C.concatenated(parts, id: mergedId), merged.numRows == group.rows else { return }
        let absorbed = chunks.absorber(mergedId)
        for part in parts {
            _ = unindex(chunkId: part.id, absorbed)
            events.emit(.deletion(part, .compacted(into: mergedId)))
        }
        place(merged, hash: mergedId.hash64)
        compactor.compactions += group.members.count
        events.emit(.addition(merged))
    }

    /// The next compacted chunk id that the store does not know yet (an input chunk could carry an
    /// id with the time half all ones too).
    private mutating func freshCompactedId() -> ChunkId {
        var id = compactor.nextId()
        while chunks.knows(id) { id = compactor.nextId() }
        return id
    }

    /// The slot of `chunk`'s best time neighbour for a merge (see ``Compactor/mergeScore(_:_:bytes:_:)``),
    /// if any.
    private func bestNeighbour(_ chunk: C, _ limits: ChunkStoreConfiguration.Compaction) -> Int32? {
        // Only the temporal index is needed: not copying the whole entity index saves retains.
        guard chunk.timelineCount > 0, let entity = entities.entity(chunk.entityPath) else { return nil }
        let bytes = chunk.approximateByteSize
        var best: (slot: Int32, score: (Int, Int, Int))?
        // The last two slots scored: each timeline meets the same neighbours, and scoring one twice
        // would change nothing (a tie keeps the first), so this only saves work (and an array).
        var recent: (Int32, Int32) = (-1, -1)
        for timeline in 0..<chunk.timelineCount {
            guard let range = chunk.timeRange(timeline: timeline),
                let byComponent = entity.temporal.value(of: chunk.timelineName(at: timeline), guess: timeline),
                !entity.isEmpty(byComponent)
            else { continue }
            for component in 0..<chunk.componentCount {
                guard let position = byComponent.value(of: chunk.componentName(at: component), guess: component) else {
                    continue
                }
                let index = entity.lists[Int(position)]
                let p = index.countStarting(atOrBefore: range.lowerBound)
                for k in max(p - 1, 0)..<min(p + 1, index.entries.count) {
                    let slot = index.entries[k].slot
                    if slot == recent.0 || slot == recent.1 { continue }
                    recent = (slot, recent.0)
                    guard let score = Compactor.mergeScore(chunks[slot], chunk, bytes: bytes, limits)
                    else { continue }
                    if best.map({ $0.score < score }) ?? true { best = (slot, score) }
                }
            }
        }
        return best?.slot
    }
}
