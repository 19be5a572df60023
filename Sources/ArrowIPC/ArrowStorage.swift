#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// An immutable block of bytes that array views point into.
///
/// Either it owns its memory (allocated for decompressed bodies) or it borrows memory that another
/// immutable object (`owner`) keeps alive, which is how the reader stays zero-copy over a payload it
/// did not allocate. The bytes never change after `init`, which makes sharing across threads sound,
/// with one exception: an ``ArrowBodyArena`` slab is written in ranges that no view covers yet.
public final class ArrowStorage: @unchecked Sendable {
    // @unchecked: `base` points to memory that is immutable after init (an arena slab: in every range
    // handed out) and lives as long as this object (owned allocation or mapping freed in deinit, or
    // kept alive through `owner`).
    @usableFromInline let base: UnsafeRawPointer
    /// Number of bytes.
    public let count: Int
    private let owner: (any Sendable & AnyObject)?
    private let owned: Bool
    /// Length of the `mmap`ed region of an arena slab (0: not a mapping).
    private let mappedLength: Int

    /// Wraps memory owned by `owner` without copying.
    ///
    /// - Precondition: `bytes` stays valid and unchanged for as long as `owner` lives.
    public init(unsafeBorrowing bytes: UnsafeRawBufferPointer, owner: any Sendable & AnyObject) {
        base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 16)!
        count = bytes.count
        self.owner = owner
        owned = false
        mappedLength = 0
    }

    /// Allocates `count` bytes (64-byte aligned) and lets `initializer` fill them once.
    ///
    /// The memory is not zero-filled (a measured 5% of small-chunk decoding): the initializer must
    /// write every byte that views will read.
    public init<E: Error>(
        count: Int, initializingWith initializer: (UnsafeMutableRawBufferPointer) throws(E) -> Void
    ) throws(E) {
        let p = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(count, 1), alignment: 64)
        do {
            try initializer(UnsafeMutableRawBufferPointer(start: p, count: count))
        } catch {
            p.deallocate()
            throw error
        }
        base = UnsafeRawPointer(p)
        self.count = count
        owner = nil
        owned = true
        mappedLength = 0
    }

    /// An ``ArrowBodyArena`` slab of `count` bytes (a private anonymous mapping, or heap memory when
    /// `mmap` fails), written by the arena in ranges not handed out yet.
    init(slabOf count: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let length = (count + page - 1) / page * page
        let raw =
            length == SpareSlabs.slabSize
            ? SpareSlabs.take() ?? mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            : mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        if let raw, raw != MAP_FAILED {
            base = UnsafeRawPointer(raw)
            mappedLength = length
            owned = false
        } else {
            base = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: Swift.max(count, 1), alignment: 64))
            mappedLength = 0
            owned = true
        }
        self.count = count
        owner = nil
    }

    /// Copies `bytes` into a new storage (tests and small inputs).
    public convenience init(copying bytes: [UInt8]) {
        self.init(count: bytes.count) { dst in
            bytes.withUnsafeBytes { src in
                if !src.isEmpty { dst.copyMemory(from: src) }
            }
        }
    }

    deinit {
        if mappedLength > 0 {
            munmap(UnsafeMutableRawPointer(mutating: base), mappedLength)
        } else if owned {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        }
    }

    /// Lends the bytes in `range` for the duration of `body`; the pointer must not escape.
    @inlinable
    public func withUnsafeBytes<R, E: Error>(
        _ range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "ArrowStorage range out of bounds")
        return try body(UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count))
    }

    /// Lends all bytes for the duration of `body`.
    @inlinable
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withUnsafeBytes(0..<count, body)
    }
}

/// Full-size ``ArrowBodyArena`` slabs whose pages were touched ahead of time, by a thread that had
/// nothing better to do.
///
/// A store's worker writes every byte a small chunk keeps into fresh slab memory, and on a virtual
/// machine the page faults of that first touch are a large share of its time. A thread that would
/// otherwise wait (`ingest replay`'s reader, blocked on a full store queue) can make the next slabs
/// instead (``prefault(upTo:)``); ``ArrowBodyArena`` takes one whenever it needs a slab of
/// ``slabSize`` bytes. The pool is process-wide and holds at most a few slabs, so what it keeps
/// around is bounded (``prefault(upTo:)``'s limit × 4 MiB).
public enum SpareSlabs {
    /// The size of the slabs kept: an ``ArrowBodyArena``'s default ``ArrowBodyArena/maxSlabSize``.
    public static let slabSize = 4 << 20

