import HeapModule
import IngestCore

/// One chunk's presence in one (entity, timeline, component) index: its time range and where to look,
/// in 24 bytes (a tiny chunk has one per timeline and component).
struct TemporalEntry {
    var minTime: Int64
    var maxTime: Int64
    /// The slot (low 31 bits) and whether the times are sorted (high bit).
    private var slotAndSorted: UInt32
    /// The column indexes inside the chunk, ``unknownColumn`` when they do not fit 16 bits.
    private var timelineColumn: UInt16
    private var componentColumn: UInt16

    /// A column index that did not fit: the column is found by name.
    static let unknownColumn = UInt16.max

    init(minTime: Int64, maxTime: Int64, slot: Int32, timeline: Int, component: Int, timeSorted: Bool) {
        precondition(slot >= 0, "negative slot")
        self.minTime = minTime
        self.maxTime = maxTime
        slotAndSorted = UInt32(slot) | (timeSorted ? 1 << 31 : 0)
        timelineColumn = timeline < Int(Self.unknownColumn) ? UInt16(timeline) : Self.unknownColumn
        componentColumn = component < Int(Self.unknownColumn) ? UInt16(component) : Self.unknownColumn
    }

    /// The chunk's slot in ``StoreIndex/slots``.
    var slot: Int32 { Int32(bitPattern: slotAndSorted & 0x7FFF_FFFF) }
    /// Whether the chunk's times on this timeline are non-decreasing in row order.
    var timeSorted: Bool { slotAndSorted >> 31 != 0 }

    /// The timeline's column index inside `chunk` (named `name`).
    @inline(__always)
    func timeline<C: StorableChunk>(in chunk: C, named name: String) -> Int {
        timelineColumn != Self.unknownColumn
            ? Int(timelineColumn) : (0..<chunk.timelineCount).first { chunk.timelineName(at: $0) == name }!
    }

    /// The component's column index inside `chunk` (named `name`).
    @inline(__always)
    func component<C: StorableChunk>(in chunk: C, named name: String) -> Int {
        componentColumn != Self.unknownColumn
            ? Int(componentColumn) : (0..<chunk.componentCount).first { chunk.componentName(at: $0) == name }!
    }
}

/// The chunks of one (entity, timeline, component), ordered by start time, plus the longest span of any
/// of them, which bounds how far back from a time a latest-at or range scan must look.
struct ComponentTimeIndex {
    /// Sorted by `minTime` (ties keep insertion order, which never changes an answer).
    var entries: [TemporalEntry] = []
    /// `maxTime - minTime` of the longest chunk, as an unsigned distance (Int64 spans can exceed Int64.max).
    var maxSpan: UInt64 = 0

