#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import IngestCore

/// A bump allocator for decompressed payloads: many payloads share one large slab of memory
/// instead of each being allocated on its own.
///
/// Slabs are private anonymous mappings (`mmap`, with no allocator heap growing and trimming page by
/// page in between). Each slab is a ``ByteStorage`` (with ``ByteStorage/isArenaSlab`` set) and each
/// payload a ``ByteSlice`` of it, 16-byte aligned: a payload (and a chunk decoded from it, which
/// borrows its bytes) keeps its whole slab alive. A payload larger than a quarter of ``maxSlabSize``
/// gets a mapping of its own, freed with it.
///
/// Released slabs are recycled: when the last slice of a full-size slab goes (on whichever thread),
/// its mapping goes back to the arena (up to ``maxRecycledSlabs`` of them waiting), and the arena
/// fills it again instead of mapping fresh memory. Writing into memory that was already touched
/// costs no page faults, which on a VM are a large part of the cost of fresh memory. The other
/// slabs, and all of them once the arena is gone, are returned to the system with `munmap`.
///
/// The trade-off: a slab is freed only when the last slice of it goes. Small payloads (which a
/// chunk decoder copies what it needs out of) and larger ones (which chunks keep) never share a slab. Keep one arena per store,
/// so that one store's data never pins another's; within a store, chunks come and go roughly in
/// arrival order (a memory budget drops the oldest chunks first), so slabs free in order too, but
/// one long-lived chunk keeps its slab's neighbours' memory alive. The first slabs are small
/// (``minSlabSize``, doubling up to ``maxSlabSize``, or as large as the payload that opens them),
/// so a store that receives little costs little.
///
/// ```swift
/// let arena = PayloadArena()
/// let payload = try msg.decompressedPayload(arena: arena)   // a slice of a shared slab
/// ```
///
/// Not thread-safe: use one arena per thread and store (an arena may move between threads when
/// its use is handed over with proper synchronization). Slices it hands out are immutable and may
/// be shared freely, and released on any thread (the recycled-slab list is locked).
public final class PayloadArena {
    /// The size of the first slab.
    public let minSlabSize: Int
    /// The size slabs grow to (doubling from ``minSlabSize``).
    public let maxSlabSize: Int
    /// Payloads above this many bytes get a mapping of their own.
    public var ownMappingThreshold: Int { maxSlabSize / 4 }

    /// Payloads up to this many bytes are filled into slabs of their own, apart from larger ones
    /// (see ``init(minSlabSize:maxSlabSize:maxRecycledSlabs:smallPayloadLimit:)``).
    public let smallPayloadLimit: Int

    /// A chain of slabs: the slab being filled, how many of its bytes are handed out, the next size.
    private struct Chain {
        var slab: ByteStorage?
        var used = 0
        var nextSlabSize: Int
    }
    /// Slabs of small payloads, and of the larger ones. No dynamic exclusivity checks (lent `inout`
    /// to `allocate(count:in:initializingWith:)` for every payload): an arena is used by one thread
    /// at a time, and the chain lent is touched by nothing else during the call.
    @exclusivity(unchecked) private var small: Chain
    @exclusivity(unchecked) private var large: Chain

    /// Released full-size slabs waiting to be filled again.
    private let pool: SlabPool

    /// Slabs and own mappings created so far (statistics and tests); ``slabsCreated`` counts
    /// recycled slabs too, ``slabsRecycled`` only those.
    public private(set) var slabsCreated = 0
    public private(set) var ownMappingsCreated = 0
    public private(set) var slabsRecycled = 0
    /// How many released full-size slabs the arena keeps for reuse (the rest are unmapped).
    public var maxRecycledSlabs: Int { pool.capacity }
    /// How many released slabs wait for reuse now (statistics and tests).
    public var slabsWaiting: Int { pool.waiting }

    /// Payload alignment inside a slab.
    public static let alignment = 16

    /// An arena whose slabs grow from `minSlabSize` to `maxSlabSize` bytes (defaults 256 KiB and 4 MiB;
    /// both rounded up to the page size), keeping up to `maxRecycledSlabs` released full-size slabs
    /// for reuse (default 4: 16 MiB with the default sizes; 0 unmaps every released slab).
    ///
    /// Payloads of at most `smallPayloadLimit` bytes (default 64 KiB, the size up to which
    /// `ChunkDecoder` copies what a chunk keeps out of its payload) go into slabs of their own: those
    /// are released as soon as their payloads are consumed, instead of being pinned by a larger
    /// payload that a chunk keeps (borrows) in the same slab.
    public init(
        minSlabSize: Int = 256 << 10, maxSlabSize: Int = 4 << 20, maxRecycledSlabs: Int = 4,
        smallPayloadLimit: Int = 64 << 10
    ) {
        precondition(maxRecycledSlabs >= 0, "negative maxRecycledSlabs")
        let page = Self.pageSize
        let maxSize = Self.roundUp(Swift.max(maxSlabSize, page), page)
        self.maxSlabSize = maxSize
        self.minSlabSize = Swift.min(Self.roundUp(Swift.max(minSlabSize, page), page), maxSize)
        self.smallPayloadLimit = smallPayloadLimit
        self.small = Chain(nextSlabSize: self.minSlabSize)
        self.large = Chain(nextSlabSize: self.minSlabSize)
        self.pool = SlabPool(slabLength: maxSize, capacity: maxRecycledSlabs)
    }

