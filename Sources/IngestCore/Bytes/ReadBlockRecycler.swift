
/// Hands out read blocks of a fixed size, refilling the previous block instead of allocating a
/// new one when nothing references it any more.
///
/// A reader fills a block, feeds it to a decoder (RRD's `StreamDecoder`) and asks for the next
/// one. Payloads that lie wholly inside a block are slices of it, so a block stays referenced while
/// such a payload (or a message that still carries it) is alive; it is then left to them and a new
/// block is allocated. Otherwise (every payload copied or decompressed elsewhere) the same memory is read
/// into again: no allocation, and no page faults on fresh memory, per block.
///
/// ```swift
/// var blocks = ReadBlockRecycler(blockSize: 1 << 20)
/// while true {
///     var n = 0
///     let block = blocks.fill { n = read(fd, $0.baseAddress, $0.count) }
///     if n <= 0 { break }
///     decoder.feed(ByteSlice(storage: block, range: 0..<n)) { handle($0) }
/// }
/// ```
///
/// The caller must drop its own references to a block (the storage and its slices) before asking
/// for the next one, or the block cannot be reused. Not thread-safe: one per reading thread.
public struct ReadBlockRecycler {
    /// The size of every block.
    public let blockSize: Int
    /// The block handed out last (and still referenced by this recycler).
    private var last: ByteStorage?
    /// Blocks handed out so far by ``fill(_:)``.
    public private(set) var blocksHandedOut = 0
    /// How many of ``blocksHandedOut`` were the previous block refilled rather than a new allocation.
    public private(set) var blocksReused = 0

    /// A recycler of blocks of `blockSize` bytes (at least 1).
    public init(blockSize: Int) {
        self.blockSize = Swift.max(blockSize, 1)
    }

    /// A block of ``blockSize`` bytes that `body` fills: the previous block when this recycler holds
    /// the only reference to it, a new one otherwise. What `body` leaves unwritten is unspecified.
    ///
    /// - Throws: what `body` throws (a refilled block is then kept for the next call, a new one freed).
    public mutating func fill<E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> Void) throws(E) -> ByteStorage {
        blocksHandedOut += 1
        if isKnownUniquelyReferenced(&last), let block = last {
            // Sole owner: no slice of the block exists, so writing it cannot change bytes anyone sees.
            blocksReused += 1
            try body(UnsafeMutableRawBufferPointer(start: block.unsafeMutableBaseAddress, count: block.count))
            return block
        }
        last = nil
        let block = try ByteStorage(count: blockSize, alignment: 16, initializingWith: body)
        last = block
        return block
    }
}
