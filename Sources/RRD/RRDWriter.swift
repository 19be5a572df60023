#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import IngestCore

/// Writes one RRD stream: the stream header, messages as they come, and at the end the End message
/// with its `RrdFooter` and the 32-byte stream footer (xxHash32 of the footer, seed 7850921).
///
/// ```swift
/// let writer = try RRDWriter(path: "out.rrd")        // a temporary file, renamed into place by finish
/// try writer.write(setStoreInfo)
/// let at = try writer.write(arrowMsg)                // the payload is written from where it is
/// try writer.finish(manifests: [])                    // End + stream footer, then rename
/// ```
///
/// - Payloads are never copied into a message buffer: a small message is copied once into the
///   writer's output buffer (``Options/bufferSize``, 1 MiB) next to its header, a large one goes out
///   with one `writev` of the header, the protobuf bytes around its payload and the payload itself.
/// - Memory: the output buffer, plus, for ``writeArrowMsg(storeId:chunkId:isStatic:ipc:)``, one
///   compression buffer the size of the largest payload compressed.
/// - Crash safety: messages are written in order and whole to the buffer, so a writer killed at any
///   point leaves a prefix of the stream (see `OutputFile`): readers get every message before the
///   last, which may be cut short. Writing to a path goes through a temporary file renamed into place
///   by ``finish(manifests:)``, so the destination is never a partial file.
/// - Offsets: ``WrittenMessage/payloadOffset`` is relative to the start of this stream (its header),
///   as the footer manifest's `chunk_byte_offset` is.
///
/// Not thread-safe: one thread at a time (wrap it in a lock to share it).
public final class RRDWriter {
    /// How the stream is written.
    public struct Options: Sendable, Hashable {
        /// The compression of the payloads this writer compresses itself (``writeArrowMsg(storeId:chunkId:isStatic:ipc:)``)
        /// and the stream header's informational compression byte: `.lz4` (the default, as the SDK
        /// writes) or `.none`. Payloads written as they are keep theirs.
        public var compression: PayloadCompression
        /// Whether ``finish(manifests:)`` calls `fsync` on the file (and on its folder after the rename).
        public var fsync: Bool
        /// The version in the stream header.
        public var version: RRDVersion
        /// Bytes collected before a `write(2)`.
        public var bufferSize: Int

        /// Options with the given values (defaults: LZ4, no fsync, 0.41.0, 1 MiB).
        public init(
            compression: PayloadCompression = .lz4, fsync: Bool = false, version: RRDVersion = .newestKnown,
            bufferSize: Int = 1 << 20
        ) {
            self.compression = compression
            self.fsync = fsync
            self.version = version
            self.bufferSize = Swift.max(bufferSize, 4096)
        }
    }

    /// Where a message went.
    public struct WrittenMessage: Sendable, Hashable {
        /// Offset of its 16-byte message header from the stream start.
        public var offset: UInt64
        /// Its payload length (the header's `len`).
        public var length: UInt64
        /// Offset of its payload from the stream start (`offset + 16`: a manifest's `chunk_byte_offset`).
        public var payloadOffset: UInt64 { offset + 16 }
    }

    /// The options in force.
    public let options: Options
    private let output: OutputFile
    private let buffer: UnsafeMutableRawBufferPointer
    private var filled = 0
    /// Bytes of the stream so far (written or buffered).
    public private(set) var bytesWritten: UInt64 = 0
    private var headerWritten = false
    private var finished = false
    /// Compression scratch, grown to the largest bound needed.
    private var scratch: UnsafeMutableRawBufferPointer?
    /// Messages written, by kind (indexed by `MessageKind.rawValue`: End, SetStoreInfo, ArrowMsg,
    /// BlueprintActivationCommand).
    public private(set) var messageCounts = [Int](repeating: 0, count: 4)

    /// A writer to `path` through a temporary file in the same folder, renamed into place by
    /// ``finish(manifests:)`` (``discard()`` removes it).
    /// - Throws: ``RRDError/Code/io`` when the temporary file cannot be created.
    public init(path: String, options: Options = Options()) throws(RRDError) {
        self.options = options
        output = try OutputFile(path: path)
        buffer = .allocate(byteCount: options.bufferSize, alignment: 16)
    }

