import IngestCore

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

// The query path: latest-at, range and static answers, and the listings (entities, components,
// timelines). Reads the entity indexes and the chunk table, mutates nothing (the timeline
// summaries excepted, which settle stale extents).
extension StoreIndex {
    // MARK: Queries

    func temporalHit(_ c: RowCandidate) -> CellHit<C> {
        CellHit(
            chunk: chunks[c.slot], row: Int(c.row), component: Int(c.component), rowId: c.rowId,
            time: c.time)
    }

    func staticCell(entity: String, component: String) -> CellHit<C>? {
        guard let winner = entities.entity(entity)?.staticWinners[component] else { return nil }
        return CellHit(
            chunk: chunks[winner.slot], row: Int(winner.row), component: Int(winner.component),
            rowId: winner.rowId, time: nil)
    }

    func latestAt(entity: String, component: String, timeline: String, at t: Int64) -> CellHit<C>? {
        guard let entityIndex = entities.entity(entity) else { return nil }
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
                in: chunks[entry.slot], entry: entry, timeline: timeline, component: component, atOrBefore: t),
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
        guard t0 <= t1, let entityIndex = entities.entity(entity) else { return [] }
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
                in: chunks[entry.slot], entry: entry, timeline: timeline, component: component, from: t0,
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
        guard let entityIndex = entities.entity(entity) else { return [] }
        return Set(entityIndex.staticWinners.keys).union(entityIndex.temporalComponentNames).sorted()
    }

    func timelines(of entity: String) -> [String] {
        guard let entityIndex = entities.entity(entity) else { return [] }
        return entityIndex.timelineNames.sorted()
    }

    func timeRange(of entity: String, timeline: String) -> ClosedRange<Int64>? {
        guard let entityIndex = entities.entity(entity), let byComponent = entityIndex.temporal[timeline] else {
            return nil
        }
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

    /// Every timeline's extent, sorted by name, settled first if removals left it stale.
    mutating func timelineSummaries() -> [TimelineSummary] {
        if timelines.isDirty { timelines.recompute(from: chunks.slots) }
        return timelines.summaries
    }

    /// The paths of the entities with data, in no particular order.
    var entityPaths: [String] { entities.paths }

    /// Every chunk held, in no particular order.
    var allChunks: [C] { chunks.slots.compactMap { $0 } }
}