    deinit {
        // Slabs released from now on are unmapped; those waiting are unmapped now.
        pool.close()
    }

    /// Allocates `count` bytes and lets `initializer` fill all of them once.
    ///
    /// - Returns: a slice of the current slab, or the whole of a storage of its own for a payload
    ///   above ``ownMappingThreshold``.
    /// - Throws: what `initializer` throws; the bytes are then given back.
    public func allocate<E: Error>(
        count: Int, initializingWith initializer: (UnsafeMutableRawBufferPointer) throws(E) -> Void
    ) throws(E) -> ByteSlice {
        precondition(count >= 0, "negative allocation")
        if count == 0 || count > ownMappingThreshold {
            let storage = try Self.ownStorage(count: count, initializingWith: initializer)
            if count > 0 { ownMappingsCreated += 1 }
            return ByteSlice(storage)
        }
        if count <= smallPayloadLimit {
            return try allocate(count: count, in: &small, initializingWith: initializer)
        }
        return try allocate(count: count, in: &large, initializingWith: initializer)
    }

    private func allocate<E: Error>(
        count: Int, in chain: inout Chain, initializingWith initializer: (UnsafeMutableRawBufferPointer) throws(E) -> Void
    ) throws(E) -> ByteSlice {
        var start = Self.roundUp(chain.used, Self.alignment)
        if chain.slab == nil || start + count > chain.slab!.count {
            // While slabs are still growing, a payload may be larger than the next slab size.
            chain.slab = newSlab(size: Swift.max(chain.nextSlabSize, Self.roundUp(count, Self.pageSize)))
            slabsCreated += 1
            chain.nextSlabSize = Swift.min(chain.nextSlabSize * 2, maxSlabSize)
            start = 0
        }
        let storage = chain.slab!
        // No slice covers `start..<start + count` yet: writing it does not change bytes anyone sees.
        try initializer(UnsafeMutableRawBufferPointer(start: storage.baseAddress + start, count: count))
        chain.used = start + count
        return ByteSlice(storage: storage, range: start..<(start + count))
    }

    // MARK: memory

    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    static func roundUp(_ n: Int, _ to: Int) -> Int { (n + to - 1) / to * to }

    private func newSlab(size: Int) -> ByteStorage {
        // Only full-size slabs are recycled: all slabs are, once the first few have grown.
        let full = size == maxSlabSize && pool.capacity > 0
        if full, let p = pool.take() {
            slabsRecycled += 1
            return ByteStorage(mapping: p, mappedLength: size, count: size, isArenaSlab: true, pool: pool)
        }
        if let (p, length) = Self.map(size) {
            return ByteStorage(
                mapping: p, mappedLength: length, count: size, isArenaSlab: true, pool: full ? pool : nil)
        }
        // No mapping (address space exhausted?): the heap will do, or fail the same way.
        return ByteStorage(uninitializedHeapCount: size, isArenaSlab: true)
    }

    private static func ownStorage<E: Error>(
        count: Int, initializingWith initializer: (UnsafeMutableRawBufferPointer) throws(E) -> Void
    ) throws(E) -> ByteStorage {
        guard count > 0, let (p, length) = map(count) else {
            return try ByteStorage(count: count, initializingWith: initializer)
        }
        let storage = ByteStorage(mapping: p, mappedLength: length, count: count, isArenaSlab: false)
        try initializer(UnsafeMutableRawBufferPointer(start: storage.baseAddress, count: count))
        return storage
    }

    /// A private anonymous mapping of at least `size` bytes (whole pages), or `nil` if `mmap` fails.
    ///
    /// No `madvise(MADV_HUGEPAGE)`: on the VMs this was measured on, first-touching 1 GB of
    /// fresh transparent huge pages took 2.3–2.7 s after the machine had been idle a few seconds
    /// (the host must back the memory again) against 0.36–0.40 s with 4 KiB pages (0.05 s only
    /// when huge pages freed just before are reused), so huge pages are left to the system's policy.
    static func map(_ size: Int) -> (UnsafeMutableRawPointer, Int)? {
        let length = roundUp(size, pageSize)
        let raw = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let raw, raw != MAP_FAILED else { return nil }
        return (raw, length)
    }
}
