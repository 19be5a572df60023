import IngestCore

/// The store's compaction facet (§3.2): the ids it gives compacted chunks, and the merges that wait
/// (``ChunkStoreConfiguration/Compaction/mergeBatch`` above 1): groups by the id of the neighbour
/// they merge into, every chunk of a group indexed as it is meanwhile. What became of an absorbed id
/// is the chunk table's (``DepartedIds``); which chunks merge is decided by
/// ``StoreIndex`` (`StoreIndex+Compaction.swift`), which sees the entity indexes.
struct Compactor {
    private var nextCompactedId: UInt64 = 0
    /// Waiting groups by the id of their neighbour (head).
    private var groups: [ChunkId: MergeGroup] = [:]
    /// The group (its head's id) of every chunk in `groups`, heads included.
    private var groupOf: [ChunkId: ChunkId] = [:]
    /// Source chunks merged into a stored one (since creation).
    var compactions = 0

    /// Whether merges wait (``ChunkStore/compactPending()`` is then not a no-op).
    var hasWaitingGroups: Bool { !groups.isEmpty }

    /// The heads of the waiting groups.
    var waitingHeads: [ChunkId] { Array(groups.keys) }

    /// The next id for a compacted chunk (time half all ones, so it never meets a logged TUID).
    mutating func nextId() -> ChunkId {
        nextCompactedId += 1
        return ChunkId(timeNs: .max, inc: nextCompactedId)
    }

    /// What ``join(_:neighbour:_:)`` did.
    enum Join {
        /// `chunk` joined the group of `head`, which now has `waiting` members.
        case joined(head: ChunkId, waiting: Int)
        /// The group of `head` as a whole would break a limit: merge it, then look again.
        case groupFull(head: ChunkId)
        /// The pair breaks a limit.
        case refused
    }

    /// Adds `chunk` (about to be indexed as it is) to the group of `neighbour` (or of the group
    /// `neighbour` waits in), created if needed, when the merged chunk would stay within `limits`.
    mutating func join<C: StorableChunk>(
        _ chunk: C, neighbour: C, _ limits: ChunkStoreConfiguration.Compaction
    ) -> Join {
        let head = groupOf[neighbour.id] ?? neighbour.id
        let waiting: Int
        if groups[head] != nil {
            // In place: the group's arrays are not copied.
            guard groups[head]!.add(chunk, limits) else {
                // The pairwise check passed, so the group has waiting chunks.
                return .groupFull(head: head)
            }
            waiting = groups[head]!.members.count
        } else {
            var group = MergeGroup(head: neighbour)
            guard group.add(chunk, limits) else { return .refused }
            groupOf[head] = head
            groups[head] = group
            waiting = 1
        }
        groupOf[chunk.id] = head
        return .joined(head: head, waiting: waiting)
    }

    /// Takes the group of `head` out of the waiting ones.
    /// - Returns: its chunk ids (head first) and its totals, or nil when no such group waits.
    mutating func takeGroup(head: ChunkId) -> (ids: [ChunkId], group: MergeGroup)? {
        guard let group = groups.removeValue(forKey: head) else { return nil }
        let ids = [head] + group.members
        for id in ids { groupOf[id] = nil }
        return (ids, group)
    }

    /// Drops the waiting group that `id` belongs to, if any (its chunk goes: removed or collected);
    /// the group's other chunks stay as they are.
    @inline(__always)
    mutating func dropGroup(containing id: ChunkId) {
        if !groupOf.isEmpty, let head = groupOf[id] { _ = takeGroup(head: head) }
    }