    /// The number of entries whose `minTime` is at most `t`.
    func countStarting(atOrBefore t: Int64) -> Int {
        var lo = 0
        var hi = entries.count
        while lo < hi {
            let mid = (lo &+ hi) >> 1
            if entries[mid].minTime <= t { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    mutating func insert(_ entry: TemporalEntry) {
        let span = UInt64(bitPattern: entry.maxTime &- entry.minTime)
        if span > maxSpan { maxSpan = span }
        // Chunks usually arrive in time order: appending is the common case.
        if let last = entries.last, last.minTime > entry.minTime {
            entries.insert(entry, at: countStarting(atOrBefore: entry.minTime))
        } else {
            entries.append(entry)
        }
    }

    /// Removes every entry of `slot`; recomputes the longest span when a longest entry went.
    mutating func remove(slot: Int32) {
        var removedLongest = false
        entries.removeAll { e in
            guard e.slot == slot else { return false }
            if UInt64(bitPattern: e.maxTime &- e.minTime) >= maxSpan { removedLongest = true }
            return true
        }
        // Only the removal of a longest entry can shorten the longest span.
        guard removedLongest else { return }
        maxSpan = 0
        for e in entries {
            let span = UInt64(bitPattern: e.maxTime &- e.minTime)
            if span > maxSpan { maxSpan = span }
        }
    }

    /// Whether an entry starting at `minTime`, scanned after a candidate at `bestTime` was found, can be
    /// skipped along with every earlier-starting entry: it must end before `bestTime`.
    @inline(__always)
    func isOutOfReach(minTime: Int64, before bestTime: Int64) -> Bool {
        bestTime > minTime && UInt64(bitPattern: bestTime &- minTime) > maxSpan
    }
}

/// The static winner of one (entity, component): the non-null cell with the highest RowId.
struct StaticWinner {
    var rowId: RowId
    var slot: Int32
    var row: Int32
    var component: Int32
}

/// Names mapped to positions in an array of values, looked up by a guessed position first: the
/// chunks of a recording list their timelines and components in the same order every time, so an
/// insert usually confirms the guess with a string comparison (identical strings compare by their
/// bits) instead of hashing the name. Values are never removed (an emptied one stays, empty).
struct NamedValues<Value> {
    private(set) var names: [String] = []
    /// Settable in place (never reordered: a position stays valid while the collection lives).
    var values: [Value] = []
    private var positions: [String: Int] = [:]

    /// The position of `name` (created with `make` when absent), trying `guess` first.
    mutating func position(of name: String, guess: Int, make: () -> Value) -> Int {
        if let found = position(of: name, guess: guess) { return found }
        names.append(name)
        values.append(make())
        positions[name] = values.count - 1
        return values.count - 1
    }

    /// The position of `name`, trying `guess` first.
    @inline(__always)
    func position(of name: String, guess: Int) -> Int? {
        if guess >= 0 && guess < names.count && names[guess] == name { return guess }
        return positions[name]
    }

    subscript(name: String) -> Value? { position(of: name, guess: 0).map { values[$0] } }

    /// The value of `name`, trying position `guess` first.
    @inline(__always)
    func value(of name: String, guess: Int) -> Value? { position(of: name, guess: guess).map { values[$0] } }

    /// Runs `body` on the value of `name` (created with `make` when absent), in place.
    @inline(__always)
    mutating func modify(
        _ name: String, guess: Int, make: () -> Value, _ body: (inout Value) -> Void
    ) {
        let p: Int
        if let found = position(of: name, guess: guess) {
            p = found
        } else {
            p = values.count
            names.append(name)
            values.append(make())
            positions[name] = p
        }
        body(&values[p])
    }

    /// Runs `body` on the value of `name` in place, if present.
    mutating func modifyIfPresent(_ name: String, guess: Int, _ body: (inout Value) -> Void) {
        guard let p = position(of: name, guess: guess) else { return }
        body(&values[p])
    }
}

/// The chunks of one (entity, timeline), per component: the position of each component's
/// ``ComponentTimeIndex`` in ``EntityIndex/lists``.
typealias TimelineIndex = NamedValues<Int32>

/// Everything indexed for one entity path.
struct EntityIndex {
    /// The entity path (empty in a free position of ``StoreIndex/entityList``).
    var path: String
    var staticWinners: [String: StaticWinner] = [:]
    /// Slots of the entity's static chunks (to recompute winners after a removal).
    var staticSlots: [Int32] = []
    /// timeline → component → position in ``lists`` (empty lists are kept; see ``timelineNames``).
    var temporal = NamedValues<TimelineIndex>()
    /// The chunks by time of each (timeline, component), flat (one array level to reach on insert).
    var lists: [ComponentTimeIndex] = []
    /// The column layout (``StorableChunk/columnLayoutKey``) of the last temporal chunk indexed, and
    /// for each of its (timeline, component) pairs, timeline-major, the position in ``lists``: a chunk
    /// of the same layout is indexed without comparing a name.
    var layoutKey: (any AnyObject & Sendable)?
    var layoutPositions: [Int32] = []
    var chunkCount = 0

    /// The chunks of (timeline, component), if any were indexed.
    func temporalIndex(timeline: String, component: String) -> ComponentTimeIndex? {
        temporal[timeline]?[component].map { lists[Int($0)] }
    }

    /// Whether no component of this timeline holds an entry.
    func isEmpty(_ byComponent: TimelineIndex) -> Bool {
        byComponent.values.allSatisfy { lists[Int($0)].entries.isEmpty }
    }

    /// The timelines that hold entries.
    var timelineNames: [String] {
        temporal.names.indices.filter { !isEmpty(temporal.values[$0]) }.map { temporal.names[$0] }
    }

    /// The names of the components that hold entries on some timeline.
    var temporalComponentNames: Set<String> {
        var names = Set<String>()
        for byComponent in temporal.values {
            for (k, p) in byComponent.values.enumerated() where !lists[Int(p)].entries.isEmpty {
                names.insert(byComponent.names[k])
            }
        }
        return names
    }
}

/// Store-wide extent of one timeline. `dirty` after a removal touched the minimum or maximum.
struct TimelineExtent {
    var minTime: Int64
    var maxTime: Int64
    var rows: Int
    var dirty = false
}

/// A candidate row while answering a query.
struct RowCandidate: Comparable {
    var time: Int64
    var rowId: RowId
    var slot: Int32
    var row: Int32
    var component: Int32

    static func < (a: RowCandidate, b: RowCandidate) -> Bool { (a.time, a.rowId) < (b.time, b.rowId) }
    static func == (a: RowCandidate, b: RowCandidate) -> Bool { a.time == b.time && a.rowId == b.rowId }
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

/// The store's state, not thread-safe: ``ChunkStore`` guards it with its lock.
struct StoreIndex<C: StorableChunk> {
    /// Chunks by slot; nil for free slots. (A decoded ``Chunks/Chunk`` is one reference: storing it
    /// as it is costs no box.)
    var slots: [C?] = []
    var freeSlots: [Int32] = []
    /// Chunk id → slot (the table compares ids through `slots`).
    var slotTable = PositionTable()
    /// The indexes of the entities with data, by position; emptied positions are reused
    /// (`freeEntities`) and hold an empty index meanwhile.
    var entityList: [EntityIndex] = []
    var freeEntities: [Int32] = []
    /// Entity path → position in `entityList` (paths compared through the list).
    var entityTable = PositionTable()
    /// Store-wide extent of each timeline (by name; an insert confirms the chunk's column position).
    var timelines = NamedValues<TimelineExtent>()
    var stats = ChunkStoreStatistics()
    var configuration = ChunkStoreConfiguration()
    /// Absorbed chunk id → the compacted chunk that absorbed it (which may itself be absorbed later):
    /// follow the chain to find whether its rows are still held.
    var absorbedInto: [ChunkId: ChunkId] = [:]
    var nextCompactedId: UInt64 = 0
    /// Deferred merges (``ChunkStoreConfiguration/Compaction/mergeBatch`` above 1): groups by the id
    /// of the neighbour they merge into; every chunk of a group is indexed as it is meanwhile.
    var mergeGroups: [ChunkId: MergeGroup] = [:]
    /// The group (its neighbour's id) of every chunk in ``mergeGroups``, neighbours included.
    var mergeGroupOf: [ChunkId: ChunkId] = [:]
    /// Temporal chunks by first RowId, for the collector (only kept under a budget); entries of chunks
    /// no longer held are skipped when popped.
    var gcHeap = Heap<GCEntry>()
    var gcLog: [GarbageCollectionRecord] = []
    /// The events of the current mutation, when someone listens (``recordEvents``).
    var pendingEvents: [StoreEvent<C>.Kind] = []
    var recordEvents = false

    @inline(__always)
    mutating func emit(_ kind: @autoclosure () -> StoreEvent<C>.Kind) {
        stats.eventsEmitted += 1
        if recordEvents { pendingEvents.append(kind()) }
    }

    /// The slot of the chunk with this id, if held.
    @inline(__always)
    func slot(of id: ChunkId) -> Int32? {
        slots.withUnsafeBufferPointer { slots in
            slotTable.find(hash: id.hash64) { slots[Int($0)]!.id == id }
        }
    }

    /// The position of the entity `path` in `entityList`, if it has data.
    @inline(__always)
    func entityPosition(_ path: String, hash: UInt64) -> Int32? {
        entityTable.find(hash: hash) { entityList[Int($0)].path == path }
    }

    /// The index of the entity `path`, if it has data.
    func entity(_ path: String) -> EntityIndex? {
        entityPosition(path, hash: ByteHasher.hash(path)).map { entityList[Int($0)] }
    }

    /// The paths of the entities with data, in no particular order.
    var entityPaths: [String] { entityTable.positions.map { entityList[Int($0)].path } }

    /// Whether `id` was absorbed by a compacted chunk that is still held.
    mutating func isAbsorbedAndHeld(_ id: ChunkId) -> Bool {
        guard var holder = absorbedInto[id] else { return false }
        while slot(of: holder) == nil {
            guard let next = absorbedInto[holder] else { return false }
            holder = next
        }
        absorbedInto[id] = holder  // path compression
        return true
    }

    // MARK: Insert

    /// Indexes one chunk. Work is per timeline × component (one array insert each, name look-ups only
    /// for a column layout the entity did not see last); rows are only visited to check their order
    /// (unless the chunk vouches for it) and, for static chunks, to find each column's winner.
    mutating func insert(_ chunk: C) throws(StoreError) -> InsertOutcome {
        if slot(of: chunk.id) != nil || (!absorbedInto.isEmpty && isAbsorbedAndHeld(chunk.id)) {
            stats.duplicatesSkipped += 1
            return .duplicate
        }
        let numRows = chunk.numRows
        let numComponents = chunk.componentCount
        if numRows <= 0 || numComponents <= 0 {
            stats.droppedEmpty += 1
            return .droppedEmpty
        }
        // Chunks that checked their row order when they were built (decoded ones) are not checked twice.
        var previous = chunk.rowId(at: 0)
        for row in 1..<(chunk.rowIdsAreKnownAscending ? 1 : numRows) {
            let rowId = chunk.rowId(at: row)
            if rowId < previous {
                throw StoreError(
                    .rowsNotSorted,
                    "chunk \(chunk.id.tuid) on \(chunk.entityPath): row \(row) has RowId \(rowId), below row \(row - 1)'s \(previous)"
                )
            }
            previous = rowId
        }
        stats.chunksInserted += 1
        if let limits = configuration.compaction, !chunk.isStaticData {
            if limits.mergeBatch > 1 {
                if compactDeferred(chunk, limits) { return .inserted }
            } else if compact(chunk, limits) {
                return .inserted
            }
        }
        place(chunk)
        emit(.addition(chunk))
        return .inserted
    }

    /// Indexes a chunk known to be valid and new.
    mutating func place(_ chunk: C) {
        let numRows = chunk.numRows
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            slots[Int(free)] = chunk
        } else {
            slot = Int32(slots.count)
            slots.append(chunk)
        }
        slotTable.insert(hash: chunk.id.hash64, position: slot)

        let isStatic = chunk.isStaticData
        var isNewEntity = false
        // The entity's index is modified in place (one hash of the path, no copy of the index).
        modifyEntity(chunk.entityPath, creating: true) { entity in
            isNewEntity = entity.chunkCount == 0
            entity.chunkCount += 1
            if isStatic {
                entity.staticSlots.append(slot)
                Self.considerStaticWinners(chunk, slot: slot, into: &entity)
            } else {
                Self.indexTemporal(chunk, slot: slot, into: &entity)
            }
        }
        if isNewEntity { stats.entities += 1 }
        if isStatic {
            stats.staticChunks += 1
        } else {
            for timeline in 0..<chunk.timelineCount {
                guard let range = chunk.timeRange(timeline: timeline) else { continue }
                timelines.modify(chunk.timelineName(at: timeline), guess: timeline, make: Self.emptyExtent) { extent in
                    extent.minTime = min(extent.minTime, range.lowerBound)
                    extent.maxTime = max(extent.maxTime, range.upperBound)
                    extent.rows += numRows
                }
            }
        }
        stats.chunks += 1
        stats.rows += numRows
        stats.approximateBytes += chunk.approximateByteSize
        if configuration.memoryBudget != nil && !isStatic {
            gcHeap.insert(GCEntry(firstRowId: chunk.rowId(at: 0), chunkId: chunk.id))
        }
    }

    // MARK: Compaction

    /// Merges `chunk` with its best time neighbour if one qualifies (§3.2); returns whether it did.
    private mutating func compact(_ chunk: C, _ limits: ChunkStoreConfiguration.Compaction) -> Bool {
        guard let slot = bestNeighbour(chunk, limits) else { return false }
        let neighbour = slots[Int(slot)]!
        nextCompactedId += 1
        let mergedId = ChunkId(timeNs: .max, inc: nextCompactedId)
        guard let merged = C.concatenated(neighbour, chunk, id: mergedId),
            merged.numRows == neighbour.numRows + chunk.numRows
        else { return false }
        _ = unindex(chunkId: neighbour.id)
        place(merged)
        absorbedInto[neighbour.id] = mergedId
        absorbedInto[chunk.id] = mergedId
        stats.compactions += 1
        emit(.deletion(neighbour, .compacted(into: mergedId)))
        emit(.addition(merged))
        return true
    }

    /// The slot of `chunk`'s best time neighbour for a merge (see ``mergeScore(_:_:bytes:_:)``), if any.
    private func bestNeighbour(_ chunk: C, _ limits: ChunkStoreConfiguration.Compaction) -> Int32? {
        // Only the temporal index is needed: not copying the whole entity index saves retains.
        guard chunk.timelineCount > 0, let entity = entity(chunk.entityPath) else { return nil }
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
                    guard let score = Self.mergeScore(slots[Int(slot)]!, chunk, bytes: bytes, limits)
                    else { continue }
                    if best.map({ $0.score < score }) ?? true { best = (slot, score) }
                }
            }
        }
        return best?.slot
    }

