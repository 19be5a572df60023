import CZstd

/// A ``ByteSource`` decorator that decompresses zstd: reads compressed bytes from another source
/// and hands out the decompressed stream (any number of concatenated frames), through libzstd's
/// streaming API, so memory stays bounded by its input buffer (`ZSTD_DStreamInSize()`, 128 KiB)
/// whatever the size of the input.
///
/// Reads wait for nothing: when the inner source has no bytes now, a read returns what could be
/// decompressed (possibly 0) and the next read asks it again, so a growing compressed file can be
/// followed. Errors of the inner source pass through unchanged (and the read can be retried);
/// corrupt input is a ``ByteSourceError/Code/decompression`` error at its decompressed offset.
///
/// A class because it owns a `ZSTD_DCtx` and its input buffer, both released in `deinit`.
public final class ZstdByteSource: ByteSource {
    private let inner: any ByteSource
    private let dctx: OpaquePointer
    private let input: UnsafeMutableRawPointer
    private let inputCapacity: Int
    /// Compressed bytes `inputPosition..<inputCount` of `input` are not yet decompressed.
    private var inputCount = 0
    private var inputPosition = 0
    /// `ZSTD_decompressStream`'s last return: 0 at a frame boundary.
    private var lastHint = 0
    /// Whether any compressed byte was given to libzstd.
    private var consumedAny = false
    /// Decompressed bytes handed out so far.
    public private(set) var bytesProduced: UInt64 = 0
    /// An error of the inner source met after some bytes were decompressed in the same read:
    /// thrown by the next read, so those bytes are not lost.
    private var pendingError: ByteSourceError?

    /// Decompresses what `inner` reads.
    public convenience init(decompressing inner: any ByteSource) throws(ByteSourceError) {
        try self.init(decompressing: inner, startingWith: [])
    }

    /// Decompresses `prefix` (bytes already taken from `inner`, such as its sniffed magic), then
    /// what `inner` reads.
    /// - Throws: ``ByteSourceError/Code/decompression`` when libzstd cannot allocate its context.
    init(decompressing inner: any ByteSource, startingWith prefix: [UInt8]) throws(ByteSourceError) {
        guard let ctx = ZSTD_createDCtx() else {
            throw ByteSourceError(.decompression, offset: 0, "cannot allocate a zstd decompression context")
        }
        self.inner = inner
        dctx = ctx
        inputCapacity = Swift.max(ZSTD_DStreamInSize(), 1 << 16, prefix.count)
        input = UnsafeMutableRawPointer.allocate(byteCount: inputCapacity, alignment: 16)
        prefix.withUnsafeBytes { if $0.count > 0 { input.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
        inputCount = prefix.count
    }

    deinit {
        ZSTD_freeDCtx(dctx)
        input.deallocate()
    }

    /// Whether the compressed input can grow.
    public var canGrow: Bool { inner.canGrow }

    /// Decompresses into `buffer` until it is full or the inner source has no bytes now.
    /// - Throws: the inner source's errors; ``ByteSourceError/Code/decompression`` for corrupt input.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(ByteSourceError) -> Int {
        if let pendingError {
            self.pendingError = nil
            throw pendingError
        }
        guard buffer.count > 0 else { return 0 }
        var output = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
        var innerIsDry = false
        var flushTried = false
        while output.pos < output.size {
            if inputPosition == inputCount && !innerIsDry {
                let n: Int
                do {
                    n = try inner.read(into: UnsafeMutableRawBufferPointer(start: input, count: inputCapacity))
                } catch {
                    guard output.pos == 0 else {
                        pendingError = error
                        break
                    }
                    throw error
                }
                if n == 0 {
                    innerIsDry = true
                } else {
                    inputCount = n
                    inputPosition = 0
                }
            }
            if inputPosition == inputCount && innerIsDry {
                // No input now. Inside a frame libzstd may still hold decoded bytes that did not fit
                // into the previous output: one call with no input flushes them.
                if lastHint == 0 || flushTried { break }
                flushTried = true
            }
            var zin = ZSTD_inBuffer(src: input, size: inputCount, pos: inputPosition)
            let before = output.pos
            let consumedBefore = inputPosition
            let ret = ZSTD_decompressStream(dctx, &output, &zin)
            inputPosition = zin.pos
            if ZSTD_isError(ret) != 0 {
                let error = ByteSourceError(
                    .decompression, offset: bytesProduced + UInt64(output.pos),
                    "zstd: \(String(cString: ZSTD_getErrorName(ret)))")
                guard output.pos == 0 else {
                    pendingError = error
                    break
                }
                throw error
            }
            lastHint = ret
            if inputPosition > consumedBefore { consumedAny = true }
            if output.pos == before && inputPosition == consumedBefore && innerIsDry { break }
        }
        bytesProduced += UInt64(output.pos)
        return output.pos
    }

    /// Ends the inner source's input, then checks that the compressed input did not stop inside a
    /// zstd frame.
    ///
    /// - Throws: ``ByteSourceError/Code/truncated`` when the input ends inside a frame, and what the
    ///   inner source's `finishInput` throws.
    /// - Returns: `false`: what libzstd held was flushed by the reads that returned 0.
    @discardableResult
    public func finishInput() throws(ByteSourceError) -> Bool {
        try inner.finishInput()
        if consumedAny && lastHint != 0 {
            lastHint = 0
            throw ByteSourceError(
                .truncated, offset: bytesProduced, "truncated zstd input: the last frame is incomplete")
        }
        return false
    }
}

/// A ``ByteSource`` decorator that decides by the first four bytes of another source whether it is
/// zstd-compressed (magic `28 B5 2F FD`): then it decompresses (``ZstdByteSource``), else it hands the
/// bytes on unchanged. What ``ByteSources/open(path:)`` returns, so every input is opened one way.
///
/// The decision waits for four bytes: while fewer have arrived (a growing file just created), reads
/// return 0 and keep them; ``finishInput()`` decides that such a short input is not compressed, and
/// the next read hands them out.
public final class ZstdDetectingByteSource: ByteSource {
    private let inner: any ByteSource
    /// The first bytes, kept until the decision (at most 4).
    private var head: [UInt8] = []
    private var headHandedOut = 0
    private var decided = false
    private var zstd: ZstdByteSource?