    /// A neighbour's score for a merge with `chunk` (higher is better), or nil when it does not qualify:
    /// exactly the same timelines, and the merged chunk within the row and byte limits. Prefers merges
    /// that stay time-sorted, then neighbours sharing more components, then smaller ones.
    static func mergeScore<C: StorableChunk>(
        _ other: C, _ chunk: C, bytes: Int, _ limits: ChunkStoreConfiguration.Compaction
    ) -> (Int, Int, Int)? {
        guard other.timelineCount == chunk.timelineCount, other.approximateByteSize + bytes <= limits.maxBytes
        else { return nil }
        let rows = other.numRows + chunk.numRows
        if rows > limits.maxRows { return nil }
        // The merged rows (in RowId order) stay time-sorted if both are sorted and one chunk lies wholly
        // after the other in RowId and in time, on every timeline.
        let otherFirst = other.rowId(at: other.numRows - 1) < chunk.rowId(at: 0)
        let chunkFirst = chunk.rowId(at: chunk.numRows - 1) < other.rowId(at: 0)
        var sorted = otherFirst || chunkFirst
        for t in 0..<chunk.timelineCount {
            let name = chunk.timelineName(at: t)
            guard let u = (0..<other.timelineCount).first(where: { other.timelineName(at: $0) == name }) else {
                return nil
            }
            guard sorted else { continue }
            guard chunk.isTimeSorted(timeline: t), other.isTimeSorted(timeline: u),
                let a = other.timeRange(timeline: u), let b = chunk.timeRange(timeline: t)
            else {
                sorted = false
                continue
            }
            sorted = otherFirst ? a.upperBound <= b.lowerBound : b.upperBound <= a.lowerBound
        }
        if !sorted && rows > limits.maxRowsIfUnsorted { return nil }
        var shared = 0
        for c in 0..<chunk.componentCount {
            let name = chunk.componentName(at: c)
            if (0..<other.componentCount).contains(where: { other.componentName(at: $0) == name }) { shared += 1 }
        }
        return (sorted ? 1 : 0, shared - other.componentCount, -rows)
    }
}

/// A neighbour and the chunks waiting to be merged into it, with what the merged chunk would be:
/// rows, bytes (the sum of the parts: merging only drops per-chunk overhead), RowId bounds, and per
/// timeline (the neighbour's order) the time range, and whether its rows would stay time-sorted.
struct MergeGroup {
    var members: [ChunkId] = []
    var rows: Int
    var bytes: Int
    var firstRowId: RowId
    var lastRowId: RowId
    var timelineNames: [String]
    var ranges: [ClosedRange<Int64>?]
    var sorted: Bool

    init<C: StorableChunk>(head: C) {
        rows = head.numRows
        bytes = head.approximateByteSize
        firstRowId = head.rowId(at: 0)
        lastRowId = head.rowId(at: head.numRows - 1)
        timelineNames = (0..<head.timelineCount).map { head.timelineName(at: $0) }
        ranges = (0..<head.timelineCount).map { head.timeRange(timeline: $0) }
        sorted = (0..<head.timelineCount).allSatisfy { head.isTimeSorted(timeline: $0) }
    }

    /// Adds `chunk` if the merged chunk stays within `limits` (the unsorted row limit when its rows
    /// may not be time-sorted, as for a merge on insert); returns whether it did.
    mutating func add<C: StorableChunk>(_ chunk: C, _ limits: ChunkStoreConfiguration.Compaction) -> Bool {
        let newRows = rows + chunk.numRows
        let newBytes = bytes + chunk.approximateByteSize
        guard chunk.timelineCount == timelineNames.count, newRows <= limits.maxRows, newBytes <= limits.maxBytes
        else { return false }
        let first = chunk.rowId(at: 0)
        let last = chunk.rowId(at: chunk.numRows - 1)
        let groupFirst = lastRowId < first
        let chunkFirst = last < firstRowId
        var nowSorted = sorted && (groupFirst || chunkFirst)
        for t in 0..<chunk.timelineCount {
            guard let u = position(of: chunk.timelineName(at: t), guess: t) else { return false }
            guard nowSorted else { continue }
            if chunk.isTimeSorted(timeline: t), let a = ranges[u], let b = chunk.timeRange(timeline: t) {
                nowSorted = groupFirst ? a.upperBound <= b.lowerBound : b.upperBound <= a.lowerBound
            } else {
                nowSorted = false
            }
        }
        if !nowSorted && newRows > limits.maxRowsIfUnsorted { return false }
        for t in 0..<chunk.timelineCount {
            guard let r = chunk.timeRange(timeline: t), let u = position(of: chunk.timelineName(at: t), guess: t)
            else { continue }
            ranges[u] = ranges[u].map { min($0.lowerBound, r.lowerBound)...max($0.upperBound, r.upperBound) } ?? r
        }
        members.append(chunk.id)
        rows = newRows
        bytes = newBytes
        firstRowId = min(firstRowId, first)
        lastRowId = max(lastRowId, last)
        sorted = nowSorted
        return true
    }

    private func position(of name: String, guess: Int) -> Int? {
        guess < timelineNames.count && timelineNames[guess] == name ? guess : timelineNames.firstIndex(of: name)
    }
}
