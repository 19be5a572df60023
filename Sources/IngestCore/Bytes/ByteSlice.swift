#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An immutable block of bytes shared by every slice cut from it.
///
/// The reader fills one storage per message (or a larger read block) and then never writes to it
/// again, which is what makes sharing it across threads sound. Two exceptions keep that promise:
/// RRD's `ReadBlockRecycler` refills a block only when it holds the sole reference to it, and a
/// `PayloadArena` slab (``isArenaSlab``) is written only in ranges no slice covers yet.
public final class ByteStorage: @unchecked Sendable {
    // @unchecked: the memory is written only before the storage is published (in `init`'s
    // `initializer` closure), by the sole owner (read-block reuse), or in a range not yet handed out
    // (arena slabs); it is freed in `deinit`.
    public let baseAddress: UnsafeMutableRawPointer
    public let count: Int
    /// Whether this storage is a `PayloadArena` slab (RRD): many payloads, each a slice that is meant
    /// to keep the slab alive (so a consumer need not copy a small slice of it, unlike a slice of a
    /// read block).
    public let isArenaSlab: Bool
    /// Length of the `mmap`ed region when the memory is a private mapping (0: heap memory).
    private let mappedLength: Int
    /// Where the mapping goes when this storage is freed (an arena slab whose arena recycles slabs);
    /// nil: `munmap`ed.
    private let pool: SlabPool?

    /// Allocates `count` bytes (16-byte aligned) and lets `initializer` fill them once.
    public init<E: Error>(
        count: Int,
        initializingWith initializer: (UnsafeMutableRawBufferPointer) throws(E) -> Void
    ) throws(E) {
        let n = Swift.max(count, 1)
        let memory = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 16)
        do {
            try initializer(UnsafeMutableRawBufferPointer(start: memory, count: count))
        } catch {
            // Stored properties are not yet initialized, so `deinit` will not run and free it again.
            memory.deallocate()
            throw error
        }
        baseAddress = memory
        self.count = count
        isArenaSlab = false
        mappedLength = 0
        pool = nil
    }

    /// Takes ownership of an `mmap`ed region of `mappedLength` bytes starting at `mapping`
    /// (`munmap`ed in `deinit`, or handed to `pool` if it takes it), of which the first `count`
    /// bytes are the storage.
    package init(mapping: UnsafeMutableRawPointer, mappedLength: Int, count: Int, isArenaSlab: Bool, pool: SlabPool? = nil) {
        precondition(count <= mappedLength)
        baseAddress = mapping
        self.count = count
        self.mappedLength = mappedLength
        self.isArenaSlab = isArenaSlab
        self.pool = pool
    }

    /// `heapCount` bytes of heap memory, left for the owner to write (arena slabs when `mmap` fails).
    package init(uninitializedHeapCount heapCount: Int, isArenaSlab: Bool) {
        baseAddress = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(heapCount, 1), alignment: 16)
        count = heapCount
        mappedLength = 0
        self.isArenaSlab = isArenaSlab
        pool = nil
    }

    /// Copies `bytes` into a new storage.
    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(count: bytes.count) { dst in
            if let src = bytes.baseAddress, bytes.count > 0 { dst.baseAddress!.copyMemory(from: src, byteCount: bytes.count) }
        }
    }

    /// Copies an array of bytes into a new storage.
    public convenience init(_ bytes: [UInt8]) {
        self.init(count: bytes.count) { dst in
            bytes.withUnsafeBytes { src in
                if src.count > 0 { dst.baseAddress!.copyMemory(from: src.baseAddress!, byteCount: src.count) }
            }
        }
    }

    deinit {
        if mappedLength > 0 {
            // No slice of this storage is left: nobody reads the bytes any more, so the mapping may
            // be written again by the arena that takes it back.
            if let pool, pool.recycle(baseAddress, length: mappedLength) { return }
            munmap(baseAddress, mappedLength)
        } else {
            baseAddress.deallocate()
        }
    }
}

/// A range of bytes inside a ``ByteStorage``: how payloads travel without being copied.
public struct ByteSlice: Sendable, Hashable {
    public let storage: ByteStorage
    public let range: Range<Int>

    public init(storage: ByteStorage, range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= storage.count, "slice out of bounds")
        self.storage = storage
        self.range = range
    }

    /// The whole storage.
    public init(_ storage: ByteStorage) { self.init(storage: storage, range: 0..<storage.count) }

    /// A new storage holding a copy of `bytes`.
    public init(copying bytes: [UInt8]) { self.init(ByteStorage(bytes)) }

    public var count: Int { range.count }
    public var isEmpty: Bool { range.isEmpty }

    /// Lends the bytes for the duration of `body`; the pointer must not escape.
    @inlinable
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: storage.baseAddress + range.lowerBound, count: range.count))
    }

    /// A sub-slice; `sub` is relative to this slice.
    public func slice(_ sub: Range<Int>) -> ByteSlice {
        precondition(sub.lowerBound >= 0 && sub.upperBound <= count, "sub-slice out of bounds")
        return ByteSlice(storage: storage, range: (range.lowerBound + sub.lowerBound)..<(range.lowerBound + sub.upperBound))
    }

    /// A copy of the bytes as an array (tests and small values only).
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    public static func == (lhs: ByteSlice, rhs: ByteSlice) -> Bool {
        if lhs.count != rhs.count { return false }
        if lhs.storage === rhs.storage && lhs.range == rhs.range { return true }
        if lhs.isEmpty { return true }
        // memcmp: `elementsEqual` walks byte by byte, which is very slow in debug builds.
        let a = lhs.storage.baseAddress + lhs.range.lowerBound
        let b = rhs.storage.baseAddress + rhs.range.lowerBound
        return memcmp(a, b, lhs.count) == 0
    }

    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

/// The released full-size slabs of one `PayloadArena` (RRD), waiting to be filled again: slabs are
/// released on whichever thread drops their last slice (a store's worker) and taken by the thread
/// that fills the arena (the reader), hence the lock (a pthread mutex, which ThreadSanitizer
/// understands).
package final class SlabPool: @unchecked Sendable {
    // @unchecked: `free` and `closed` are only touched with `mutex` held.
    /// The length of every mapping the pool takes.
    package let slabLength: Int
    /// How many mappings may wait.
    package let capacity: Int
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var free: [UnsafeMutableRawPointer] = []
    private var closed = false

    package init(slabLength: Int, capacity: Int) {
        self.slabLength = slabLength
        self.capacity = capacity
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let rc = pthread_mutex_init(mutex, nil)
        precondition(rc == 0, "pthread_mutex_init failed: \(rc)")
        free.reserveCapacity(capacity)
    }

    deinit {
        for p in free { munmap(p, slabLength) }
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Takes the mapping at `p` (of `length` bytes, no longer read by anyone) for reuse; false when
    /// it is not a full-size slab, the pool is full or closed: the caller unmaps it then.
    package func recycle(_ p: UnsafeMutableRawPointer, length: Int) -> Bool {
        guard length == slabLength else { return false }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard !closed, free.count < capacity else { return false }
        free.append(p)
        return true
    }

    /// A released mapping of ``slabLength`` bytes, if one waits.
    package func take() -> UnsafeMutableRawPointer? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return free.popLast()
    }

    /// Unmaps the waiting mappings and refuses any more (the arena is gone).
    package func close() {
        pthread_mutex_lock(mutex)
        let waiting = free
        free.removeAll()
        closed = true
        pthread_mutex_unlock(mutex)
        for p in waiting { munmap(p, slabLength) }
    }

    /// How many mappings wait (tests).
    package var waiting: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return free.count
    }
}
