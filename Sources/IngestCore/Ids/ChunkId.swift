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
public struct ChunkId: TuidBacked {
    /// The TUID.
    public var tuid: Tuid

    /// The chunk id of this TUID.
    @inlinable
    public init(_ tuid: Tuid) { self.tuid = tuid }

    /// Parses `chunk_` + 32 hex digits, or the 32 hex digits alone (either case); nil otherwise
    /// (a `row_` prefix included).
    public init?(parsing text: some StringProtocol) {
        guard !text.hasPrefix("row_"), let tuid = Tuid(parsing: text) else { return nil }
        self.tuid = tuid
    }

    /// `chunk_` + the TUID's 32 hex digits.
    public var description: String { "chunk_" + tuid.description }
}
