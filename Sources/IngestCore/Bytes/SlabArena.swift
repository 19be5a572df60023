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
    public func allocate<E: Error>(
        count: Int, initializingWith initializer: (UnsafeMutableRawBufferPointer) throws(E) -> Void
    ) throws(E) -> ByteSlice {
        precondition(count >= 0, "negative allocation")
        if count == 0 || count > ownMappingThreshold {
            return try ownStorage(count: count, initializingWith: initializer)
        }
        if count <= smallAllocationLimit {
            return try allocate(count: count, in: &small, initializingWith: initializer)
        }
        return try allocate(count: count, in: &large, initializingWith: initializer)
    }

    private func allocate<E: Error>(
        count: Int, in chain: inout Chain, initializingWith initializer: (UnsafeMutableRawBufferPointer) throws(E) -> Void
    ) throws(E) -> ByteSlice {
        var start = (chain.used + Self.alignment - 1) & ~(Self.alignment - 1)
        if chain.slab == nil || start + count > chain.slab!.count {
            // While slabs are still growing, an allocation may be larger than the next slab size.
            let size =
                count <= chain.nextSlabSize ? chain.nextSlabSize : PageMapping.roundUp(count, PageMapping.pageSize)
            chain.slab = newSlab(size: size)
            chain.used = 0
            chain.nextSlabSize = Swift.min(chain.nextSlabSize * 2, maxSlabSize)
            start = 0
        }
        let storage = chain.slab!
        // No slice covers `start..<start + count` yet: writing it does not change bytes anyone sees.
        try initializer(UnsafeMutableRawBufferPointer(start: storage.unsafeMutableBaseAddress + start, count: count))
        chain.used = start + count
        return ByteSlice(storage: storage, range: start..<(start + count))
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

    private func ownStorage<E: Error>(
        count: Int, initializingWith initializer: (UnsafeMutableRawBufferPointer) throws(E) -> Void
    ) throws(E) -> ByteSlice {
        let length = PageMapping.roundUp(count, PageMapping.pageSize)
        guard count > 0, let p = PageMapping.map(length) else {
            return ByteSlice(try ByteStorage(count: count, initializingWith: initializer))
        }
        let storage = ByteStorage(mapping: p, mappedLength: length, count: count, isArenaSlab: false, pool: nil)
        // Unmapped with `storage` if the initializer throws.
        try initializer(UnsafeMutableRawBufferPointer(start: p, count: count))
        ownMappingsCreated += 1
        return ByteSlice(storage)
    }
}
