import IngestCore

/// The store's chunk facet: the chunks held, by slot, found by id through a position table; what
/// became of every id the store no longer holds (``DepartedIds``); and the distinct ids it was
/// offered. The other facets refer to a chunk by its slot.
struct ChunkTable<C: StorableChunk> {
    /// Chunks by slot; nil for free slots. (A decoded ``/Chunks/Chunk`` is one reference: storing it
    /// as it is costs no box.)
    private(set) var slots: [C?] = []
    private var freeSlots: [Int32] = []
    /// Chunk id → slot, for the chunks held (the table compares ids through `slots`).
    private var slotTable = PositionTable()
    /// The ids known but no longer held, and how each went.
    private var departed = DepartedIds()

    /// Chunks held now, of which static; their rows and ``StorableChunk/approximateByteSize``.
    private(set) var count = 0
    private(set) var staticCount = 0
    private(set) var rows = 0
    private(set) var bytes = 0
    /// Distinct ids offered to the store (``StoreIndex/insert(_:)``) that were new to it.
    private(set) var distinctIds = 0
    /// Whether a chunk with rows and a new id was offered.
    private(set) var hasReceivedRows = false

    /// The chunk in `slot`, which must be held.
    @inline(__always)
    subscript(slot: Int32) -> C { slots[Int(slot)]! }

    /// The slot of the chunk with this id, if held.
    @inline(__always)
    func slot(of id: ChunkId, hash: UInt64) -> Int32? {
        slots.withUnsafeBufferPointer { slots in
            slotTable.find(hash: hash) { slots[Int($0)]!.id == id }
        }
    }

    /// The slot of the chunk with this id, if held.
    @inline(__always)
    func slot(of id: ChunkId) -> Int32? { slot(of: id, hash: id.hash64) }

    /// The chunk with this id, if held.
    func chunk(id: ChunkId) -> C? { slot(of: id).map { self[$0] } }

    // MARK: What the store knows of an id

    /// What the store knows of an id, from the dedupe rule's point of view.
    enum IdStatus {
        /// Never offered nor made by the store.
        case new
        /// Held now, or absorbed by a compacted chunk held now: a duplicate.
        case held
        /// Known, no longer held (removed, collected, dropped as empty, or absorbed by a compacted
        /// chunk that went too): it may be inserted again.
        case departed
    }

    /// What the store knows of `id` (hash `hash`). Without departures (the common case while
    /// ingesting without a budget or compaction) this is one look-up of the slot table.
    @inline(__always)
    mutating func status(of id: ChunkId, hash: UInt64) -> IdStatus {
        if slot(of: id, hash: hash) != nil { return .held }
        guard let d = departed.position(of: id, hash: hash) else { return .new }
        return isAbsorbedAndHeld(departure: d) ? .held : .departed
    }

    /// Whether the departed id at `d` was absorbed by a compacted chunk that is still held: follows
    /// the chain of compacted chunks that absorbed each other, then points `d` at the one that is
    /// held (path compression).
    private mutating func isAbsorbedAndHeld(departure d: Int32) -> Bool {
        var fate = departed.fate(at: d)
        while case .absorbed(let holder) = fate {
            let holderId = departed.absorber(holder)
            if slot(of: holderId) != nil {
                departed.setFate(fate, at: d)
                return true
            }
            guard let next = departed.position(of: holderId, hash: holderId.hash64) else { return false }
            fate = departed.fate(at: next)
        }
        return false
    }

    /// Whether the store knows `id` at all (held or departed), e.g. to keep a compacted chunk's new
    /// id from meeting an id already used.
    func knows(_ id: ChunkId) -> Bool {
        let hash = id.hash64
        return slot(of: id, hash: hash) != nil || departed.position(of: id, hash: hash) != nil
    }

    /// Counts an offered chunk whose id was ``IdStatus/new``.
    /// - Returns: whether it is the first such chunk with rows.
    mutating func countNewId(rows: Int) -> Bool {
        distinctIds += 1
        guard rows > 0 && !hasReceivedRows else { return false }
        hasReceivedRows = true
        return true
    }