    private static let pool = Mutex<[UInt]>([])

    /// Slabs waiting to be taken.
    public static var count: Int { pool.withLock { $0.count } }

    /// Maps one slab and touches each of its pages, if fewer than `limit` are waiting. Returns whether
    /// it made one (false: enough are waiting, or `mmap` failed).
    @discardableResult
    public static func prefault(upTo limit: Int = 4) -> Bool {
        guard pool.withLock({ $0.count }) < limit else { return false }
        let raw = mmap(nil, slabSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let raw, raw != MAP_FAILED else { return false }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        for at in stride(from: 0, to: slabSize, by: page) { raw.storeBytes(of: 0, toByteOffset: at, as: UInt8.self) }
        let kept = pool.withLock { p -> Bool in
            guard p.count < limit else { return false }
            p.append(UInt(bitPattern: raw))
            return true
        }
        if !kept { munmap(raw, slabSize) }
        return kept
    }

    /// A waiting slab (``slabSize`` bytes, mapped, zero-filled), or nil.
    static func take() -> UnsafeMutableRawPointer? {
        pool.withLock { $0.popLast() }.flatMap { UnsafeMutableRawPointer(bitPattern: $0) }
    }
}

/// A bump allocator for what compacted record batches keep
/// (``ArrowStreamReader/read(_:validateFully:compactingInto:schemaMetadata:)``): many small batches
/// share one large ``ArrowStorage`` slab, each using a 16-byte aligned range of it, so a batch costs
/// no allocation of its own, and a slab is freed when the last batch using it goes.
///
/// Slabs grow from ``minSlabSize`` (doubling) to ``maxSlabSize``, so that a store receiving little
/// costs little; a request above a quarter of ``maxSlabSize`` gets a storage of its own. Keep one
/// arena per store: one long-lived batch keeps its whole slab alive, so stores should not share.
///
/// Not thread-safe: one arena per thread at a time. The storages it hands out are immutable in the
/// ranges handed out and may be shared freely.
public final class ArrowBodyArena {
    /// The size of the first slab.
    public let minSlabSize: Int
    /// The size slabs grow to.
    public let maxSlabSize: Int
    /// Slabs created so far (statistics and tests).
    public private(set) var slabsCreated = 0

    private var slab: ArrowStorage?
    private var used = 0
    private var nextSlabSize: Int

    /// Alignment of each range inside a slab.
    public static let alignment = 16

    /// An arena whose slabs grow from `minSlabSize` to `maxSlabSize` bytes (defaults 64 KiB and 4 MiB).
    public init(minSlabSize: Int = 64 << 10, maxSlabSize: Int = 4 << 20) {
        precondition(minSlabSize > 0 && minSlabSize <= maxSlabSize, "slab sizes")
        self.minSlabSize = minSlabSize
        self.maxSlabSize = maxSlabSize
        nextSlabSize = minSlabSize
    }

    /// `count` bytes that `initializer` fills (every byte, once): a storage and the offset of the
    /// bytes in it (a slab and an aligned offset, or a storage of their own and 0).
    public func allocate(
        count: Int, initializingWith initializer: (UnsafeMutableRawBufferPointer) -> Void
    ) -> (storage: ArrowStorage, offset: Int) {
        precondition(count >= 0, "negative allocation")
        if count > maxSlabSize / 4 {
            return (ArrowStorage(count: count, initializingWith: initializer), 0)
        }
        var start = (used + Self.alignment - 1) & ~(Self.alignment - 1)
        if slab == nil || start + count > slab!.count {
            slab = ArrowStorage(slabOf: Swift.max(nextSlabSize, count))
            slabsCreated += 1
            nextSlabSize = Swift.min(nextSlabSize * 2, maxSlabSize)
            start = 0
        }
        let storage = slab!
        // No range handed out covers `start..<start + count`: writing it changes no bytes anyone sees.
        initializer(UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(mutating: storage.base) + start, count: count))
        used = start + count
        return (storage, start)
    }
}
