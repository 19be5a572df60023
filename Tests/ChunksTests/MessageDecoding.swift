import Chunks
import IngestCore
import RRD

extension ChunkDecoder {
    /// Decodes an `ArrowMsg` for these tests: its payload decompressed by RRD (a buffer of its own,
    /// at most `maxPayloadSize` bytes), then ``ChunkDecoder/decode(ipc:chunkIdHint:isStaticHint:)``
    /// with the message's hints. The engine does the same through its decompression policy
    /// (`Ingestion`'s `ChunkDecoder.decode(_:arena:)`), which this target does not depend on.
    func decode(_ msg: ArrowMsg, maxPayloadSize: UInt64 = 1 << 31) throws(ChunkError) -> Chunk {
        guard msg.encoding == 1 || msg.encoding == 0 else {
            throw ChunkError("ArrowMsg encoding \(msg.encoding) is not Arrow IPC (1)")
        }
        let payload: ByteSlice
        do {
            payload = try msg.decompressedPayload(maxSize: maxPayloadSize)
        } catch {
            throw ChunkError(error.message)
        }
        return try decode(ipc: payload, chunkIdHint: msg.chunkId, isStaticHint: msg.isStatic)
    }
}
