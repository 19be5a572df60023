/// A pull reader over a file, stdin (`-`), or a zstd-compressed recording.
///
/// ```swift
/// var reader = try RRDReader(path: "points3d.rrd")
/// while let event = reader.next() {
///     if case .message(let m) = event { print(m.offset, m.message.kind) }
/// }
/// ```
///
/// The input is read in blocks of ``ReaderOptions/readBlockSize`` bytes, never as a whole; a zstd
/// input (magic `28 B5 2F FD`) is streamed through libzstd, and offsets are then offsets in the
/// decompressed stream. Memory stays bounded by the block size plus the largest message (and the
/// blocks that payloads still referenced by the caller keep alive). A block is read into again
/// once no event or payload of it is referenced any more (see ``IngestCore/ReadBlockRecycler``).
public struct RRDReader {
    private let input: InputSource
    private var decoder: StreamDecoder
    private var queue: [StreamEvent] = []
    private var head = 0
    private var finished = false

    /// Opens `path` (`-` for stdin).
    ///
    /// - Throws: ``RRDError/Code/io`` when the input cannot be opened.
    public init(path: String, options: ReaderOptions = .init()) throws(RRDError) {
        input = try InputSource(path: path, blockSize: options.readBlockSize)
        decoder = StreamDecoder(source: path, options: options)
    }

    /// Whether the input was zstd-compressed.
    public var isZstdCompressed: Bool { input.isZstd }

    /// Offset just after the last complete unit decoded so far.
    public var bytesConsumed: UInt64 { decoder.bytesConsumed }

    /// The next event, or `nil` at the end. I/O and zstd errors arrive as ``StreamEvent/error(_:)``
    /// and end the input.
    public mutating func next() -> StreamEvent? {
        while head == queue.count {
            if finished { return nil }
            // Take the buffer before emptying it, so it is unique: the events handed out are
            // released in place (and with them their read block, which can then be refilled).
            var out = queue
            queue = []
            out.removeAll(keepingCapacity: true)
            head = 0
            do {
                if !decoder.isStopped, let block = try input.nextBlock() {
                    decoder.feed(block) { out.append($0) }
                } else {
                    decoder.finish { out.append($0) }
                    finished = true
                }
            } catch {
                out.append(.error(error))
                decoder.finish { _ in }
                finished = true
            }
            queue = out
        }
        defer { head += 1 }
        return queue[head]
    }
}
