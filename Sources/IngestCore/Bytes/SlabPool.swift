/// The released full-size slabs of one ``SlabArena``, waiting to be filled again.
///
/// Slabs are released on whichever thread drops their last slice (a store's worker) and taken by
/// the thread that fills the arena (the reader), hence the lock.
final class SlabPool: Sendable {
    private struct State {
        var free: [UnsafeMutableRawPointer] = []
        var closed = false
    }

    /// The length of every mapping the pool takes.
    let slabLength: Int
    /// How many mappings may wait.
    let capacity: Int
    private let state: Locked<State>

    init(slabLength: Int, capacity: Int) {
        precondition(capacity > 0, "a pool that keeps nothing")
        self.slabLength = slabLength
        self.capacity = capacity
        var initial = State()
        initial.free.reserveCapacity(capacity)
        state = Locked(initial)
    }

    deinit {
        // Every storage that could hand a mapping back holds the pool: none is left.
        state.withLock { s in
            for p in s.free { PageMapping.unmap(p, slabLength) }
        }
    }

    /// Takes the mapping at `p` (of `length` bytes, no longer read by anyone) for reuse; false when
    /// it is not a full-size slab, the pool is full or closed: the caller unmaps it then.
    func recycle(_ p: UnsafeMutableRawPointer, length: Int) -> Bool {
        guard length == slabLength else { return false }
        return state.withLock { s in
            guard !s.closed, s.free.count < capacity else { return false }
            s.free.append(p)
            return true
        }
    }

    /// A released mapping of ``slabLength`` bytes, if one waits.
    func take() -> UnsafeMutableRawPointer? {
        state.withLock { $0.free.popLast() }
    }

    /// Unmaps the waiting mappings and refuses any more (the arena is gone).
    func close() {
        let waiting = state.withLock { s in
            s.closed = true
            defer { s.free.removeAll() }
            return s.free
        }
        for p in waiting { PageMapping.unmap(p, slabLength) }
    }

    /// How many mappings wait (statistics and tests).
    var waiting: Int { state.withLock { $0.free.count } }
}