    /// Detects on `inner`'s first bytes.
    public init(_ inner: any ByteSource) { self.inner = inner }

    /// Whether the input is zstd-compressed; `nil` until four bytes (or the end) were seen.
    public var isZstdCompressed: Bool? { decided ? zstd != nil : nil }

    /// Whether the input can grow.
    public var canGrow: Bool { inner.canGrow }

    static let zstdMagic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]

    /// Reads the first bytes now and decides: an input with fewer than four bytes now is taken as
    /// uncompressed (for readers that do not wait for more).
    /// - Returns: whether the input is zstd-compressed.
    /// - Throws: the inner source's errors (the call can be repeated).
    @discardableResult
    public func detect() throws(ByteSourceError) -> Bool {
        if !decided, try !fillHead() { try decide() }
        return zstd != nil
    }

    /// Reads decompressed bytes once the input is known to be zstd, the input's own bytes otherwise
    /// (the first ones kept for the decision included); 0 while fewer than four bytes have arrived
    /// and the decision waits.
    /// - Throws: the inner source's errors, and ``ZstdByteSource``'s for compressed input.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(ByteSourceError) -> Int {
        if let zstd { return try zstd.read(into: buffer) }
        if !decided {
            guard try fillHead() else { return 0 }
            if let zstd { return try zstd.read(into: buffer) }
        }
        if headHandedOut < head.count {
            // The kept bytes first, then what the inner source reads into the rest of the buffer: the
            // first block starts at offset 0 and is as full as a plain read would make it.
            let n = Swift.min(buffer.count, head.count - headHandedOut)
            head.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + headHandedOut, byteCount: n) }
            guard n < buffer.count else {
                headHandedOut += n
                return n
            }
            // On failure nothing was handed out: the bytes are copied again by the read that is retried.
            let more = try inner.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[n...]))
            headHandedOut += n
            return n + more
        }
        return try inner.read(into: buffer)
    }

    /// Decides on what has arrived (an input too short for the magic is not compressed), then ends
    /// the chosen path's input.
    /// - Returns: whether first bytes kept for the decision are still to be read.
    @discardableResult
    public func finishInput() throws(ByteSourceError) -> Bool {
        if !decided { try decide() }
        if let zstd { return try zstd.finishInput() }
        let innerHolds = try inner.finishInput()
        return headHandedOut < head.count || innerHolds
    }

    /// Reads until four bytes are kept; decides then. `false`: fewer are there now.
    private func fillHead() throws(ByteSourceError) -> Bool {
        while head.count < 4 {
            var bytes = [UInt8](repeating: 0, count: 4 - head.count)
            var failure: ByteSourceError?
            let n = bytes.withUnsafeMutableBytes { raw in
                do throws(ByteSourceError) { return try inner.read(into: raw) } catch {
                    failure = error
                    return 0
                }
            }
            if let failure { throw failure }
            if n == 0 { return false }
            head += bytes[0..<n]
        }
        try decide()
        return true
    }

    private func decide() throws(ByteSourceError) {
        if head == Self.zstdMagic {
            zstd = try ZstdByteSource(decompressing: inner, startingWith: head)
            head = []
        }
        decided = true
    }
}
