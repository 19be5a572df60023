/// A bump allocator: many allocations share one large slab of memory instead of each being
/// allocated on its own. It holds decompressed payloads (``Configuration/payloads``) and the bodies
/// of compacted chunks (``Configuration/chunkBodies``).
///
/// Slabs are private anonymous mappings (`mmap`, with no allocator heap growing and trimming page by
/// page in between). Each slab is a ``ByteStorage`` (with ``ByteStorage/isArenaSlab`` set) and each
/// allocation a ``ByteSlice`` of it, 16-byte aligned (``alignment``): an allocation (and whatever
/// borrows its bytes, such as a chunk decoded from a payload) keeps its whole slab alive. An
/// allocation larger than ``ownMappingThreshold`` gets a mapping of its own, freed with it; an empty
/// one an empty storage of its own.
///
/// Slabs grow from ``Configuration/minSlabSize`` (doubling) to ``Configuration/maxSlabSize``, or are
/// as large as the allocation that opens them (rounded up to whole pages), so an arena that receives
/// little costs little.
///
/// Released slabs may be recycled (``Configuration/maxRecycledSlabs``): when the last slice of a
/// full-size slab goes (on whichever thread), its mapping goes back to the arena, which fills it
/// again instead of mapping fresh memory. Writing into memory that was already touched costs no
/// page faults, which on a VM are a large part of the cost of fresh memory. The other slabs, and all
/// of them once the arena is gone, are returned to the system with `munmap`. An arena configured to
/// take them (``Configuration/takesSpareSlabs``) fills slabs that ``SpareSlabs`` touched ahead of
/// time, before mapping fresh ones.
///
/// Small allocations may fill slabs apart from larger ones (``Configuration/smallAllocationLimit``):
/// a slab is freed only when its last slice goes, so small payloads (which a chunk decoder copies
/// what it needs out of) are kept from being pinned by a larger one that a chunk keeps.
///
/// Keep one arena per store, so that one store's data never pins another's; within a store, chunks
/// come and go roughly in arrival order (a memory budget drops the oldest chunks first), so slabs
/// free in order too, but one long-lived chunk keeps its slab's neighbours' memory alive.
///
/// ```swift
/// let arena = SlabArena(.payloads)
/// let payload = try msg.decompressedPayload(arena: arena)   // a slice of a shared slab
/// let copy = arena.allocate(count: bytes.count) { $0.copyBytes(from: bytes) }
/// ```
///
/// Not thread-safe: use one arena per thread and store (an arena may move between threads when its
/// use is handed over with proper synchronization). Slices it hands out are immutable and may be
/// shared freely, and released on any thread (the recycled-slab pool is locked).
/// - Complexity: ``allocate(count:initializingWith:)`` is O(1) plus the initializer; a new slab costs
///   one `mmap` (none when a recycled or spare slab is at hand).
public final class SlabArena {
    /// How an arena sizes, shares and recycles its slabs.
    public struct Configuration: Sendable, Hashable {
        /// The size of the first slab (bytes, more than 0).
        public var minSlabSize: Int
        /// The size slabs grow to (doubling from ``minSlabSize``); at least ``minSlabSize``.
        public var maxSlabSize: Int
        /// Allocations above this many bytes get a mapping of their own; `nil`: a quarter of
        /// ``maxSlabSize``. At most ``maxSlabSize``.
        public var ownMappingThreshold: Int?
        /// Allocations of at most this many bytes fill slabs of their own, apart from larger ones; 0:
        /// one chain of slabs for all.
        public var smallAllocationLimit: Int
        /// How many released full-size slabs the arena keeps for reuse (the rest are unmapped); 0:
        /// none.
        public var maxRecycledSlabs: Int
        /// Whether new slabs of ``SpareSlabs/slabSize`` bytes are taken from ``SpareSlabs`` when one
        /// waits there.
        public var takesSpareSlabs: Bool

        /// A configuration; the defaults: the own-mapping threshold at a quarter of `maxSlabSize`,
        /// one chain, no recycling, no spare slabs.
        public init(
            minSlabSize: Int, maxSlabSize: Int, ownMappingThreshold: Int? = nil, smallAllocationLimit: Int = 0,
            maxRecycledSlabs: Int = 0, takesSpareSlabs: Bool = false
        ) {
            self.minSlabSize = minSlabSize
            self.maxSlabSize = maxSlabSize
            self.ownMappingThreshold = ownMappingThreshold
            self.smallAllocationLimit = smallAllocationLimit
            self.maxRecycledSlabs = maxRecycledSlabs
            self.takesSpareSlabs = takesSpareSlabs
        }

