import IngestCore

/// The store's entity facet: the index of every entity path with data, found by path through a
/// position table. Positions of entities that lost their last chunk are reused and hold an empty
/// index meanwhile, so an entity is in the table exactly while it holds a chunk.
struct EntityIndexes {
    /// The indexes by position.
    private(set) var list: [EntityIndex] = []
    private var free: [Int32] = []
    /// Entity path → position in `list` (paths compared through the list).
    private var table = PositionTable()

    /// Entities with data.
    var count: Int { table.count }

    /// The paths of the entities with data, in no particular order.
    var paths: [String] { table.positions.map { list[Int($0)].path } }

    /// The position of the entity `path` in `list`, if it has data.
    @inline(__always)
    func position(of path: String, hash: UInt64) -> Int32? {
        table.find(hash: hash) { list[Int($0)].path == path }
    }

    /// The index of the entity `path`, if it has data.
    func entity(_ path: String) -> EntityIndex? {
        position(of: path, hash: ByteHasher.hash(path)).map { list[Int($0)] }
    }

    /// Runs `body` on the index of entity `path` in place (one hash of the path, no copy of the
    /// index); creates it when absent and `creating`, else does nothing. An index left without chunks
    /// is removed.
    @inline(__always)
    mutating func modify(_ path: String, creating: Bool, _ body: (inout EntityIndex) -> Void) {
        let hash = ByteHasher.hash(path)
        let position: Int32
        if let found = self.position(of: path, hash: hash) {
            position = found
        } else {
            guard creating else { return }
            if let reused = free.popLast() {
                position = reused
                list[Int(reused)] = EntityIndex(path: path)
            } else {
                position = Int32(list.count)
                list.append(EntityIndex(path: path))
            }
            table.insert(hash: hash, position: position)
        }
        body(&list[Int(position)])
        if list[Int(position)].chunkCount == 0 {
            table.remove(hash: hash, position: position)
            list[Int(position)] = EntityIndex(path: "")
            free.append(position)
        }
    }
}
