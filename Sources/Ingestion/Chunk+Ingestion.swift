import Chunks
import IngestCore

// The only place the engine reads a `Chunk`'s fields (kept in one file so the chunk model can
// evolve without touching the engine).
extension Chunk {
    /// The chunk id, the key of de-duplication.
    var ingestChunkId: ChunkId { id }
    /// The number of rows.
    var ingestRowCount: Int { numRows }
}
