/// The engine's one 64-bit mixer: ids (``Tuid``, ``ChunkId``, ``RowId``) and the byte hash
/// (``ByteHasher``) finish through it, and every `PositionTable` takes its bucket bits from it.
///
/// No per-process random seed and no SipHash: the tables only need a good spread (SipHash showed
/// at several percent of the small-chunk profile, with a few id look-ups per chunk), and the keys
/// are already mostly random bits (TUIDs: a time and a counter with a random start). The finaliser
/// is MurmurHash3's `fmix64`, whose every output bit depends on every input bit.
///
/// ```swift
/// let h = HashMixer.mix(id.timeNs, id.inc)   // what `Tuid.hash64` is
/// ```
public enum HashMixer {
    /// The odd 64-bit golden-ratio constant that spreads a word before it is combined.
    public static let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// Mixes one word (`fmix64`): a bijection, so distinct words never collide.
    @inlinable
    public static func mix(_ x: UInt64) -> UInt64 {
        // Wrapping arithmetic is the point of a multiplicative mixer.
        var h = x
        h ^= h >> 33
        h &*= 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        h &*= 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return h
    }

    /// Mixes two words (the halves of a 128-bit id): `b` is spread by ``multiplier`` first, so
    /// ids that share their high word and count up in the low one still land far apart.
    @inlinable
    public static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        mix(a ^ (b &* multiplier))
    }
}

/// The engine's one byte hash: 8 bytes at a time through a multiply-xorshift step, finished with
/// ``HashMixer/mix(_:)``. For the decoder's schema cache (schema message bytes, with the ranges
/// that vary masked out), its entity-path interning and the store's entity table.
///
/// Not seeded and not collision-resistant: every user confirms a match by comparing the bytes.
///
/// ```swift
/// var h = ByteHasher()
/// h.combine(bytes)
/// h.combine(count)
/// let key = h.value
/// ```
public struct ByteHasher {
    @usableFromInline var state: UInt64 = 0

    /// An empty hash.
    @inlinable public init() {}

    /// The hash of everything combined so far.
    @inlinable public var value: UInt64 { HashMixer.mix(state) }

    /// Mixes in an integer (a length, a count).
    @inlinable
    public mutating func combine(_ n: Int) { step(UInt64(bitPattern: Int64(n))) }

    /// Mixes in bytes (their count included, so adjacent pieces cannot trade bytes unnoticed).
    @inlinable
    public mutating func combine(_ bytes: UnsafeRawBufferPointer) {
        var i = 0
        while i + 8 <= bytes.count {
            step(bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < bytes.count {
            tail |= UInt64(bytes[i]) << shift
            shift += 8
            i += 1
        }
        step(tail ^ (UInt64(bytes.count) << 56))
    }

    /// One word into the state: a single multiply per 8 bytes (the full ``HashMixer/mix(_:)``
    /// per word would double the cost of hashing a schema message; the value is finished with it).
    @inlinable
    mutating func step(_ w: UInt64) {
        var h = state ^ w
        h = h &* HashMixer.multiplier
        h ^= h >> 29
        state = h
    }

    /// The hash of `bytes` alone.
    @inlinable
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h = ByteHasher()
        h.combine(bytes)
        return h.value
    }

    /// The hash of a string's UTF-8 bytes (the same as hashing those bytes).
    @inlinable @inline(__always)
    public static func hash(_ s: String) -> UInt64 {
        if let h = s.utf8.withContiguousStorageIfAvailable({ hash(UnsafeRawBufferPointer($0)) }) { return h }
        var copy = s
        return copy.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }
}
