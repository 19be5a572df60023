import IngestCore

extension ArrowMsg {
    /// Decompresses the payload (checking the declared size) and walks its Arrow IPC framing.
    ///
    /// What `ingest print`/`stats` do with every chunk: it finds damage inside a well-framed
    /// message (corrupt LZ4, a lying `uncompressed_size`, a broken IPC marker) without decoding
    /// the flatbuffers.
    ///
    /// - Parameters:
    ///   - source: the input's name, for errors.
    ///   - offset: the file offset of the message header: every error is reported there.
    ///   - maxSize: a cap on the decompressed size.
    /// - Returns: the decompressed Arrow IPC stream and its messages.
    /// - Throws: ``RRDError/Code/decompression``, ``RRDError/Code/tooLarge`` or
    ///   ``RRDError/Code/badPayload``; the text gives the position inside the payload.
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
            let entries = try ipc.withUnsafeBytes { (b) throws(RRDError) in try IPCFraming.check(b) }
            return (ipc, entries)
        } catch {
            throw RRDError(error.code, source: source, offset: offset, error.message)
        }
    }
}