    /// Remembers an id that is not held (a chunk dropped as empty, or absorbed as it arrived).
    mutating func recordDeparture(of id: ChunkId, hash: UInt64, _ fate: DepartedIds.Fate) {
        departed.record(id, hash: hash, fate)
    }

    /// Registers the id of a compacted chunk about to absorb others, for their fates.
    mutating func absorber(_ id: ChunkId) -> DepartedIds.Fate { .absorbed(departed.addAbsorber(id)) }

    // MARK: Holding and releasing

    /// Holds a chunk known to be valid and not held (`isStatic`: its ``StorableChunk/isStaticData``),
    /// in a free slot; returns the slot.
    @inline(__always)
    mutating func hold(_ chunk: C, hash: UInt64, isStatic: Bool) -> Int32 {
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            slots[Int(free)] = chunk
        } else {
            slot = Int32(slots.count)
            slots.append(chunk)
        }
        slotTable.insert(hash: hash, position: slot)
        count += 1
        if isStatic { staticCount += 1 }
        rows += chunk.numRows
        bytes += chunk.approximateByteSize
        return slot
    }

    /// Releases the chunk in `slot` (id hash `hash`), remembering how it went.
    mutating func release(slot: Int32, hash: UInt64, _ fate: DepartedIds.Fate) -> C {
        let chunk = self[slot]
        slotTable.remove(hash: hash, position: slot)
        slots[Int(slot)] = nil
        freeSlots.append(slot)
        departed.record(chunk.id, hash: hash, fate)
        count -= 1
        if chunk.isStaticData { staticCount -= 1 }
        rows -= chunk.numRows
        bytes -= chunk.approximateByteSize
        return chunk
    }
}

/// The ids a store no longer holds, and what became of each: gone (removed, collected, dropped as
/// empty) or absorbed into a compacted chunk. Kept for the store's life (16 bytes an id, 4 for its
/// fate, and a position-table bucket), so that an id is counted once however often it comes back,
/// and an absorbed id is a duplicate while its rows are held.
struct DepartedIds {
    /// How an id went.
    enum Fate: Equatable {
        case gone
        /// Into the compacted chunk registered at this position (``addAbsorber(_:)``).
        case absorbed(Int32)
    }

    private var ids: [ChunkId] = []
    /// Per id: -1 for gone, else the position of its absorber in `absorbers`.
    private var fates: [Int32] = []
    /// The ids of compacted chunks that absorbed others.
    private var absorbers: [ChunkId] = []
    /// Id → position in `ids` (compared through `ids`).
    private var table = PositionTable()

    /// The position of `id`, if known. One test while nothing departed (the common case while
    /// ingesting without a budget or compaction), else usually one bucket read for a new id.
    @inline(__always)
    func position(of id: ChunkId, hash: UInt64) -> Int32? {
        if table.count == 0 { return nil }
        return ids.withUnsafeBufferPointer { ids in table.find(hash: hash) { ids[Int($0)] == id } }
    }

    func fate(at position: Int32) -> Fate {
        let f = fates[Int(position)]
        return f < 0 ? .gone : .absorbed(f)
    }

    mutating func setFate(_ fate: Fate, at position: Int32) {
        switch fate {
        case .gone: fates[Int(position)] = -1
        case .absorbed(let a): fates[Int(position)] = a
        }
    }

    /// The id of the absorber at `position`.
    func absorber(_ position: Int32) -> ChunkId { absorbers[Int(position)] }

    /// Registers a compacted chunk's id as an absorber; returns its position.
    mutating func addAbsorber(_ id: ChunkId) -> Int32 {
        absorbers.append(id)
        return Int32(absorbers.count - 1)
    }

    /// Records how `id` went (again, if it had come back).
    mutating func record(_ id: ChunkId, hash: UInt64, _ fate: Fate) {
        if let known = position(of: id, hash: hash) {
            setFate(fate, at: known)
            return
        }
        table.insert(hash: hash, position: Int32(ids.count))
        ids.append(id)
        fates.append(-1)
        setFate(fate, at: Int32(ids.count - 1))
    }
}
