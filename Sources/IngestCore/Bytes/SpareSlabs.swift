/// Slabs of ``slabSize`` bytes whose pages were touched ahead of time, by a thread that had nothing
/// better to do, for the ``SlabArena``s configured to take them
/// (``SlabArena/Configuration/takesSpareSlabs``).
///
/// A store's worker writes every byte a small chunk keeps into fresh slab memory, and on a virtual
/// machine the page faults of that first touch are a large share of its time. A thread that would
/// otherwise wait (`ingest replay`'s reader, blocked on a full store queue) can make the next slabs
/// instead (``prefault(upTo:)``); an arena takes one whenever it needs a new slab of ``slabSize``
/// bytes. The pool is process-wide and holds at most a few slabs, so what it keeps around is bounded
/// (the largest ``prefault(upTo:)`` limit used × 4 MiB).
///
/// ```swift
/// // A reader blocked on a full queue:
/// SpareSlabs.prefault(upTo: 4)
/// // Later, on the store's worker: the arena's next 4 MiB slab is one of those.
/// let body = SlabArena(.chunkBodies).allocate(count: 100) { $0.initializeMemory(as: UInt8.self, repeating: 0) }
/// ```
public enum SpareSlabs {
    /// The size of the slabs kept: the ``SlabArena/Configuration/maxSlabSize`` of
    /// ``SlabArena/Configuration/chunkBodies``.
    public static let slabSize = 4 << 20

    /// The mappings waiting to be taken.
    private static let pool = Locked<[UnsafeMutableRawPointer]>([])

    /// Slabs waiting to be taken.
    public static var count: Int { pool.withLock { $0.count } }

    /// Maps one slab and touches each of its pages, if fewer than `limit` are waiting.
    /// - Returns: whether it made one (false: enough are waiting, or `mmap` failed).
    @discardableResult
    public static func prefault(upTo limit: Int = 4) -> Bool {
        guard pool.withLock({ $0.count }) < limit else { return false }
        guard let raw = PageMapping.map(slabSize) else { return false }
        for at in stride(from: 0, to: slabSize, by: PageMapping.pageSize) {
            raw.storeBytes(of: 0, toByteOffset: at, as: UInt8.self)
        }
        let kept = pool.withLock { p -> Bool in
            guard p.count < limit else { return false }
            p.append(raw)
            return true
        }
        if !kept { PageMapping.unmap(raw, slabSize) }
        return kept
    }

    /// A waiting slab (``slabSize`` bytes, mapped, zero-filled), or nil.
    static func take() -> UnsafeMutableRawPointer? {
        pool.withLock { $0.popLast() }
    }
}
