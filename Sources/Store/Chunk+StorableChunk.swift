import Chunks

/// The decoded chunk model, as the store sees it: `Chunk` already offers every accessor the protocol
/// names (`Chunk+IndexAccess.swift` in `Chunks`). Rows are in RowId order (the decoder sorts them); time
/// ranges and sortedness were computed once at decode time.
extension Chunk: StorableChunk {}

extension CellHit where C == Chunk {
    /// The cell as JSON text, rendered like pyarrow's `to_pylist()` (the query contract's `value`).
    public var jsonValue: String { box.chunk.components[component].jsonValue(at: row) }
}
