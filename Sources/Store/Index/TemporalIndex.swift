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

    /// The chunk's slot in ``ChunkTable/slots``.
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

/// The chunks of one (entity, timeline), per component: the position of each component's
/// ``ComponentTimeIndex`` in ``EntityIndex/lists``.
typealias TimelineIndex = NamedValues<Int32>