    /// Deferred compaction (``ChunkStoreConfiguration/Compaction/mergeBatch`` above 1): when `chunk`
    /// qualifies for a merge with a neighbour, it is placed as it is and joins the neighbour's group
    /// (the group of the neighbour's own group if it waits in one), checked against the limits as the
    /// whole group; a full group is merged in one copy. When the group as a whole would break a limit
    /// it is merged first and the neighbour search runs again on the merged chunk, so a merge is
    /// refused only where merging on insert would refuse it. Returns whether it placed `chunk`.
    private mutating func compactDeferred(_ chunk: C, _ limits: ChunkStoreConfiguration.Compaction) -> Bool {
        for _ in 0..<3 {
            guard let slot = bestNeighbour(chunk, limits) else { return false }
            let neighbour = slots[Int(slot)]!
            let head = mergeGroupOf[neighbour.id] ?? neighbour.id
            let waiting: Int
            if mergeGroups[head] != nil {
                // In place: the group's arrays are not copied.
                guard mergeGroups[head]!.add(chunk, limits) else {
                    // The pairwise check passed, so the group has waiting chunks: merge them, look again.
                    mergeGroup(head: head)
                    continue
                }
                waiting = mergeGroups[head]!.members.count
            } else {
                var group = MergeGroup(head: neighbour)
                guard group.add(chunk, limits) else { return false }
                mergeGroupOf[head] = head
                mergeGroups[head] = group
                waiting = 1
            }
            mergeGroupOf[chunk.id] = head
            place(chunk)
            emit(.addition(chunk))
            if waiting >= limits.mergeBatch { mergeGroup(head: head) }
            return true
        }
        return false
    }

