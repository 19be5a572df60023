import CLZ4

extension LZ4Block {
    /// The largest compressed size of `count` input bytes (`LZ4_compressBound`).
    public static func compressBound(_ count: Int) -> Int { Int(LZ4_compressBound(Int32(clamping: count))) }

    /// Compresses `source` into an LZ4 block (no frame, no size prefix: what `ArrowMsg.payload` holds
    /// when `compression == .lz4`).
    ///
    /// - Parameters:
    ///   - source: the bytes to compress.
    ///   - destination: at least ``compressBound(_:)`` bytes.
    /// - Returns: the compressed size, or nil when the input is larger than ``maxSize`` or does not fit.
    public static func compress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer)
        -> Int?
    {
        guard source.count <= maxSize, let dst = destination.baseAddress else { return nil }
        if source.isEmpty {
            // liblz4 encodes empty input as a single zero token.
            guard destination.count >= 1 else { return nil }
            destination[0] = 0
            return 1
        }
        let n = LZ4_compress_default(
            source.baseAddress!.assumingMemoryBound(to: CChar.self), dst.assumingMemoryBound(to: CChar.self),
            Int32(source.count), Int32(clamping: destination.count))
        return n > 0 ? Int(n) : nil
    }
}
