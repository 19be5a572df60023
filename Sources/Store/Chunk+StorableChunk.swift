import Chunks
import IngestCore

/// The decoded chunk model, as the store sees it: `Chunk` already offers every accessor the protocol
/// names (`Chunk+IndexAccess.swift` in `Chunks`). Rows are in RowId order (the decoder sorts them); time
/// ranges and sortedness were computed once at decode time.
extension Chunk: StorableChunk {
    /// ``/Chunks/Chunk/concatenate(_:_:id:)``: fresh Arrow buffers holding both chunks' rows.
    public static func concatenated(_ a: Chunk, _ b: Chunk, id: ChunkId) -> Chunk? { concatenate(a, b, id: id) }

    /// ``/Chunks/Chunk/concatenate(_:id:)``: one copy of every chunk's rows into fresh Arrow buffers.
    public static func concatenated(_ chunks: [Chunk], id: ChunkId) -> Chunk? { concatenate(chunks, id: id) }
}

extension CellHit where C == Chunk {
    /// The cell as JSON text, rendered like pyarrow's `to_pylist()` (the query contract's `value`).
    public var jsonValue: String { chunk.component(at: component).jsonValue(at: row) }
}

extension ChunkStore where C == Chunk {
    /// ``insert(_:)`` for decoded chunks, compiled specialized for `Chunk` in this module.
    ///
    /// Callers in other modules reach the generic ``insert(_:)`` unspecialized: the index code then
    /// goes through witness tables and looks up generic metadata at run time (a few percent of the
    /// worker's time on tiny chunks in the `ingest replay --keep` profile). This entry point avoids that.
    @discardableResult
    public func insertChunk(_ chunk: Chunk) throws(StoreError) -> InsertOutcome {
        try insert(chunk)
    }
}
