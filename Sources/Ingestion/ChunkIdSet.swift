import IngestCore

/// The distinct chunk ids a store has received: the ids in arrival order, found through the
/// engine's open-addressing table (``IngestCore/PositionTable``, keyed by ``IngestCore/ChunkId/hash64``).
/// `Set<ChunkId>` would do, but the table's stored hash bits make a new id (the common case, once
/// per chunk) cost one bucket read, with no key compared.
struct ChunkIdSet {
    private var ids: [ChunkId] = []
    private var table = PositionTable()

    /// Ids held.
    var count: Int { ids.count }

    init() {}

    /// Adds `id`; `inserted` is false when it was already there.
    mutating func insert(_ id: ChunkId) -> (inserted: Bool, memberAfterInsert: ChunkId) {
        let hash = id.hash64
        if position(of: id, hash: hash) != nil { return (false, id) }
        table.insert(hash: hash, position: Int32(truncatingIfNeeded: ids.count))
        ids.append(id)
        return (true, id)
    }

    /// Whether `id` is held.
    func contains(_ id: ChunkId) -> Bool { position(of: id, hash: id.hash64) != nil }

    @inline(__always)
    private func position(of id: ChunkId, hash: UInt64) -> Int32? {
        ids.withUnsafeBufferPointer { ids in table.find(hash: hash) { ids[Int($0)] == id } }
    }
}
