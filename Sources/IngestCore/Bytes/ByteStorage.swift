#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An immutable block of bytes, shared by every slice (``ByteSlice``) and array view cut from it.
///
/// The memory is one of:
/// - heap memory the storage owns (64-byte aligned unless asked otherwise), filled once by the
///   initializer closure of ``init(count:alignment:initializingWith:)`` (or copied in by
///   `init(copying:)`);
/// - memory borrowed from an owner object that keeps it alive and unchanged
///   (``init(unsafeBorrowing:owner:)``): a zero-copy view over bytes someone else allocated;
/// - a private `mmap` mapping: a ``SlabArena`` slab or a large allocation of its own, unmapped when
///   the last reference goes, or handed back to the arena's recycling pool.
///
/// ```swift
/// let storage = ByteStorage(count: 4) { $0.copyBytes(from: [1, 2, 3, 4]) }
/// let tail = ByteSlice(storage: storage, range: 2..<4)
/// tail.withUnsafeBytes { print(Array($0)) }   // [3, 4]
/// ```
///
/// The bytes never change once a storage is shared, which is what makes sharing it across threads
/// sound. Three writers keep that promise: a ``ReadBlockRecycler`` refills a block only while it
/// holds the sole reference to it; a decoder assembling a payload writes to a storage no slice of
/// which exists yet; and a ``SlabArena`` writes into its slab (``isArenaSlab``) only in ranges no
/// slice covers yet.
public final class ByteStorage: @unchecked Sendable {
    // @unchecked: the memory is written only before the storage is published (the initializer
    // closure), by its sole owner (read-block reuse, payload assembly), or in ranges not yet handed
    // out (arena slabs); borrowed memory is immutable by the caller's promise. `backing` is a `let`,
    // and the memory lives until `deinit` (owned or mapped) or as long as `owner` (borrowed).

    /// The first byte. Valid for ``count`` bytes while this storage is alive; prefer
    /// ``withUnsafeBytes(_:)``. Exposed for the `@inlinable` array views of ArrowIPC, which read
    /// their buffers at checked offsets from it.
    public let unsafeBaseAddress: UnsafeRawPointer
    /// Number of bytes.
    public let count: Int
    /// Whether this storage is a ``SlabArena`` slab: many allocations, each a slice that is meant
    /// to keep the slab alive (so a consumer need not copy a small slice of it, unlike a small slice
    /// of a large read block).
    public let isArenaSlab: Bool
    /// What happens to the memory when this storage goes.
    private let backing: Backing

    private enum Backing {
        /// Heap memory this storage allocated: deallocated.
        case heap
        /// A private anonymous mapping of `length` bytes: handed to `pool` if it takes it, else unmapped.
        case mapping(length: Int, pool: SlabPool?)
        /// Memory kept alive by `owner`: nothing to free.
        case borrowed(any Sendable & AnyObject)
    }

