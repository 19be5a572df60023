/// A 128-bit time-based unique id (TUID): `timeNs` (approximate wall-clock nanoseconds since the
/// Unix epoch) followed by `inc` (a per-thread counter). Row ids and chunk ids are TUIDs.
///
/// Ordering is by `timeNs`, then `inc`: the byte order of the big-endian Arrow encoding.
public struct Tuid: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var timeNs: UInt64
    public var inc: UInt64

    public init(timeNs: UInt64, inc: UInt64) {
        self.timeNs = timeNs
        self.inc = inc
    }

    @inlinable
    public static func == (lhs: Tuid, rhs: Tuid) -> Bool {
        lhs.timeNs == rhs.timeNs && lhs.inc == rhs.inc
    }

    /// Feeds both halves to `hasher` (for hashing a TUID as part of a larger value).
    @inlinable
    public func hash(into hasher: inout Hasher) {
        hasher.combine(timeNs)
        hasher.combine(inc)
    }

    /// The hash that `Set`/`Dictionary` use, without `Hasher` (SipHash showed at several percent of
    /// the small-chunk profile, three TUID look-ups per chunk): a TUID is already mostly random bits
    /// (time and a counter with a random start), so a multiply-xorshift mix of both halves and the
    /// table's seed spreads them well. Equal TUIDs hash equally, as `Hashable` requires.
    @inlinable
    public func _rawHashValue(seed: Int) -> Int {
        var x = (timeNs ^ UInt64(UInt(bitPattern: seed))) &* 0x9E37_79B9_7F4A_7C15
        x ^= x >> 32
        x = (x ^ inc) &* 0xD6E8_FEB8_6659_FD93
        x ^= x >> 32
        x = x &* 0x9E37_79B9_7F4A_7C15
        x ^= x >> 29
        return Int(Int64(bitPattern: x))
    }

    @inlinable
    public static func < (lhs: Tuid, rhs: Tuid) -> Bool {
        (lhs.timeNs, lhs.inc) < (rhs.timeNs, rhs.inc)
    }

    /// 16 upper-case hex digits of `timeNs` followed by 16 lower-case hex digits of `inc`.
    public var description: String {
        Tuid.hex(timeNs, upper: true) + Tuid.hex(inc, upper: false)
    }

    /// `chunk_` + ``description``, the form of `rerun:id` metadata.
    public var chunkIdString: String { "chunk_" + description }

    /// `row_` + ``description``.
    public var rowIdString: String { "row_" + description }

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
