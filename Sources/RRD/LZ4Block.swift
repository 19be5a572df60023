import CLZ4
import IngestCore

/// LZ4 *block* decompression (no frame, no size prefix) through liblz4, the codec of
/// `ArrowMsg.payload` when `compression == .lz4`.
public enum LZ4Block {
    /// Largest size liblz4's block API accepts (`LZ4_MAX_INPUT_SIZE`, about 2 GiB).
    public static let maxSize = Int(LZ4_MAX_INPUT_SIZE)

    /// Decompresses `source` into exactly `destination.count` bytes.
    ///
    /// - Returns: `nil` when the input is corrupt or does not produce exactly `destination.count`
    ///   bytes; otherwise the number of bytes written (always `destination.count`).
    /// - Note: liblz4's `LZ4_decompress_safe` never reads or writes outside the two buffers,
    ///   whatever the input: a lying size is an error, not a crash.
    @inlinable
    public static func decompress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Int? {
        guard source.count <= maxSize, destination.count <= maxSize else { return nil }
        if destination.count == 0 { return source.count == 1 && source[0] == 0 ? 0 : (source.isEmpty ? 0 : nil) }
        guard let src = source.baseAddress, let dst = destination.baseAddress else { return nil }
        let n = LZ4_decompress_safe(
            src.assumingMemoryBound(to: CChar.self), dst.assumingMemoryBound(to: CChar.self),
            Int32(source.count), Int32(destination.count))
        return n == Int32(destination.count) ? Int(n) : nil
    }
}

extension ArrowMsg {
    /// The Arrow IPC stream this message carries: the payload itself when uncompressed, or a new
    /// buffer of exactly `uncompressedSize` bytes when LZ4-compressed.
    ///
    /// - Parameters:
    ///   - maxSize: a cap on `uncompressedSize` (input controls it; nothing larger is allocated).
    ///   - source: the input's name, for the error.
    ///   - offset: the message's byte offset in the input, for the error.
    ///   - arena: where to put the decompressed bytes: a slice of one of its slabs (see
    ///     ``/IngestCore/SlabArena``); `nil` (the default) allocates a storage of their own.
    /// - Throws: ``RRDError/Code/decompression`` when the LZ4 data is corrupt or does not produce the
    ///   declared size, ``RRDError/Code/tooLarge`` over `maxSize`, ``RRDError/Code/badPayload`` for an
    ///   unknown compression; `source`/`offset` are copied into the error.
    /// - Returns: the uncompressed Arrow IPC stream.
    public func decompressedPayload(
        maxSize: UInt64 = 1 << 31, source: String = "", offset: UInt64 = 0, arena: SlabArena? = nil
    ) throws(RRDError) -> ByteSlice {
        switch compression {
        case .none, .unspecified:
            if uncompressedSize != 0 && uncompressedSize != UInt64(payload.count) {
                throw RRDError(.badPayload, source: source, offset: offset,
                    "uncompressed ArrowMsg payload is \(payload.count) bytes but uncompressed_size says \(uncompressedSize)")
            }
            return payload
        case .lz4:
            guard uncompressedSize <= maxSize, uncompressedSize <= UInt64(LZ4Block.maxSize) else {
                throw RRDError(.tooLarge, source: source, offset: offset,
                    "ArrowMsg declares \(uncompressedSize) uncompressed bytes, above the cap of \(Swift.min(maxSize, UInt64(LZ4Block.maxSize)))")
            }
            let size = Int(uncompressedSize)
            let src = payload
            func fill(_ dst: UnsafeMutableRawBufferPointer) throws(RRDError) {
                let ok = src.withUnsafeBytes { LZ4Block.decompress($0, into: dst) }
                if ok == nil {
                    throw RRDError(.decompression, source: source, offset: offset,
                        "LZ4 payload of \(src.count) bytes does not decompress to the declared \(size) bytes (corrupt block)")
                }
            }
            if let arena { return try arena.allocate(count: size, initializingWith: fill) }
            return try ByteSlice(ByteStorage(count: size, alignment: 16, initializingWith: fill))
        default:
            throw RRDError(.badPayload, source: source, offset: offset, "unknown ArrowMsg compression \(compression.rawValue)")
        }
    }
}