        /// Decompressed payloads, one arena per store on the thread that decompresses them: slabs
        /// of 256 KiB growing to 4 MiB, own mappings above 1 MiB; payloads up to 64 KiB (the size up
        /// to which a chunk decoder copies what a chunk keeps out of its payload) apart from larger
        /// ones, which chunks keep (borrow); up to 4 released full-size slabs (16 MiB) reused.
        public static let payloads = Configuration(
            minSlabSize: 256 << 10, maxSlabSize: 4 << 20, smallAllocationLimit: 64 << 10, maxRecycledSlabs: 4)

        /// What compacted chunks keep (their record batch's body and schema metadata), one arena per
        /// store's decoder: slabs of 64 KiB growing to 4 MiB, own mappings above 1 MiB, one chain, no
        /// recycling (chunks live as long as the store keeps them), pre-touched ``SpareSlabs`` taken.
        public static let chunkBodies = Configuration(
            minSlabSize: 64 << 10, maxSlabSize: 4 << 20, takesSpareSlabs: true)
    }

    /// A chain of slabs: the slab being filled, how many of its bytes are handed out, the next size.
    private struct Chain {
        var slab: ByteStorage?
        var used = 0
        var nextSlabSize: Int
    }

    /// What the arena was made with.
    public let configuration: Configuration
    /// Allocations above this many bytes get a mapping of their own.
    public let ownMappingThreshold: Int
    /// Allocations of at most this many bytes fill slabs apart from larger ones (0: one chain).
    public let smallAllocationLimit: Int
    private let maxSlabSize: Int
    /// Whether new slabs of ``SpareSlabs/slabSize`` bytes come from ``SpareSlabs`` when one waits.
    private let takesSpareSlabs: Bool

    /// Slabs of allocations up to `smallAllocationLimit`, and of the larger ones.
    private var small: Chain
    private var large: Chain

    /// Released full-size slabs waiting to be filled again (nil: no recycling).
    private let pool: SlabPool?

    /// Slabs created so far, recycled and spare ones included (statistics and tests).
    public private(set) var slabsCreated = 0
    /// Of ``slabsCreated``, those that were released slabs of this arena filled again.
    public private(set) var slabsRecycled = 0
    /// Of ``slabsCreated``, those taken from ``SpareSlabs``.
    public private(set) var spareSlabsTaken = 0
    /// Allocations that got a mapping of their own so far (above ``ownMappingThreshold``).
    public private(set) var ownMappingsCreated = 0

    /// How many released full-size slabs the arena keeps for reuse.
    public var maxRecycledSlabs: Int { configuration.maxRecycledSlabs }
    /// How many released slabs wait for reuse now (statistics and tests).
    public var slabsWaiting: Int { pool?.waiting ?? 0 }

    /// Alignment of each allocation inside a slab.
    public static let alignment = 16

    /// An arena configured by `configuration` (``Configuration/payloads`` or
    /// ``Configuration/chunkBodies`` for the engine's two uses).
    /// - Precondition: the sizes are as ``Configuration`` documents them.
    public init(_ configuration: Configuration) {
        let c = configuration
        precondition(c.minSlabSize > 0 && c.minSlabSize <= c.maxSlabSize, "slab sizes")
        let threshold = c.ownMappingThreshold ?? c.maxSlabSize / 4
        precondition(threshold >= 0 && threshold <= c.maxSlabSize, "own-mapping threshold")
        precondition(c.smallAllocationLimit >= 0, "negative smallAllocationLimit")
        precondition(c.maxRecycledSlabs >= 0, "negative maxRecycledSlabs")
        self.configuration = c
        ownMappingThreshold = threshold
        smallAllocationLimit = c.smallAllocationLimit
        maxSlabSize = c.maxSlabSize
        takesSpareSlabs = c.takesSpareSlabs
        small = Chain(nextSlabSize: c.minSlabSize)
        large = Chain(nextSlabSize: c.minSlabSize)
        pool =
            c.maxRecycledSlabs > 0
            ? SlabPool(slabLength: PageMapping.roundUp(c.maxSlabSize, PageMapping.pageSize), capacity: c.maxRecycledSlabs)
            : nil
    }

    deinit {
        // Slabs released from now on are unmapped; those waiting are unmapped now.
        pool?.close()
    }

    /// Allocates `count` bytes and lets `initializer` fill all of them once.
    ///
    /// - Returns: a slice of the current slab (``alignment``-aligned), or the whole of a storage of
    ///   its own for an allocation above ``ownMappingThreshold`` or of no bytes.
    /// - Throws: what `initializer` throws; the bytes are then given back.
    @inlinable
    public func allocate<E: Error>(
        count: Int, initializingWith initializer: (UnsafeMutableRawBufferPointer) throws(E) -> Void
    ) throws(E) -> ByteSlice {
        // Inlinable, over a non-generic reservation: specialized for each caller's error type (the
        // generic body, called across modules, cost more than the bump itself on small payloads).
        let r = _reserve(count: count)
        do {
            try initializer(
                UnsafeMutableRawBufferPointer(
                    start: UnsafeMutableRawPointer(mutating: r.storage.unsafeBaseAddress) + r.start, count: count))
        } catch {
            _giveBack(r, count: count)
            throw error
        }
        return ByteSlice(storage: r.storage, range: r.start..<(r.start + count))
    }

