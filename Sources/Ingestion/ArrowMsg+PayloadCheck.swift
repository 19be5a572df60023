import ArrowIPC
import Chunks
import IngestCore
import RRD

/// What the ingestion layer adds to an RRD chunk message: checks and identity that need both the RRD
/// payload and its Arrow IPC contents, so they live above both modules.
extension ArrowMsg {
    /// Decompresses the payload (checking the declared size) and walks its Arrow IPC framing with
    /// ``/ArrowIPC/IPCFraming/check(_:)``, which runs the framing rules of the chunk decoder's reader:
    /// framing damage this finds, a fully validating decode (`ingest verify`) finds too.
    ///
    /// What `ingest print`/`stats` do with every chunk: it finds damage inside a well-framed message
    /// (corrupt LZ4, a lying `uncompressed_size`, a broken IPC message) without decoding the schema
    /// or the arrays. It lives here, above both RRD and ArrowIPC, because it joins the two.
    ///
    /// - Parameters:
    ///   - source: the input's name, for errors.
    ///   - offset: the file offset of the message header: every error is reported there.
    ///   - maxSize: a cap on the decompressed size.
    /// - Returns: the decompressed Arrow IPC stream and its messages (the last is the record batch).
    /// - Throws: ``/RRD/RRDError/Code/decompression``, ``/RRD/RRDError/Code/tooLarge`` or
    ///   ``/RRD/RRDError/Code/badPayload``; for framing damage the text gives the position inside the
    ///   payload (`Arrow IPC framing at payload byte N: …`).
    public func checkedIPCPayload(
        source: String, offset: UInt64, maxSize: UInt64 = 1 << 31
    ) throws(RRDError) -> (ipc: ByteSlice, messages: [IPCFraming.Entry]) {
        guard encoding == 1 else {
            throw RRDError(
                .badPayload, source: source, offset: offset,
                "ArrowMsg encoding: expected 1 (Arrow IPC), found \(encoding)")
        }
        let ipc = try decompressedPayload(maxSize: maxSize, source: source, offset: offset)
        do {
            let entries = try ipc.withUnsafeBytes { (b) throws(ArrowError) in try IPCFraming.check(b) }
            return (ipc, entries)
        } catch {
            throw RRDError(
                .badPayload, source: source, offset: offset,
                "Arrow IPC framing at payload byte \(error.offset): \(error.message)")
        }
    }
}

/// The chunk identity of a message, completed from its payload's schema where the message lacks it.
extension ArrowMsg {
    /// The chunk id and static flag of this message's chunk: its own fields, or where it lacks them
    /// (rerun-sdk 0.23 writes neither, 0.24 no `is_static`) what the schema of its decompressed
    /// payload says (``/Chunks/ChunkDecoder/identity(ofIPC:)``: the schema message only, no record
    /// batch). A field the schema cannot give stays nil.
    ///
    /// - Parameter ipc: the decompressed payload (``checkedIPCPayload(source:offset:maxSize:)``'s).
    public func identity(ipc: ByteSlice) -> (chunkId: ChunkId?, isStatic: Bool?) {
        guard chunkId == nil || isStatic == nil else { return (chunkId, isStatic) }
        guard let derived = try? ipc.withUnsafeBytes({ (b) throws(ChunkError) in try ChunkDecoder.identity(ofIPC: b) })
        else { return (chunkId, isStatic) }
        return (chunkId ?? derived.id, isStatic ?? derived.isStatic)
    }
}
