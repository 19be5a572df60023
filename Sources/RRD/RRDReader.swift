import IngestCore

/// A pull reader over a file, stdin (`-`), a zstd-compressed recording, or any ``ByteSource``.
///
/// ```swift
/// var reader = try RRDReader(path: "points3d.rrd")
/// while let event = reader.next() {
///     if case .message(let m) = event { print(m.offset, m.message.kind) }
/// }
/// ```
///
/// A thin loop over a ``ByteSource`` and a ``StreamDecoder``: the input is read in blocks of
/// ``ReaderOptions/readBlockSize`` bytes, never as a whole; a zstd input (magic `28 B5 2F FD`) is
/// streamed through libzstd (``ZstdDetectingByteSource``), and offsets are then offsets in the
/// decompressed stream. Memory stays bounded by the block size plus the largest message (and the
/// blocks that payloads still referenced by the caller keep alive). A block is read into again
/// once no event or payload of it is referenced any more (see ``/IngestCore/ReadBlockRecycler``).
/// It reads to the current end once: following a growing file and retrying failed reads are the
/// ingestion pipeline's (`ReplayPipeline`).
public struct RRDReader {
    private let input: any ByteSource
    private var blocks: ReadBlockRecycler
    private var decoder: StreamDecoder
    private var queue: [StreamEvent] = []
    private var head = 0
    /// ``ByteSource/finishInput()`` was called: the next read of 0 ends the input.
    private var inputEnded = false
    private var finished = false

    /// Opens `path` (`-` for stdin) with ``ByteSources/open(path:)`` and reads its first bytes to
    /// tell whether it is zstd-compressed.
    ///
    /// - Throws: ``RRDError/Code/io`` when the input cannot be opened or read.
    public init(path: String, options: ReaderOptions = .init()) throws(RRDError) {
        let source: ZstdDetectingByteSource
        do {
            source = try ByteSources.open(path: path)
            try source.detect()
        } catch {
            throw RRDError(error, source: path, offset: 0)
        }
        self.init(source: source, name: path, options: options)
    }

    /// Reads `source`; `name` is the input's name in errors.
    public init(source: any ByteSource, name: String, options: ReaderOptions = .init()) {
        input = source
        blocks = ReadBlockRecycler(blockSize: options.readBlockSize)
        decoder = StreamDecoder(source: name, options: options)
    }

    /// Whether the input is zstd-compressed (known once its first bytes were read; ``init(path:options:)``
    /// reads them).
    public var isZstdCompressed: Bool {
        if let detecting = input as? ZstdDetectingByteSource { return detecting.isZstdCompressed ?? false }
        return input is ZstdByteSource
    }

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
            readBlock(into: &out)
            queue = out
        }
        defer { head += 1 }
        return queue[head]
    }

    /// Reads and decodes one block (or ends the input), appending the events to `out`.
    private mutating func readBlock(into out: inout [StreamEvent]) {
        if decoder.isStopped {
            decoder.finish { out.append($0) }
            finished = true
            return
        }
        do throws(ByteSourceError) {
            var n = 0
            let source = input
            let block = try blocks.fill { (buffer) throws(ByteSourceError) in n = try source.read(into: buffer) }
            if n > 0 {
                decoder.feed(ByteSlice(storage: block, range: 0..<n)) { out.append($0) }
            } else if !inputEnded, try input.finishInput() {
                // What the source held back (a too short input's first bytes) comes with the next reads.
                inputEnded = true
            } else {
                decoder.finish { out.append($0) }
                finished = true
            }
        } catch {
            out.append(.error(RRDError(error, source: decoder.source, offset: decoder.bytesConsumed)))
            decoder.finish { _ in }
            finished = true
        }
    }
}
