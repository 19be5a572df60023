/// Store-wide extent of one timeline. `dirty` after a removal touched the minimum or maximum.
struct TimelineExtent {
    var minTime: Int64
    var maxTime: Int64
    var rows: Int
    var dirty = false

    static func empty() -> TimelineExtent { TimelineExtent(minTime: .max, maxTime: .min, rows: 0) }
}

/// The store's timeline facet: the extent and row count of every timeline over the temporal chunks
/// held, by name (an insert confirms the chunk's column position instead of hashing the name). A
/// removal only marks an extent it may have shrunk `dirty`; ``recompute(from:)`` settles them.
struct TimelineExtents {
    private var extents = NamedValues<TimelineExtent>()

    /// Whether a removal may have left an extent too wide.
    var isDirty: Bool { extents.values.contains { $0.dirty } }

    /// Widens the extents of the timelines of a temporal chunk just held.
    @inline(__always)
    mutating func add<C: StorableChunk>(_ chunk: C) {
        let numRows = chunk.numRows
        for timeline in 0..<chunk.timelineCount {
            guard let range = chunk.timeRange(timeline: timeline) else { continue }
            extents.modify(chunk.timelineName(at: timeline), guess: timeline, make: TimelineExtent.empty) { extent in
                extent.minTime = min(extent.minTime, range.lowerBound)
                extent.maxTime = max(extent.maxTime, range.upperBound)
                extent.rows += numRows
            }
        }
    }

    /// Takes a temporal chunk's rows out; an extent it reached is marked dirty.
    mutating func remove<C: StorableChunk>(_ chunk: C) {
        for timeline in 0..<chunk.timelineCount {
            guard let range = chunk.timeRange(timeline: timeline) else { continue }
            extents.modifyIfPresent(chunk.timelineName(at: timeline), guess: timeline) { extent in
                extent.rows -= chunk.numRows
                if range.lowerBound <= extent.minTime || range.upperBound >= extent.maxTime {
                    extent.dirty = true
                }
            }
        }
    }

    /// Recomputes every extent from the chunks held (after removals).
    mutating func recompute<C: StorableChunk>(from slots: [C?]) {
        var fresh = TimelineExtents()
        for case let chunk? in slots where !chunk.isStaticData { fresh.add(chunk) }
        self = fresh
    }

    /// The extents as they are (stale after removals: see ``isDirty``), sorted by name.
    var summaries: [TimelineSummary] {
        extents.names.indices.map { i in
            let e = extents.values[i]
            return TimelineSummary(name: extents.names[i], minTime: e.minTime, maxTime: e.maxTime, rowCount: e.rows)
        }
        .sorted { $0.name < $1.name }
    }
}
