/// An immutable block of bytes that array views point into.
///
/// Either it owns its memory (allocated for decompressed bodies) or it borrows memory that another
/// immutable object (`owner`) keeps alive, which is how the reader stays zero-copy over a payload it
/// did not allocate. The bytes never change after `init`, which makes sharing across threads sound.
public final class ArrowStorage: @unchecked Sendable {
    // @unchecked: `base` points to memory that is immutable after init and lives as long as this
    // object (owned allocation freed in deinit, or kept alive through `owner`).
    @usableFromInline let base: UnsafeRawPointer
    /// Number of bytes.
    public let count: Int
    private let owner: (any Sendable & AnyObject)?
    private let owned: Bool

    /// Wraps memory owned by `owner` without copying.
    ///
    /// - Precondition: `bytes` stays valid and unchanged for as long as `owner` lives.
    public init(unsafeBorrowing bytes: UnsafeRawBufferPointer, owner: any Sendable & AnyObject) {
        base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 16)!
        count = bytes.count
        self.owner = owner
        owned = false
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
        if owned { UnsafeMutableRawPointer(mutating: base).deallocate() }
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
