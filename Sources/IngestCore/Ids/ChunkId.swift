/// The id of a chunk: a ``Tuid`` (`rerun:id` in the chunk's schema metadata, `ArrowMsg.chunk_id`
/// on the wire), a type of its own so that it is never mixed up with a ``RowId``.
///
/// Text form `chunk_` + the TUID's 32 hex digits (``description``), as in `rerun:id`.
///
/// ```swift
/// let id = ChunkId(parsing: "chunk_18EA719E342D2970275e5ef01982e30f")!
/// print(id)            // chunk_18EA719E342D2970275e5ef01982e30f
/// id < ChunkId(timeNs: .max, inc: 0)
/// ```
public struct ChunkId: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The TUID.
    public var tuid: Tuid

    /// The chunk id of this TUID.
    @inlinable
    public init(_ tuid: Tuid) { self.tuid = tuid }

    /// The chunk id of the TUID (`timeNs`, `inc`).
    @inlinable
    public init(timeNs: UInt64, inc: UInt64) { tuid = Tuid(timeNs: timeNs, inc: inc) }

    /// Parses `chunk_` + 32 hex digits, or the 32 hex digits alone (either case); nil otherwise
    /// (a `row_` prefix included).
    public init?(parsing text: some StringProtocol) {
        guard !text.hasPrefix("row_"), let tuid = Tuid(parsing: text) else { return nil }
        self.tuid = tuid
    }

    @inlinable
    public static func == (lhs: ChunkId, rhs: ChunkId) -> Bool { lhs.tuid == rhs.tuid }

    /// The TUID order.
    @inlinable
    public static func < (lhs: ChunkId, rhs: ChunkId) -> Bool { lhs.tuid < rhs.tuid }

    /// The TUID's ``Tuid/hash64``.
    @inlinable
    public var hash64: UInt64 { tuid.hash64 }

    @inlinable
    public func hash(into hasher: inout Hasher) { tuid.hash(into: &hasher) }

    /// The TUID's ``Tuid/_rawHashValue(seed:)`` (no SipHash for sets and dictionaries of ids).
    @inlinable
    public func _rawHashValue(seed: Int) -> Int { tuid._rawHashValue(seed: seed) }

    /// `chunk_` + the TUID's 32 hex digits.
    public var description: String { "chunk_" + tuid.description }
}