    /// Allocates `count` bytes and lets `initializer` fill them once.
    ///
    /// The memory is not zero-filled (a measured 5% of small-chunk decoding): the initializer must
    /// write every byte that readers will read.
    /// - Parameters:
    ///   - count: the number of bytes, at least 0.
    ///   - alignment: of the first byte, a power of two; 64 (Arrow's buffer alignment) by default.
    ///     Blocks of a byte stream (read blocks, payloads being assembled) ask for 16, `malloc`'s
    ///     own: above it every allocation takes the aligned-allocation path, which held 7–11 MB
    ///     more resident memory in replays of mixed_500mb.
    ///   - initializer: called once, before the initializer returns, with the `count` bytes to fill;
    ///     the pointer does not outlive the call.
    /// - Throws: what `initializer` throws; the memory is then freed.
    public init<E: Error>(
        count: Int, alignment: Int = 64,
        initializingWith initializer: (UnsafeMutableRawBufferPointer) throws(E) -> Void
    ) throws(E) {
        precondition(count >= 0, "negative ByteStorage count")
        precondition(alignment > 0 && alignment & (alignment - 1) == 0, "ByteStorage alignment is not a power of two")
        let memory = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(count, 1), alignment: alignment)
        do {
            try initializer(UnsafeMutableRawBufferPointer(start: memory, count: count))
        } catch {
            // Stored properties are not yet initialized, so `deinit` will not run and free it again.
            memory.deallocate()
            throw error
        }
        unsafeBaseAddress = UnsafeRawPointer(memory)
        self.count = count
        isArenaSlab = false
        backing = .heap
    }

    /// Wraps memory that `owner` keeps alive, without copying.
    ///
    /// - Precondition: `bytes` stays valid and unchanged for as long as `owner` lives.
    public init(unsafeBorrowing bytes: UnsafeRawBufferPointer, owner: any Sendable & AnyObject) {
        // An empty buffer may have no address; any aligned non-null one will do, it is never read.
        unsafeBaseAddress = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!
        count = bytes.count
        isArenaSlab = false
        backing = .borrowed(owner)
    }

    /// Copies `bytes` into a new storage.
    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(count: bytes.count) { dst in
            if let src = bytes.baseAddress, bytes.count > 0 { dst.baseAddress!.copyMemory(from: src, byteCount: bytes.count) }
        }
    }

    /// Copies an array of bytes into a new storage (tests and small inputs).
    public convenience init(copying bytes: [UInt8]) {
        self.init(count: bytes.count) { dst in
            bytes.withUnsafeBytes { src in
                if !src.isEmpty { dst.copyMemory(from: src) }
            }
        }
    }

    /// Takes ownership of the private mapping of `mappedLength` bytes at `mapping`, of which the
    /// first `count` bytes are the storage: `munmap`ed in `deinit`, unless `pool` takes it back.
    /// The owner (an arena) writes the bytes.
    init(mapping: UnsafeMutableRawPointer, mappedLength: Int, count: Int, isArenaSlab: Bool, pool: SlabPool?) {
        precondition(count <= mappedLength && mappedLength > 0)
        unsafeBaseAddress = UnsafeRawPointer(mapping)
        self.count = count
        self.isArenaSlab = isArenaSlab
        backing = .mapping(length: mappedLength, pool: pool)
    }

    /// `count` bytes of heap memory (64-byte aligned), left for the owner to write (arena slabs when
    /// `mmap` fails).
    init(uninitializedHeapCount count: Int, isArenaSlab: Bool) {
        unsafeBaseAddress = UnsafeRawPointer(
            UnsafeMutableRawPointer.allocate(byteCount: Swift.max(count, 1), alignment: 64))
        self.count = count
        self.isArenaSlab = isArenaSlab
        backing = .heap
    }

    deinit {
        let memory = UnsafeMutableRawPointer(mutating: unsafeBaseAddress)
        switch backing {
        case .heap:
            memory.deallocate()
        case .mapping(let length, let pool):
            // No slice of this storage exists any more: the mapping can be written again by the
            // arena that takes it back.
            if let pool, pool.recycle(memory, length: length) { return }
            munmap(memory, length)
        case .borrowed:
            break
        }
    }

    /// The first byte, for writing: only while no slice of the storage exists yet (a decoder
    /// assembling a payload into a storage of its own) or while holding its sole reference.
    package var unsafeMutableBaseAddress: UnsafeMutableRawPointer { UnsafeMutableRawPointer(mutating: unsafeBaseAddress) }

    /// Lends the bytes in `range` for the duration of `body`; the pointer must not escape.
    /// - Precondition: `range` lies within `0..<count`.
    @inlinable
    public func withUnsafeBytes<R, E: Error>(
        _ range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "ByteStorage range out of bounds")
        return try body(UnsafeRawBufferPointer(start: unsafeBaseAddress + range.lowerBound, count: range.count))
    }

    /// Lends all bytes for the duration of `body`; the pointer must not escape.
    @inlinable
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: unsafeBaseAddress, count: count))
    }
}
