import ArrowIPC
import Chunks
import IngestCore
import RRD

/// Writes a recording: an ``/RRD/RRDWriter`` plus the footer manifest of every store that gets chunks,
/// built as the chunks go out (`ManifestBuilder`), so a written file is a complete 0.41 recording
/// (`rerun rrd verify` checks its footer).
///
/// ```swift
/// let writer = try RecordingWriter(path: "out.rrd")
/// try writer.write(.setStoreInfo(info))
/// try writer.write(arrowMsg)                           // payload as it is; summarised for the manifest
/// try writer.write(chunk, store: storeId)              // a chunk that changed: encoded again
/// try writer.finish()                                  // End with the footer, renamed into place
/// ```
///
/// A chunk's manifest row comes from a ``/Chunks/ChunkSummary``: the caller's (read from an input's
/// manifest, or made from the chunk it encodes), or made here by decoding the payload (LZ4, Arrow IPC,
/// chunk conventions) when the caller has none. A payload that does not decode is not written (the
/// output would not load) and the write throws ``/RRD/RRDError/Code/badPayload``.
///
/// Memory: one message at a time plus the manifest rows (a few integers per chunk, timeline and
/// component). Not thread-safe; ``RecordingSink`` and `ingest serve --save` share one between threads behind a lock.
public final class RecordingWriter {
    private let writer: RRDWriter
    private var manifest = ManifestBuilder()
    private let decoder = ChunkDecoder()
    /// Where payloads are decompressed to be checked (``write(_:summary:checksPayload:)``).
    private var scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
    /// Chunks written, by store.
    public private(set) var chunksWritten = 0
    /// Rows of the chunks written.
    public private(set) var rowsWritten = 0

    /// A writer to `path` (through a temporary file in its folder, renamed into place by ``finish()``).
    /// - Throws: ``/RRD/RRDError/Code/io``.
    public init(path: String, options: RRDWriter.Options = RRDWriter.Options()) throws(RRDError) {
        writer = try RRDWriter(path: path, options: options)
    }

    /// A writer to an open descriptor, written in place (standard output, a pipe).
    public init(fileDescriptor: Int32, closesDescriptor: Bool = false, options: RRDWriter.Options = RRDWriter.Options()) {
        writer = RRDWriter(fileDescriptor: fileDescriptor, closesDescriptor: closesDescriptor, options: options)
    }

    deinit { scratch.deallocate() }

    /// The underlying stream writer's options.
    public var options: RRDWriter.Options { writer.options }
    /// Bytes of the stream so far.
    public var bytesWritten: UInt64 { writer.bytesWritten }
    /// Messages written, indexed by `MessageKind.rawValue`.
    public var messageCounts: [Int] { writer.messageCounts }
    /// The destination's name.
    public var destinationName: String { writer.destinationName }

    /// Writes a message of any kind as it is; an End message is not written (``finish()`` writes
    /// the stream's own). An `ArrowMsg` goes through `write(_:summary:)`.
    public func write(_ message: Message) throws(RRDError) {
        switch message {
        case .setStoreInfo(let info): try writer.write(info)
        case .blueprintActivationCommand(let command): try writer.write(command)
        case .arrowMsg(let msg): try write(msg, summary: nil)
        case .end: break
        }
    }

    /// Writes a `SetStoreInfo`.
    public func write(_ info: SetStoreInfo) throws(RRDError) { try writer.write(info) }

    /// Writes a `BlueprintActivationCommand`.
    public func write(_ command: BlueprintActivationCommand) throws(RRDError) { try writer.write(command) }

    /// Writes an `ArrowMsg` with its payload as it is, and its manifest row from `summary` (decoding
    /// the payload when nil).
    ///
    /// - Parameters:
    ///   - msg: the message, written as it is.
    ///   - summary: the chunk's manifest row, when known (from a manifest); nil: read from the payload.
    ///   - checksPayload: with a `summary`, whether an LZ4 payload is still decompressed (into
    ///     a reused buffer, then dropped) to check that it is intact: a summary read from a manifest
    ///     vouches for what the chunk holds, not for its bytes. Without a summary the payload is decoded
    ///     anyway.
    /// - Throws: ``/RRD/RRDError/Code/badPayload`` (nothing written) when the payload does not decode,
    ///   ``/RRD/RRDError/Code/io`` when writing fails.
    public func write(_ msg: ArrowMsg, summary: ChunkSummary? = nil, checksPayload: Bool = true) throws(RRDError) {
        let s: ChunkSummary
        if let summary {
            s = summary
            if checksPayload { try check(msg) }
        } else {
            do {
                s = ChunkSummary(try decoder.decode(msg))
            } catch {
                throw RRDError(
                    .badPayload, source: writer.destinationName, offset: writer.bytesWritten,
                    "chunk \(msg.chunkId.map { "\($0)" } ?? "?") not written: \(error)")
            }
        }
        let written = try writer.write(msg)
        record(s, store: msg.storeId, written: written, uncompressedSize: msg.uncompressedSize)
    }

