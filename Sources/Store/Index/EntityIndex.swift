import IngestCore

/// The static winner of one (entity, component): the non-null cell with the highest RowId.
struct StaticWinner {
    var rowId: RowId
    var slot: Int32
    var row: Int32
    var component: Int32
}

/// Everything indexed for one entity path: its static winners and, per (timeline, component), its
/// temporal chunks by time. Chunks are referred to by their slot in ``ChunkTable/slots``.
struct EntityIndex {
    /// The entity path (empty in a free position of ``EntityIndexes``).
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

    // MARK: Static chunks

    /// Indexes a static chunk held in `slot`: updates the per-component winners with its
    /// highest-RowId non-null cells.
    mutating func addStatic<C: StorableChunk>(_ chunk: C, slot: Int32) {
        staticSlots.append(slot)
        considerStaticWinners(chunk, slot: slot)
    }

    /// Forgets the static chunk in `slot`; when it held a winner, recomputes the winners from the
    /// entity's other static chunks (found in `slots`).
    mutating func removeStatic<C: StorableChunk>(slot: Int32, slots: [C?]) {
        staticSlots.removeAll { $0 == slot }
        guard staticWinners.values.contains(where: { $0.slot == slot }) else { return }
        staticWinners.removeAll()
        for other in staticSlots {
            if let otherChunk = slots[Int(other)] { considerStaticWinners(otherChunk, slot: other) }
        }
    }

    /// Updates the per-component static winners with the chunk's highest-RowId non-null cells.
    private mutating func considerStaticWinners<C: StorableChunk>(_ chunk: C, slot: Int32) {
        for component in 0..<chunk.componentCount {
            // Rows are in RowId order: the last non-null row is the chunk's best for this column.
            var row = chunk.numRows - 1
            while row >= 0 && chunk.isNull(component: component, row: row) { row -= 1 }
            guard row >= 0 else { continue }
            let rowId = chunk.rowId(at: row)
            let candidate = StaticWinner(rowId: rowId, slot: slot, row: Int32(row), component: Int32(component))
            let name = chunk.componentName(at: component)
            if let current = staticWinners[name], current.rowId >= rowId { continue }
            staticWinners[name] = candidate
        }
    }

    // MARK: Temporal chunks

    /// Adds one entry per (timeline, component) of a temporal chunk held in `slot`.
    mutating func addTemporal<C: StorableChunk>(_ chunk: C, slot: Int32) {
        let numTimelines = chunk.timelineCount
        let numComponents = chunk.componentCount
        let key = chunk.columnLayoutKey
        if key == nil || key !== layoutKey {
            // Resolve the pairs by name (creating their indexes), and remember them for this layout.
            var positions: [Int32] = []
            positions.reserveCapacity(numTimelines * numComponents)
            for timeline in 0..<numTimelines {
                let t = temporal.position(
                    of: chunk.timelineName(at: timeline), guess: timeline, make: { TimelineIndex() })
                for component in 0..<numComponents {
                    let next = Int32(lists.count)
                    let c = temporal.values[t].position(
                        of: chunk.componentName(at: component), guess: component, make: { next })
                    let p = temporal.values[t].values[c]
                    if p == next { lists.append(ComponentTimeIndex()) }
                    positions.append(p)
                }
            }
            layoutKey = key
            layoutPositions = positions
        }
        for timeline in 0..<numTimelines {
            guard let range = chunk.timeRange(timeline: timeline) else { continue }
            let sorted = chunk.isTimeSorted(timeline: timeline)
            for component in 0..<numComponents {
                let entry = TemporalEntry(
                    minTime: range.lowerBound, maxTime: range.upperBound, slot: slot,
                    timeline: timeline, component: component, timeSorted: sorted)
                lists[Int(layoutPositions[timeline * numComponents + component])].insert(entry)
            }
        }
    }

    /// Removes the entries of the temporal chunk held in `slot`.
    mutating func removeTemporal<C: StorableChunk>(_ chunk: C, slot: Int32) {
        for timeline in 0..<chunk.timelineCount {
            guard let byComponent = temporal.value(of: chunk.timelineName(at: timeline), guess: timeline)
            else { continue }
            for component in 0..<chunk.componentCount {
                if let p = byComponent.value(of: chunk.componentName(at: component), guess: component) {
                    lists[Int(p)].remove(slot: slot)
                }
            }
        }
    }
}
