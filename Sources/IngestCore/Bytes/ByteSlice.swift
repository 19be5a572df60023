#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A range of bytes inside a ``ByteStorage``: how payloads travel without being copied.
///
/// A slice keeps its whole storage alive. Two slices are equal when their bytes are (wherever they
/// live), and hash by their bytes.
///
/// ```swift
/// let message = ByteSlice(copying: [0, 1, 2, 3, 4, 5])
/// let payload = message.slice(2..<5)            // no copy
/// print(payload.bytes, payload == ByteSlice(copying: [2, 3, 4]))   // [2, 3, 4] true
/// ```
public struct ByteSlice: Sendable, Hashable {
    // The small members are `@inlinable`: the decoders cut a few slices per message, and called
    // across modules (they used to live in the decoder's own) they showed in the instruction counts
    // of a replay of many small chunks. Each only forms a range or checks one.
    /// The storage the bytes lie in.
    public let storage: ByteStorage
    /// Where the bytes lie in ``storage``.
    public let range: Range<Int>

    /// The bytes of `storage` in `range`.
    /// - Precondition: `range` lies within `0..<storage.count`.
    @inlinable
    public init(storage: ByteStorage, range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= storage.count, "slice out of bounds")
        self.storage = storage
        self.range = range
    }

    /// The whole storage.
    @inlinable
    public init(_ storage: ByteStorage) { self.init(storage: storage, range: 0..<storage.count) }

    /// A new storage holding a copy of `bytes`.
    public init(copying bytes: [UInt8]) { self.init(ByteStorage(copying: bytes)) }

    /// Number of bytes.
    @inlinable
    public var count: Int { range.count }
    /// Whether the slice has no bytes.
    @inlinable
    public var isEmpty: Bool { range.isEmpty }

    /// Lends the bytes for the duration of `body`; the pointer must not escape.
    @inlinable
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: storage.unsafeBaseAddress + range.lowerBound, count: range.count))
    }

    /// A sub-slice; `sub` is relative to this slice.
    /// - Precondition: `sub` lies within `0..<count`.
    @inlinable
    public func slice(_ sub: Range<Int>) -> ByteSlice {
        precondition(sub.lowerBound >= 0 && sub.upperBound <= count, "sub-slice out of bounds")
        return ByteSlice(storage: storage, range: (range.lowerBound + sub.lowerBound)..<(range.lowerBound + sub.upperBound))
    }

    /// A copy of the bytes as an array (tests and small values only).
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Whether both slices hold the same bytes.
    public static func == (lhs: ByteSlice, rhs: ByteSlice) -> Bool {
        if lhs.count != rhs.count { return false }
        if lhs.storage === rhs.storage && lhs.range == rhs.range { return true }
        if lhs.isEmpty { return true }
        // memcmp: `elementsEqual` walks byte by byte, which is very slow in debug builds.
        let a = lhs.storage.unsafeBaseAddress + lhs.range.lowerBound
        let b = rhs.storage.unsafeBaseAddress + rhs.range.lowerBound
        return memcmp(a, b, lhs.count) == 0
    }

    /// Hashes the bytes.
    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}