    /// A writer to an open descriptor (standard output, a pipe, a file), written in place; closed by
    /// ``finish(manifests:)`` when `closesDescriptor`.
    public init(fileDescriptor: Int32, closesDescriptor: Bool = false, options: Options = Options()) {
        self.options = options
        output = OutputFile(fileDescriptor: fileDescriptor, closesDescriptor: closesDescriptor)
        buffer = .allocate(byteCount: options.bufferSize, alignment: 16)
    }

    deinit {
        buffer.deallocate()
        scratch?.deallocate()
        if !finished { output.discard() }
    }

    /// The destination's name (its path, or `fd N`).
    public var destinationName: String { output.name }

    /// Whether `fd` is a regular file that is also one of `paths` (writing to it in place would
    /// clobber an input still being read); the matching path, if so.
    public static func descriptor(_ fd: Int32, isOneOf paths: [String]) -> String? {
        OutputFile.descriptor(fd, isOneOf: paths)
    }

    // MARK: - messages

    /// Writes a `SetStoreInfo` message.
    @discardableResult
    public func write(_ info: SetStoreInfo) throws(RRDError) -> WrittenMessage {
        let payload = MessageEncoding.setStoreInfo(info)
        return try withBytes(payload) { (p) throws(RRDError) in try writeMessage(.setStoreInfo, [p]) }
    }

    /// Writes a `BlueprintActivationCommand` message.
    @discardableResult
    public func write(_ command: BlueprintActivationCommand) throws(RRDError) -> WrittenMessage {
        let payload = MessageEncoding.blueprintActivationCommand(command)
        return try withBytes(payload) { (p) throws(RRDError) in try writeMessage(.blueprintActivationCommand, [p]) }
    }

    /// Writes an `ArrowMsg` with its payload as it is (compressed or not, as the message says).
    @discardableResult
    public func write(_ message: ArrowMsg) throws(RRDError) -> WrittenMessage {
        let envelope = MessageEncoding.arrowMsgEnvelope(
            storeId: message.storeId, compression: message.compression, uncompressedSize: message.uncompressedSize,
            encoding: message.encoding, payloadCount: message.payload.count, chunkId: message.chunkId,
            isStatic: message.isStatic)
        return try withBytes(envelope.prefix) { (prefix) throws(RRDError) in
            try withBytes(envelope.suffix) { (suffix) throws(RRDError) in
                try message.payload.withUnsafeBytes { (payload) throws(RRDError) in
                    try writeMessage(.arrowMsg, [prefix, payload, suffix])
                }
            }
        }
    }

    /// Writes an `ArrowMsg` carrying the Arrow IPC stream `ipc`, compressed as ``Options/compression`` says.
    /// - Returns: where it went, and the payload's compression and size as written.
    @discardableResult
    public func writeArrowMsg(
        storeId: StoreId, chunkId: ChunkId?, isStatic: Bool?, ipc: UnsafeRawBufferPointer
    ) throws(RRDError) -> (written: WrittenMessage, compression: PayloadCompression, payloadCount: Int) {
        var payload = ipc
        var compression = PayloadCompression.none
        if options.compression == .lz4 {
            let bound = LZ4Block.compressBound(ipc.count)
            if (scratch?.count ?? 0) < bound {
                scratch?.deallocate()
                scratch = .allocate(byteCount: Swift.max(bound, 64 << 10), alignment: 16)
            }
            guard let n = LZ4Block.compress(ipc, into: scratch!) else {
                throw RRDError(
                    .tooLarge, source: output.name, offset: bytesWritten,
                    "cannot LZ4-compress a payload of \(ipc.count) bytes")
            }
            payload = UnsafeRawBufferPointer(rebasing: scratch![0..<n])
            compression = .lz4
        }
        let envelope = MessageEncoding.arrowMsgEnvelope(
            storeId: storeId, compression: compression, uncompressedSize: UInt64(ipc.count), payloadCount: payload.count,
            chunkId: chunkId, isStatic: isStatic)
        let written = try withBytes(envelope.prefix) { (prefix) throws(RRDError) in
            try withBytes(envelope.suffix) { (suffix) throws(RRDError) in
                try writeMessage(.arrowMsg, [prefix, payload, suffix])
            }
        }
        return (written, compression, payload.count)
    }

