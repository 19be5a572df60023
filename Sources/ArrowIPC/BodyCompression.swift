import CLZ4
import CZstd

/// Arrow IPC body compression (`BodyCompression` with method BUFFER): every buffer starts with an
/// int64 uncompressed length (-1 = stored raw) followed by an LZ4 frame or a zstd frame.
enum BodyCompression {
    enum Codec: UInt8 { case lz4Frame = 0, zstd = 1 }

    /// Decompresses `compressed` into exactly `out.count` bytes.
    static func decompress(
        _ codec: Codec, _ src: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, at offset: Int
    ) throws(ArrowError) {
        if out.count == 0 { return }
        switch codec {
        case .zstd:
            let n = ZSTD_decompress(out.baseAddress, out.count, src.baseAddress, src.count)
            if ZSTD_isError(n) != 0 {
                let name = String(cString: ZSTD_getErrorName(n))
                throw ArrowError(.decompression, offset: offset, "zstd body buffer: \(name)")
            }
            guard n == out.count else {
                throw ArrowError(
                    .decompression, offset: offset, "zstd body buffer gave \(n) bytes, expected \(out.count)")
            }
        case .lz4Frame:
            var ctx: OpaquePointer?
            let rc = LZ4F_createDecompressionContext(&ctx, UInt32(LZ4F_VERSION))
            guard LZ4F_isError(rc) == 0, let ctx else {
                throw ArrowError(.decompression, offset: offset, "cannot create an LZ4 frame context")
            }
            defer { _ = LZ4F_freeDecompressionContext(ctx) }
            var produced = 0
            var consumed = 0
            while true {
                var dstSize = out.count - produced
                var srcSize = src.count - consumed
                let hint = LZ4F_decompress(
                    ctx, out.baseAddress! + produced, &dstSize, src.baseAddress.map { $0 + consumed }, &srcSize, nil)
                if LZ4F_isError(hint) != 0 {
                    let name = String(cString: LZ4F_getErrorName(hint))
                    throw ArrowError(.decompression, offset: offset, "LZ4 frame body buffer: \(name)")
                }
                produced += dstSize
                consumed += srcSize
                if hint == 0 { break }
                if srcSize == 0 && dstSize == 0 {
                    throw ArrowError(
                        .decompression, offset: offset,
                        "LZ4 frame body buffer ended early (\(produced) of \(out.count) bytes)")
                }
            }
            guard produced == out.count else {
                throw ArrowError(
                    .decompression, offset: offset,
                    "LZ4 frame body buffer gave \(produced) bytes, expected \(out.count)")
            }
        }
    }
}
