import CZstd
import IngestCore

#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import IngestCore

/// Reads an input (file or stdin) block by block, transparently decompressing zstd.
///
/// A class because it owns a file descriptor and a `ZSTD_DCtx`, both released in `deinit`.
final class InputSource {
    let source: String
    private let fd: Int32
    private let ownsFD: Bool
    /// Read blocks, refilled when the previous one is no longer referenced.
    private var blocks: ReadBlockRecycler
    /// Raw bytes read ahead of decoding (the first bytes, used to sniff the zstd magic).
    private var pending: [UInt8] = []
    private var eof = false
    /// Set when the input is zstd-compressed.
    private var dctx: OpaquePointer?
    private var zIn: UnsafeMutableRawPointer?
    private var zInCapacity = 0
    private var zInSize = 0
    private var zInPos = 0
    /// `ZSTD_decompressStream`'s last return: 0 at a frame boundary.
    private var zLastHint: Int = 0
    private var zProduced: UInt64 = 0
    private var zConsumedAny = false

    /// Opens `path` (`-` = stdin) and sniffs the zstd magic `28 B5 2F FD`.
    init(path: String, blockSize: Int) throws(RRDError) {
        source = path
        blocks = ReadBlockRecycler(blockSize: blockSize)
        if path == "-" {
            fd = 0
            ownsFD = false
        } else {
            var f: Int32
            repeat { f = open(path, O_RDONLY | O_CLOEXEC) } while f < 0 && errno == EINTR
            guard f >= 0 else {
                throw RRDError(.io, source: path, offset: 0, "cannot open: \(String(cString: strerror(errno)))")
            }
            fd = f
            ownsFD = true
        }
        // Sniff: read until 4 bytes or EOF.
        let head = UnsafeMutableRawPointer.allocate(byteCount: 4, alignment: 4)
        defer { head.deallocate() }
        var got = 0
        do {
            while got < 4 {
                let n = try rawRead(head + got, 4 - got)
                if n == 0 {
                    eof = true
                    break
                }
                got += n
            }
        } catch {
            if ownsFD { close(fd) }
            throw error
        }
        pending = Array(UnsafeRawBufferPointer(start: head, count: got))
        if pending == [0x28, 0xB5, 0x2F, 0xFD] {
            guard let ctx = ZSTD_createDCtx() else {
                if ownsFD { close(fd) }
                throw RRDError(.io, source: path, offset: 0, "cannot allocate a zstd decompression context")
            }
            dctx = ctx
            zInCapacity = Swift.max(ZSTD_DStreamInSize(), 1 << 16)
            let buf = UnsafeMutableRawPointer.allocate(byteCount: zInCapacity, alignment: 16)
            zIn = buf
            pending.withUnsafeBytes { buf.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            zInSize = pending.count
            pending = []
        }
    }

    deinit {
        if let dctx { ZSTD_freeDCtx(dctx) }
        zIn?.deallocate()
        if ownsFD { close(fd) }
    }

    /// Whether the input is zstd-compressed.
    var isZstd: Bool { dctx != nil }

    /// The next block of (decompressed) bytes, or `nil` at the end of input.
    func nextBlock() throws(RRDError) -> ByteSlice? {
        if dctx != nil { return try nextZstdBlock() }
        if eof && pending.isEmpty { return nil }
        // The sniffed first bytes open the first block, so that block starts at offset 0.
        let head = pending
        pending = []
        var filled = head.count
        // The sniffed head is at most 4 bytes, far below any block size (at least 16).
        let storage = try blocks.fill { (dst) throws(RRDError) in
            head.withUnsafeBytes {
                if $0.count > 0 { dst.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            }
            if !eof {
                let n = try rawRead(dst.baseAddress! + head.count, dst.count - head.count)
                if n == 0 { eof = true }
                filled += n
            }
        }
        if filled == 0 {
            eof = true
            return nil
        }
        return ByteSlice(storage: storage, range: 0..<filled)
    }

    private func rawRead(_ dst: UnsafeMutableRawPointer, _ count: Int) throws(RRDError) -> Int {
        while true {
            let n = read(fd, dst, count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw RRDError(.io, source: source, offset: 0, "read failed: \(String(cString: strerror(errno)))")
        }
    }

    private func nextZstdBlock() throws(RRDError) -> ByteSlice? {
        guard let dctx, let zIn else { return nil }
        var filled = 0
        let storage = try blocks.fill { (dst) throws(RRDError) in
            var output = ZSTD_outBuffer(dst: dst.baseAddress, size: dst.count, pos: 0)
            while output.pos < output.size {
                if zInPos == zInSize {
                    if !eof {
                        let n = try rawRead(zIn, zInCapacity)
                        if n == 0 { eof = true }
                        zInSize = n
                        zInPos = 0
                    }
                    // At the end of input, call once more only if a frame is unfinished: zstd may
                    // still hold decoded bytes it could not flush into a full output block.
                    if eof && zLastHint == 0 { break }
                }
                var input = ZSTD_inBuffer(src: zIn, size: zInSize, pos: zInPos)
                let before = output.pos
                let ret = ZSTD_decompressStream(dctx, &output, &input)
                zInPos = input.pos
                if ZSTD_isError(ret) != 0 {
                    throw RRDError(
                        .decompression, source: source, offset: zProduced + UInt64(output.pos),
                        "zstd: \(String(cString: ZSTD_getErrorName(ret)))")
                }
                zLastHint = ret
                zConsumedAny = true
                if eof && zInPos == zInSize && output.pos == before { break }
            }
            filled = output.pos
        }
        zProduced += UInt64(filled)
        if filled == 0 {
            if zConsumedAny && zLastHint != 0 {
                zLastHint = 0
                throw RRDError(
                    .truncated, source: source, offset: zProduced,
                    "truncated zstd input: the last frame is incomplete")
            }
            return nil
        }
        return ByteSlice(storage: storage, range: 0..<filled)
    }
}
