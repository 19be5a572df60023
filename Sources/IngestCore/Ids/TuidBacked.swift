/// An id of its own type backed by a ``Tuid`` (``ChunkId``, ``RowId``): the two are never mixed
/// up, yet share the TUID's order, equality and hashing, defined once here.
///
/// A conforming type stores the TUID and says how it prints; everything else comes from the TUID.
public protocol TuidBacked: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The TUID.
    var tuid: Tuid { get }
    /// The id of this TUID.
    init(_ tuid: Tuid)
}

extension TuidBacked {
    /// The id of the TUID (`timeNs`, `inc`).
    @inlinable
    public init(timeNs: UInt64, inc: UInt64) { self.init(Tuid(timeNs: timeNs, inc: inc)) }

    /// Equal TUIDs.
    @inlinable
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.tuid == rhs.tuid }

    /// The TUID order (time, then counter).
    @inlinable
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.tuid < rhs.tuid }

    /// The TUID's ``Tuid/hash64``.
    @inlinable
    public var hash64: UInt64 { tuid.hash64 }

    /// Feeds the TUID to `hasher`.
    @inlinable
    public func hash(into hasher: inout Hasher) { tuid.hash(into: &hasher) }

    /// The TUID's `Tuid._rawHashValue(seed:)` (no SipHash for sets and dictionaries of ids).
    @inlinable
    public func _rawHashValue(seed: Int) -> Int { tuid._rawHashValue(seed: seed) }
}
