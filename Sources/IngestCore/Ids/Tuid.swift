/// A 128-bit time-based unique id (TUID): `timeNs` (approximate wall-clock nanoseconds since the
/// Unix epoch) followed by `inc` (a per-thread counter). Chunk ids (``ChunkId``) and row ids
/// (``RowId``) are TUIDs, kept apart by their own types.
///
/// Ordering is by `timeNs`, then `inc`: the byte order of the big-endian Arrow encoding.
public struct Tuid: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The high half: approximate wall-clock nanoseconds since the Unix epoch when the id was made.
    public var timeNs: UInt64
    /// The low half: the writer's per-thread counter, which tells apart ids made in the same
    /// nanosecond.
    public var inc: UInt64

    /// The TUID with these two halves.
    @inlinable
    public init(timeNs: UInt64, inc: UInt64) {
        self.timeNs = timeNs
        self.inc = inc
    }

    /// Whether both halves are equal.
    @inlinable
    public static func == (lhs: Tuid, rhs: Tuid) -> Bool {
        lhs.timeNs == rhs.timeNs && lhs.inc == rhs.inc
    }

    /// Orders by `timeNs`, then `inc`.
    @inlinable
    public static func < (lhs: Tuid, rhs: Tuid) -> Bool {
        (lhs.timeNs, lhs.inc) < (rhs.timeNs, rhs.inc)
    }

    /// The id's 64-bit hash: both halves through ``HashMixer/mix(_:_:)``. What every table of ids
    /// hashes with (`PositionTable` buckets, `Set`/`Dictionary` through `_rawHashValue(seed:)`).
    @inlinable
    public var hash64: UInt64 { HashMixer.mix(timeNs, inc) }

    /// Feeds ``hash64`` to `hasher` (for hashing an id as part of a larger value).
    @inlinable
    public func hash(into hasher: inout Hasher) {
        hasher.combine(hash64)
    }

    /// The hash that `Set`/`Dictionary` use: ``hash64`` with the table's seed folded in, without
    /// `Hasher` (SipHash showed at several percent of the small-chunk profile, three id look-ups per
    /// chunk). Equal TUIDs hash equally, as `Hashable` requires.
    @inlinable
    public func _rawHashValue(seed: Int) -> Int {
        Int(truncatingIfNeeded: HashMixer.mix(timeNs ^ UInt64(UInt(bitPattern: seed)), inc))
    }

    /// 16 upper-case hex digits of `timeNs` followed by 16 lower-case hex digits of `inc` (the form
    /// of Rerun's `Tuid` display).
    public var description: String {
        Tuid.hex(timeNs, upper: true) + Tuid.hex(inc, upper: false)
    }

    /// Parses 32 hex digits, optionally prefixed `chunk_` or `row_` (either case accepted).
    public init?(parsing text: some StringProtocol) {
        var s = Substring(text)
        if s.hasPrefix("chunk_") { s = s.dropFirst(6) } else if s.hasPrefix("row_") { s = s.dropFirst(4) }
        guard s.utf8.count == 32,
            let hi = UInt64(s.prefix(16), radix: 16),
            let lo = UInt64(s.suffix(16), radix: 16)
        else { return nil }
        self.init(timeNs: hi, inc: lo)
    }

    static func hex(_ value: UInt64, upper: Bool) -> String {
        let digits: [UInt8] = upper ? Array("0123456789ABCDEF".utf8) : Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: 0, count: 16)
        var v = value
        for i in stride(from: 15, through: 0, by: -1) {
            out[i] = digits[Int(v & 0xF)]
            v >>= 4
        }
        return String(decoding: out, as: UTF8.self)
    }
}