    /// Ends the stream: the End message holding `RrdFooter(manifests)`, the stream footer, then the
    /// file is flushed, synced (``Options/fsync``), closed and renamed into place.
    /// - Throws: ``RRDError/Code/io``; the temporary file is then removed.
    public func finish(manifests: [MessageEncoding.Manifest]) throws(RRDError) {
        guard !finished else { return }
        do throws(RRDError) {
            try writeHeaderIfNeeded()
            let footer = MessageEncoding.rrdFooter(manifests)
            let end = try withBytes(footer) { (p) throws(RRDError) in try writeMessage(.end, [p]) }
            var tail = [UInt8]()
            tail.reserveCapacity(StreamFooterInfo.size)
            appendLE(&tail, end.payloadOffset)
            appendLE(&tail, UInt64(footer.count))
            appendLE(&tail, footer.withUnsafeBytes { XXHash32.hash($0, seed: StreamFooterInfo.checksumSeed) })
            tail += Array("RRF2FOOT".utf8)
            appendLE(&tail, UInt32(1))
            try withBytes(tail) { (t) throws(RRDError) in try append([t]) }
            try flush()
            finished = true
            try output.commit(fsync: options.fsync)
        } catch {
            finished = true
            output.discard()
            throw error
        }
    }

    /// Stops without publishing: a destination path keeps its old content (the temporary file is
    /// removed); a descriptor keeps what was written so far.
    public func discard() {
        guard !finished else { return }
        finished = true
        try? flush()
        output.discard()
    }

    /// Writes what is buffered (the file then holds every message written so far).
    public func flush() throws(RRDError) {
        guard filled > 0 else { return }
        let n = filled
        filled = 0
        try output.write([UnsafeRawBufferPointer(rebasing: buffer[0..<n])])
    }

    // MARK: - framing

    private func writeHeaderIfNeeded() throws(RRDError) {
        guard !headerWritten else { return }
        headerWritten = true
        let v = options.version
        let header: [UInt8] =
            Array("RRF2".utf8) + [v.major, v.minor, v.patch, v.meta, options.compression == .lz4 ? 1 : 0, 2, 0, 0]
        try withBytes(header) { (h) throws(RRDError) in try append([h]) }
    }

    /// Writes one message: its 16-byte header and `parts` (the payload, in pieces).
    private func writeMessage(_ kind: MessageKind, _ parts: [UnsafeRawBufferPointer]) throws(RRDError)
        -> WrittenMessage
    {
        guard !finished else {
            throw RRDError(.io, source: output.name, offset: bytesWritten, "write after the stream was finished")
        }
        try writeHeaderIfNeeded()
        let length = parts.reduce(0) { $0 + $1.count }
        var header = [UInt8]()
        header.reserveCapacity(16)
        appendLE(&header, kind.rawValue)
        appendLE(&header, UInt64(length))
        let at = bytesWritten
        try withBytes(header) { (h) throws(RRDError) in try append([h] + parts) }
        messageCounts[Int(kind.rawValue)] += 1
        return WrittenMessage(offset: at, length: UInt64(length))
    }

    /// Appends `parts` to the stream: into the buffer when they fit (flushing it first if needed), else
    /// the buffer and the parts in one `writev`.
    private func append(_ parts: [UnsafeRawBufferPointer]) throws(RRDError) {
        let total = parts.reduce(0) { $0 + $1.count }
        bytesWritten += UInt64(total)
        if total > buffer.count - filled && filled > 0 && total <= buffer.count {
            try flush()
        }
        if total <= buffer.count - filled {
            for p in parts where p.count > 0 {
                (buffer.baseAddress! + filled).copyMemory(from: p.baseAddress!, byteCount: p.count)
                filled += p.count
            }
            return
        }
        let pending = filled
        filled = 0
        try output.write([UnsafeRawBufferPointer(rebasing: buffer[0..<pending])] + parts)
    }
}

@inline(__always)
private func appendLE<T: FixedWidthInteger>(_ out: inout [UInt8], _ v: T) {
    withUnsafeBytes(of: v.littleEndian) { out += $0 }
}

/// Lends an array's bytes to `body` keeping its error type (`Array.withUnsafeBytes` rethrows untyped).
@inline(__always)
func withBytes<R, E: Error>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
    try array.span.bytes.withUnsafeBytes(body)
}
