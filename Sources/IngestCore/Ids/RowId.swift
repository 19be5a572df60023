/// The id of a row: a ``Tuid``, stored big-endian (time, then counter) in a chunk's row-id column;
/// a type of its own so that it is never mixed up with a ``ChunkId``. Rows are ordered by it.
///
/// Text form: the TUID's 32 hex digits (``description``), as query answers print it.
///
/// ```swift
/// let row = RowId(parsing: "18EA719E342D2970275e5ef01982e30f")!
/// print(row)           // 18EA719E342D2970275e5ef01982e30f
/// ```
public struct RowId: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The TUID.
    public var tuid: Tuid

    /// The row id of this TUID.
    @inlinable
    public init(_ tuid: Tuid) { self.tuid = tuid }

    /// The row id of the TUID (`timeNs`, `inc`).
    @inlinable
    public init(timeNs: UInt64, inc: UInt64) { tuid = Tuid(timeNs: timeNs, inc: inc) }

    /// Parses 32 hex digits, optionally prefixed `row_` (either case); nil otherwise (a `chunk_`
    /// prefix included).
    public init?(parsing text: some StringProtocol) {
        guard !text.hasPrefix("chunk_"), let tuid = Tuid(parsing: text) else { return nil }
        self.tuid = tuid
    }

    @inlinable
    public static func == (lhs: RowId, rhs: RowId) -> Bool { lhs.tuid == rhs.tuid }

    /// The TUID order.
    @inlinable
    public static func < (lhs: RowId, rhs: RowId) -> Bool { lhs.tuid < rhs.tuid }

    /// The TUID's ``Tuid/hash64``.
    @inlinable
    public var hash64: UInt64 { tuid.hash64 }

    @inlinable
    public func hash(into hasher: inout Hasher) { tuid.hash(into: &hasher) }

    /// The TUID's ``Tuid/_rawHashValue(seed:)`` (no SipHash for sets and dictionaries of ids).
    @inlinable
    public func _rawHashValue(seed: Int) -> Int { tuid._rawHashValue(seed: seed) }

    /// The TUID's 32 hex digits.
    public var description: String { tuid.description }
}