    /// Merges every waiting group (``ChunkStore/compactPending()``); returns the number of merges.
    @discardableResult
    mutating func mergePendingGroups() -> Int {
        let heads = Array(mergeGroups.keys)
        for head in heads { mergeGroup(head: head) }
        return heads.count
    }

    /// Merges one group into a new chunk in one copy and replaces its chunks by it. When the chunk type
    /// cannot merge them, the group is dropped and its chunks stay as they are.
    private mutating func mergeGroup(head: ChunkId) {
        guard let group = mergeGroups.removeValue(forKey: head) else { return }
        let ids = [head] + group.members
        for id in ids { mergeGroupOf[id] = nil }
        guard !group.members.isEmpty else { return }
        var chunks: [C] = []
        chunks.reserveCapacity(ids.count)
        for id in ids {
            guard let slot = slot(of: id), let chunk = slots[Int(slot)] else { return }
            chunks.append(chunk)
        }
        nextCompactedId += 1
        let mergedId = ChunkId(timeNs: .max, inc: nextCompactedId)
        guard let merged = C.concatenated(chunks, id: mergedId), merged.numRows == group.rows else { return }
        for chunk in chunks {
            _ = unindex(chunkId: chunk.id)
            absorbedInto[chunk.id] = mergedId
            emit(.deletion(chunk, .compacted(into: mergedId)))
        }
        place(merged)
        stats.compactions += group.members.count
        emit(.addition(merged))
    }