    /// Writes `chunk` encoded again (``/Chunks/Chunk/encodedIPC(droppingTimelines:compression:)``),
    /// LZ4-compressed as the options say, to store `store`.
    /// - Throws: ``/RRD/RRDError/Code/badPayload`` when the chunk cannot be encoded (a column type the
    ///   Arrow writer does not write), ``/RRD/RRDError/Code/io``.
    public func write(
        _ chunk: Chunk, store: StoreId, droppingTimelines dropped: Set<String> = [],
        bodyCompression: ArrowIPCWriter.BodyCompression = .none
    ) throws(RRDError) {
        let parts = chunk.recordBatchParts(droppingTimelines: dropped)
        let ipc: [UInt8]
        do {
            ipc = try ArrowIPCWriter.stream(
                schema: parts.schema, columns: parts.columns, length: parts.length, compression: bodyCompression)
        } catch {
            throw RRDError(
                .badPayload, source: writer.destinationName, offset: writer.bytesWritten,
                "chunk \(chunk.id) cannot be encoded: \(error)")
        }
        let summary = ChunkSummary(chunk, droppingTimelines: dropped)
        let (written, _, _) = try withBytes(ipc) { (b) throws(RRDError) in
            try writer.writeArrowMsg(storeId: store, chunkId: chunk.id, isStatic: parts.isStatic, ipc: b)
        }
        record(summary, store: store, written: written, uncompressedSize: UInt64(ipc.count))
    }

    /// Decompresses an LZ4 payload into the scratch buffer: whether it yields exactly its declared size.
    private func check(_ msg: ArrowMsg) throws(RRDError) {
        guard msg.compression == .lz4 else { return }
        let size = Int(clamping: msg.uncompressedSize)
        guard size <= LZ4Block.maxSize else {
            throw RRDError(
                .badPayload, source: writer.destinationName, offset: writer.bytesWritten,
                "chunk \(msg.chunkId.map { "\($0)" } ?? "?") not written: it declares \(size) uncompressed bytes")
        }
        if scratch.count < size {
            scratch.deallocate()
            scratch = .allocate(byteCount: max(size, 2 * scratch.count), alignment: 16)
        }
        let out = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<size])
        if msg.payload.withUnsafeBytes({ LZ4Block.decompress($0, into: out) }) == nil {
            throw RRDError(
                .badPayload, source: writer.destinationName, offset: writer.bytesWritten,
                "chunk \(msg.chunkId.map { "\($0)" } ?? "?") not written: its LZ4 payload of \(msg.payload.count) bytes "
                    + "does not decompress to the declared \(size) bytes")
        }
    }

    /// Decodes `msg` with this writer's decoder (old schemas migrated, as the manifest describes them).
    func decode(_ msg: ArrowMsg) throws(ChunkError) -> Chunk { try decoder.decode(msg) }

    /// Adds the columns an input's footer manifest had for `store` (kept as Rerun keeps them when
    /// the chunks written from that input are summarised from its manifest).
    func mergeManifestHints(_ hints: ManifestHints, store: StoreId) { manifest.merge(hints, store: store) }

    private func record(_ s: ChunkSummary, store: StoreId, written: RRDWriter.WrittenMessage, uncompressedSize: UInt64) {
        manifest.add(
            s, store: store, byteOffset: written.payloadOffset, byteSize: written.length, uncompressedSize: uncompressedSize)
        chunksWritten += 1
        rowsWritten += s.numRows
    }

    /// Writes the End message with the footer manifests and the stream footer, then makes the file
    /// complete (renamed into place when writing to a path).
    /// - Throws: ``/RRD/RRDError/Code/io``; a destination path keeps its old content.
    public func finish() throws(RRDError) {
        let manifests: [MessageEncoding.Manifest]
        do {
            manifests = try manifest.manifests()
        } catch {
            writer.discard()
            throw RRDError(.badPayload, source: writer.destinationName, offset: writer.bytesWritten, "footer manifest: \(error)")
        }
        try writer.finish(manifests: manifests)
    }

    /// Stops without publishing (see ``/RRD/RRDWriter/discard()``).
    public func discard() { writer.discard() }

    /// Writes what is buffered.
    public func flush() throws(RRDError) { try writer.flush() }
}

/// Lends an array's bytes keeping the closure's error type.
@inline(__always)
func withBytes<R, E: Error>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
    try array.span.bytes.withUnsafeBytes(body)
}
