/// The id of a row: a ``Tuid``, stored big-endian (time, then counter) in a chunk's row-id column;
/// a type of its own so that it is never mixed up with a ``ChunkId``. Rows are ordered by it.
///
/// Text form: the TUID's 32 hex digits (``description``), as query answers print it.
///
/// ```swift
/// let row = RowId(parsing: "18EA719E342D2970275e5ef01982e30f")!
/// print(row)           // 18EA719E342D2970275e5ef01982e30f
/// ```
public struct RowId: TuidBacked {
    /// The TUID.
    public var tuid: Tuid

    /// The row id of this TUID.
    @inlinable
    public init(_ tuid: Tuid) { self.tuid = tuid }

    /// Parses 32 hex digits, optionally prefixed `row_` (either case); nil otherwise (a `chunk_`
    /// prefix included).
    public init?(parsing text: some StringProtocol) {
        guard !text.hasPrefix("chunk_"), let tuid = Tuid(parsing: text) else { return nil }
        self.tuid = tuid
    }

    /// The TUID's 32 hex digits.
    public var description: String { tuid.description }
}