    /// A neighbour's score for a merge with `chunk` (higher is better), or nil when it does not qualify:
    /// exactly the same timelines, and the merged chunk within the row and byte limits. Prefers merges
    /// that stay time-sorted, then neighbours sharing more components, then smaller ones.
    private static func mergeScore(
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

    // MARK: Garbage collection

    /// Drops whole temporal chunks, smallest first RowId first, until chunk bytes plus external bytes fit
    /// the budget (§3.3). Static chunks are never dropped.
    /// Drops temporal chunks, oldest first, while the chunks' bytes plus the external and `queued`
    /// bytes exceed the budget.
    mutating func collectGarbageIfNeeded(queued: Int) {
        guard let budget = configuration.memoryBudget else { return }
        let before = stats.approximateBytes + stats.externalBytes + queued
        guard before > budget else { return }
        var record = GarbageCollectionRecord(
            firstEventId: stats.eventsEmitted + 1, afterInserts: stats.chunksInserted, bytesBefore: before,
            bytesAfter: before, budget: budget, chunksDropped: 0, rowsDropped: 0, bytesDropped: 0)
        while stats.approximateBytes + stats.externalBytes + queued > budget, let entry = gcHeap.popMin() {
            guard let slot = slot(of: entry.chunkId), let held = slots[Int(slot)],
                held.rowId(at: 0) == entry.firstRowId, !held.isStaticData
            else { continue }
            let chunk = unindex(chunkId: entry.chunkId)!
            let bytes = chunk.approximateByteSize
            record.chunksDropped += 1
            record.rowsDropped += chunk.numRows
            record.bytesDropped += bytes
            if record.oldestDroppedRowId == nil { record.oldestDroppedRowId = entry.firstRowId }
            record.newestDroppedRowId = entry.firstRowId
            emit(.deletion(chunk, .garbageCollected))
        }
        if record.chunksDropped == 0 { record.firstEventId = 0 }
        record.bytesAfter = stats.approximateBytes + stats.externalBytes + queued
        stats.garbageCollections += 1
        stats.chunksCollected += record.chunksDropped
        stats.rowsCollected += record.rowsDropped
        stats.bytesCollected += record.bytesDropped
        gcLog.append(record)
        if gcLog.count > 256 { gcLog.removeFirst(gcLog.count - 128) }
        // Stale entries (chunks compacted away or removed) pile up: rebuild when they dominate.
        if gcHeap.count > 2 * stats.chunks + 1024 {
            gcHeap = Heap(
                slots.compactMap { held in
                    held.flatMap {
                        $0.isStaticData ? nil : GCEntry(firstRowId: $0.rowId(at: 0), chunkId: $0.id)
                    }
                })
        }
    }

    /// Updates the per-component static winners with the chunk's highest-RowId non-null cells.
    private static func considerStaticWinners(_ chunk: C, slot: Int32, into entity: inout EntityIndex) {
        for component in 0..<chunk.componentCount {
            // Rows are in RowId order: the last non-null row is the chunk's best for this column.
            var row = chunk.numRows - 1
            while row >= 0 && chunk.isNull(component: component, row: row) { row -= 1 }
            guard row >= 0 else { continue }
            let rowId = chunk.rowId(at: row)
            let candidate = StaticWinner(rowId: rowId, slot: slot, row: Int32(row), component: Int32(component))
            let name = chunk.componentName(at: component)
            if let current = entity.staticWinners[name], current.rowId >= rowId { continue }
            entity.staticWinners[name] = candidate
        }
    }

    /// Adds one entry per (timeline, component) of a temporal chunk.
    private static func indexTemporal(_ chunk: C, slot: Int32, into entity: inout EntityIndex) {
        let numTimelines = chunk.timelineCount
        let numComponents = chunk.componentCount
        let key = chunk.columnLayoutKey
        if key == nil || key !== entity.layoutKey {
            // Resolve the pairs by name (creating their indexes), and remember them for this layout.
            var positions: [Int32] = []
            positions.reserveCapacity(numTimelines * numComponents)
            for timeline in 0..<numTimelines {
                let t = entity.temporal.position(
                    of: chunk.timelineName(at: timeline), guess: timeline, make: { TimelineIndex() })
                for component in 0..<numComponents {
                    let next = Int32(entity.lists.count)
                    let c = entity.temporal.values[t].position(
                        of: chunk.componentName(at: component), guess: component, make: { next })
                    let p = entity.temporal.values[t].values[c]
                    if p == next { entity.lists.append(ComponentTimeIndex()) }
                    positions.append(p)
                }
            }
            entity.layoutKey = key
            entity.layoutPositions = positions
        }
        for timeline in 0..<numTimelines {
            guard let range = chunk.timeRange(timeline: timeline) else { continue }
            let sorted = chunk.isTimeSorted(timeline: timeline)
            for component in 0..<numComponents {
                let entry = TemporalEntry(
                    minTime: range.lowerBound, maxTime: range.upperBound, slot: slot,
                    timeline: timeline, component: component, timeSorted: sorted)
                entity.lists[Int(entity.layoutPositions[timeline * numComponents + component])].insert(entry)
            }
        }
    }

    private static func emptyExtent() -> TimelineExtent { TimelineExtent(minTime: .max, maxTime: .min, rows: 0) }

    /// Runs `body` on the index of entity `path` in place (one hash of the path, no copy of the
    /// index); creates it when absent and `creating`, else does nothing. An index left without chunks
    /// is removed.
    @inline(__always)
    private mutating func modifyEntity(_ path: String, creating: Bool, _ body: (inout EntityIndex) -> Void) {
        let hash = ByteHasher.hash(path)
        let position: Int32
        if let found = entityPosition(path, hash: hash) {
            position = found
        } else {
            guard creating else { return }
            if let free = freeEntities.popLast() {
                position = free
                entityList[Int(free)] = EntityIndex(path: path)
            } else {
                position = Int32(entityList.count)
                entityList.append(EntityIndex(path: path))
            }
            entityTable.insert(hash: hash, position: position)
        }
        body(&entityList[Int(position)])
        if entityList[Int(position)].chunkCount == 0 {
            entityTable.remove(hash: hash, position: position)
            entityList[Int(position)] = EntityIndex(path: "")
            freeEntities.append(position)
        }
    }


    // MARK: Remove

    /// Removes one chunk (``ChunkStore/remove(chunkId:)``): counted, with a deletion event.
    mutating func remove(chunkId: ChunkId) -> C? {
        guard let chunk = unindex(chunkId: chunkId) else { return nil }
        stats.removed += 1
        emit(.deletion(chunk, .removed))
        return chunk
    }

    /// Removes one chunk from every index. Returns it, or nil when the id is unknown.
    mutating func unindex(chunkId: ChunkId) -> C? {
        guard let slot = slot(of: chunkId), let chunk = slots[Int(slot)] else { return nil }
        slotTable.remove(hash: chunkId.hash64, position: slot)
        if !mergeGroupOf.isEmpty, let head = mergeGroupOf[chunkId], let group = mergeGroups.removeValue(forKey: head) {
            // A chunk of a waiting group goes (removed or collected): the others stay as they are.
            for id in [head] + group.members { mergeGroupOf[id] = nil }
        }
        slots[Int(slot)] = nil
        freeSlots.append(slot)
        let path = chunk.entityPath
        if chunk.isStaticData {
            let hash = ByteHasher.hash(path)
            if let position = entityPosition(path, hash: hash) {
                // Taken out of the list (so it is modified without a copy) while the winners are recomputed.
                var entity = entityList[Int(position)]
                entityList[Int(position)] = EntityIndex(path: "")
                entity.chunkCount -= 1
                entity.staticSlots.removeAll { $0 == slot }
                stats.staticChunks -= 1
                if entity.staticWinners.values.contains(where: { $0.slot == slot }) {
                    entity.staticWinners.removeAll()
                    for other in entity.staticSlots {
                        if let otherChunk = slots[Int(other)] {
                            Self.considerStaticWinners(otherChunk, slot: other, into: &entity)
                        }
                    }
                }
                if entity.chunkCount > 0 {
                    entityList[Int(position)] = entity
                } else {
                    entityTable.remove(hash: hash, position: position)
                    freeEntities.append(position)
                    stats.entities -= 1
                }
            }
        } else {
            // The entity's index is modified in place (one hash of the path, no copy of the index).
            var held = false
            var emptied = false
            modifyEntity(path, creating: false) { entity in
                held = true
                entity.chunkCount -= 1
                emptied = entity.chunkCount == 0
                for timeline in 0..<chunk.timelineCount {
                    guard let byComponent = entity.temporal.value(of: chunk.timelineName(at: timeline), guess: timeline)
                    else { continue }
                    for component in 0..<chunk.componentCount {
                        if let p = byComponent.value(of: chunk.componentName(at: component), guess: component) {
                            entity.lists[Int(p)].remove(slot: slot)
                        }
                    }
                }
            }
            if emptied { stats.entities -= 1 }
            if held {
                for timeline in 0..<chunk.timelineCount {
                    guard let range = chunk.timeRange(timeline: timeline) else { continue }
                    timelines.modifyIfPresent(chunk.timelineName(at: timeline), guess: timeline) { extent in
                        extent.rows -= chunk.numRows
                        if range.lowerBound <= extent.minTime || range.upperBound >= extent.maxTime {
                            extent.dirty = true
                        }
                    }
                }
            }
        }
        stats.chunks -= 1
        stats.rows -= chunk.numRows
        stats.approximateBytes -= chunk.approximateByteSize
        return chunk
    }

    // MARK: Queries

    func temporalHit(_ c: RowCandidate) -> CellHit<C> {
        CellHit(
            chunk: slots[Int(c.slot)]!, row: Int(c.row), component: Int(c.component), rowId: c.rowId,
            time: c.time)
    }

    func staticCell(entity: String, component: String) -> CellHit<C>? {
        guard let winner = self.entity(entity)?.staticWinners[component] else { return nil }
        return CellHit(
            chunk: slots[Int(winner.slot)]!, row: Int(winner.row), component: Int(winner.component),
            rowId: winner.rowId, time: nil)
    }

    func latestAt(entity: String, component: String, timeline: String, at t: Int64) -> CellHit<C>? {
        guard let entityIndex = self.entity(entity) else { return nil }
        if entityIndex.staticWinners[component] != nil {
            return staticCell(entity: entity, component: component)
        }
        guard let index = entityIndex.temporalIndex(timeline: timeline, component: component) else { return nil }
        var best: RowCandidate?
        var i = index.countStarting(atOrBefore: t)
        while i > 0 {
            i -= 1
            let entry = index.entries[i]
            if let b = best {
                if index.isOutOfReach(minTime: entry.minTime, before: b.time) { break }
                if entry.maxTime < b.time { continue }
            }
            if let candidate = Self.latestRow(
                in: slots[Int(entry.slot)]!, entry: entry, timeline: timeline, component: component, atOrBefore: t),
                best.map({ $0 < candidate }) ?? true
            {
                best = candidate
            }
        }
        return best.map { temporalHit($0) }
    }

    /// The row with the greatest (time, RowId) at or before `t` whose cell is not null.
    private static func latestRow(
        in chunk: C, entry: TemporalEntry, timeline timelineName: String, component componentName: String,
        atOrBefore t: Int64
    ) -> RowCandidate? {
        let timeline = entry.timeline(in: chunk, named: timelineName)
        let component = entry.component(in: chunk, named: componentName)
        let numRows = chunk.numRows
        var bestRow = -1
        var bestTime = Int64.min
        if entry.timeSorted {
            // Times ascend with rows, and rows with RowIds: the last eligible row is the greatest.
            var row = entry.maxTime <= t ? numRows : upperBound(chunk, timeline: timeline, numRows: numRows, t)
            row -= 1
            while row >= 0 && chunk.isNull(component: component, row: row) { row -= 1 }
            guard row >= 0 else { return nil }
            bestRow = row
            bestTime = chunk.time(timeline: timeline, row: row)
        } else {
            for row in 0..<numRows {
                let time = chunk.time(timeline: timeline, row: row)
                // `>=`: at equal times a later row has the higher RowId.
                if time <= t && (bestRow < 0 || time >= bestTime) && !chunk.isNull(component: component, row: row) {
                    bestRow = row
                    bestTime = time
                }
            }
            guard bestRow >= 0 else { return nil }
        }
        return RowCandidate(
            time: bestTime, rowId: chunk.rowId(at: bestRow), slot: entry.slot, row: Int32(bestRow),
            component: Int32(component))
    }

    /// The first row whose time is greater than `t` (rows sorted by time).
    private static func upperBound(_ chunk: C, timeline: Int, numRows: Int, _ t: Int64) -> Int {
        var lo = 0
        var hi = numRows
        while lo < hi {
            let mid = (lo &+ hi) >> 1
            if chunk.time(timeline: timeline, row: mid) <= t { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The first row whose time is at least `t` (rows sorted by time).
    private static func lowerBound(_ chunk: C, timeline: Int, numRows: Int, _ t: Int64) -> Int {
        var lo = 0
        var hi = numRows
        while lo < hi {
            let mid = (lo &+ hi) >> 1
            if chunk.time(timeline: timeline, row: mid) < t { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    func range(
        entity: String, component: String, timeline: String, from t0: Int64, through t1: Int64
    )
        -> [CellHit<C>]
    {
        guard t0 <= t1, let entityIndex = self.entity(entity) else { return [] }
        // Static data shadows the temporal rows of the same entity+component, in ranges too.
        if entityIndex.staticWinners[component] != nil { return [] }
        guard let index = entityIndex.temporalIndex(timeline: timeline, component: component) else { return [] }
        var rows: [RowCandidate] = []
        var i = index.countStarting(atOrBefore: t1)
        while i > 0 {
            i -= 1
            let entry = index.entries[i]
            if index.isOutOfReach(minTime: entry.minTime, before: t0) { break }
            if entry.maxTime < t0 { continue }
            Self.collectRows(
                in: slots[Int(entry.slot)]!, entry: entry, timeline: timeline, component: component, from: t0,
                through: t1, into: &rows)
        }
        rows.sort()
        return rows.map { temporalHit($0) }
    }

    /// Appends the rows of one chunk with a time in `t0...t1` and a non-null cell.
    private static func collectRows(
        in chunk: C, entry: TemporalEntry, timeline timelineName: String, component componentName: String,
        from t0: Int64, through t1: Int64, into rows: inout [RowCandidate]
    ) {
        let tl = entry.timeline(in: chunk, named: timelineName)
        let component = entry.component(in: chunk, named: componentName)
        let numRows = chunk.numRows
        var start = 0
        var end = numRows
        if entry.timeSorted {
            if entry.minTime < t0 { start = lowerBound(chunk, timeline: tl, numRows: numRows, t0) }
            if entry.maxTime > t1 { end = upperBound(chunk, timeline: tl, numRows: numRows, t1) }
        }
        var row = start
        while row < end {
            let time = chunk.time(timeline: tl, row: row)
            if time >= t0 && time <= t1 && !chunk.isNull(component: component, row: row) {
                rows.append(
                    RowCandidate(
                        time: time, rowId: chunk.rowId(at: row), slot: entry.slot, row: Int32(row),
                        component: Int32(component)))
            }
            row += 1
        }
    }

    // MARK: Catalogue

    func components(of entity: String) -> [String] {
        guard let entityIndex = self.entity(entity) else { return [] }
        return Set(entityIndex.staticWinners.keys).union(entityIndex.temporalComponentNames).sorted()
    }

    func timelines(of entity: String) -> [String] {
        guard let entityIndex = self.entity(entity) else { return [] }
        return entityIndex.timelineNames.sorted()
    }

    func timeRange(of entity: String, timeline: String) -> ClosedRange<Int64>? {
        guard let entityIndex = self.entity(entity), let byComponent = entityIndex.temporal[timeline] else { return nil }
        var lo = Int64.max
        var hi = Int64.min
        for p in byComponent.values {
            let index = entityIndex.lists[Int(p)]
            guard let first = index.entries.first else { continue }
            lo = min(lo, first.minTime)
            for entry in index.entries { hi = max(hi, entry.maxTime) }
        }
        return lo <= hi ? lo...hi : nil
    }

    mutating func timelineSummaries() -> [TimelineSummary] {
        if timelines.values.contains(where: { $0.dirty }) { recomputeTimelineExtents() }
        return currentTimelineSummaries()
    }

    /// The timeline extents as they are (stale after removals: see ``timelineSummaries()``), sorted by name.
    func currentTimelineSummaries() -> [TimelineSummary] {
        timelines.names.indices.map { i in
            let e = timelines.values[i]
            return TimelineSummary(name: timelines.names[i], minTime: e.minTime, maxTime: e.maxTime, rowCount: e.rows)
        }
        .sorted { $0.name < $1.name }
    }

    /// Recomputes every timeline's extent from the chunks held (after removals).
    mutating func recomputeTimelineExtents() {
        var fresh = NamedValues<TimelineExtent>()
        for case let chunk? in slots where !chunk.isStaticData {
            for timeline in 0..<chunk.timelineCount {
                guard let range = chunk.timeRange(timeline: timeline) else { continue }
                fresh.modify(chunk.timelineName(at: timeline), guess: timeline, make: Self.emptyExtent) { extent in
                    extent.minTime = min(extent.minTime, range.lowerBound)
                    extent.maxTime = max(extent.maxTime, range.upperBound)
                    extent.rows += chunk.numRows
                }
            }
        }
        timelines = fresh
    }
}

/// A temporal chunk in the collector's queue, ordered by its first (smallest) RowId.
struct GCEntry: Comparable {
    var firstRowId: RowId
    var chunkId: ChunkId
    static func < (a: GCEntry, b: GCEntry) -> Bool { (a.firstRowId, a.chunkId) < (b.firstRowId, b.chunkId) }
}