    /// Where an allocation goes: its storage, its offset there, and which chain (if any) it bumped.
    @usableFromInline
    struct _Reservation {
        @usableFromInline let storage: ByteStorage
        @usableFromInline let start: Int
        let source: Source

        enum Source {
            case smallChain, largeChain, ownMapping, ownHeap
        }
    }

    /// Reserves `count` bytes, which no slice covers yet: writing them does not change bytes anyone
    /// sees. The chain's `used` already counts them (``_giveBack(_:count:)`` undoes that).
    @usableFromInline
    func _reserve(count: Int) -> _Reservation {
        precondition(count >= 0, "negative allocation")
        if count == 0 || count > ownMappingThreshold { return ownStorage(count: count) }
        // The chain is copied out and back rather than lent `inout`: no access to it is open while
        // a new slab is made (which calls out to `mmap` and the pools), so the compiler can drop the
        // runtime's exclusivity checks on it (one per allocation otherwise).
        if count <= smallAllocationLimit {
            var chain = small
            let (slab, start) = reserve(count: count, in: &chain)
            small = chain
            return _Reservation(storage: slab, start: start, source: .smallChain)
        }
        var chain = large
        let (slab, start) = reserve(count: count, in: &chain)
        large = chain
        return _Reservation(storage: slab, start: start, source: .largeChain)
    }

    /// Gives back what `r` reserved (the initializer threw): the chain's bytes are handed out again
    /// by the next allocation; an own storage is freed with `r`.
    @usableFromInline
    func _giveBack(_ r: _Reservation, count: Int) {
        switch r.source {
        case .smallChain:
            if small.slab === r.storage && small.used == r.start + count { small.used = r.start }
        case .largeChain:
            if large.slab === r.storage && large.used == r.start + count { large.used = r.start }
        case .ownMapping:
            ownMappingsCreated -= 1
        case .ownHeap:
            break
        }
    }

    /// The slab `count` more bytes go into (a new one when they do not fit the current one) and
    /// where, with `chain.used` advanced past them.
    private func reserve(count: Int, in chain: inout Chain) -> (ByteStorage, Int) {
        let start = (chain.used + Self.alignment - 1) & ~(Self.alignment - 1)
        if let slab = chain.slab, start + count <= slab.count {
            chain.used = start + count
            return (slab, start)
        }
        // While slabs are still growing, an allocation may be larger than the next slab size.
        let size = count <= chain.nextSlabSize ? chain.nextSlabSize : PageMapping.roundUp(count, PageMapping.pageSize)
        let slab = newSlab(size: size)
        chain.slab = slab
        chain.used = count
        chain.nextSlabSize = Swift.min(chain.nextSlabSize * 2, maxSlabSize)
        return (slab, 0)
    }

    // MARK: memory

    private func newSlab(size: Int) -> ByteStorage {
        slabsCreated += 1
        let length = PageMapping.roundUp(size, PageMapping.pageSize)
        // Only full-size slabs are recycled: all slabs are, once the first few have grown.
        let recycling = size == maxSlabSize ? pool : nil
        if let recycling, let p = recycling.take() {
            slabsRecycled += 1
            return ByteStorage(mapping: p, mappedLength: length, count: size, isArenaSlab: true, pool: recycling)
        }
        if takesSpareSlabs && length == SpareSlabs.slabSize, let p = SpareSlabs.take() {
            spareSlabsTaken += 1
            return ByteStorage(mapping: p, mappedLength: length, count: size, isArenaSlab: true, pool: recycling)
        }
        if let p = PageMapping.map(length) {
            return ByteStorage(mapping: p, mappedLength: length, count: size, isArenaSlab: true, pool: recycling)
        }
        // No mapping (address space exhausted?): the heap will do, or fail the same way.
        return ByteStorage(uninitializedHeapCount: size, isArenaSlab: true)
    }

    /// A storage of `count` bytes of its own, for the caller to write: a mapping, or heap memory
    /// when there are no bytes or `mmap` fails.
    private func ownStorage(count: Int) -> _Reservation {
        let length = PageMapping.roundUp(count, PageMapping.pageSize)
        guard count > 0, let p = PageMapping.map(length) else {
            return _Reservation(
                storage: ByteStorage(uninitializedHeapCount: count, isArenaSlab: false), start: 0, source: .ownHeap)
        }
        ownMappingsCreated += 1
        return _Reservation(
            storage: ByteStorage(mapping: p, mappedLength: length, count: count, isArenaSlab: false, pool: nil),
            start: 0, source: .ownMapping)
    }
}
