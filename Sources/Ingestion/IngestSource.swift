import IngestCore
import RRD

/// One input of the ingestion pipeline as its reading loop sees it: stream events (messages, and the
/// damage found) in input order.
///
/// The loop (``ReplayPipeline``, ``StoreHub/ingest(_:label:options:)``) pulls until a pull returns 0,
/// retrying transient errors with backoff and, when following, waiting for a source that
/// ``canGrow``; then it calls ``finish(into:)``. Every event goes the same way whatever the source:
/// store routing, the reader-side decompression policy, batches into the stores' queues.
///
/// - ``RRDStreamSource`` frames the bytes of any ``/RRD/ByteSource`` (a file, stdin, zstd, a growing
///   file, memory) with a ``/RRD/StreamDecoder``.
/// - A source of messages that are framed already (a live gRPC `WriteMessages` call: `LogMsg`s without
///   RRD framing, see ``LiveIngestion``) conforms directly: each pull hands out ``/RRD/StreamEvent/message(_:)`` events (an
///   offset of its own choosing, e.g. the message's index) and returns how many; a message that does not
///   decode is an ``/RRD/StreamEvent/error(_:)``.
///
/// Used by one thread at a time.
public protocol IngestSource: AnyObject {
    /// Hands the events of what the input holds now to `sink`, in order.
    /// - Returns: how much input was taken (bytes, or messages for a source of framed messages);
    ///   0 when nothing is there now: at the end, or, for a source that ``canGrow``, not yet.
    /// - Throws: ``/RRD/ByteSourceError``; after a transient one the loop pulls again (the source keeps its state).
    func pull(into sink: (consuming StreamEvent) -> Void) throws(ByteSourceError) -> Int

    /// Ends the input after a pull returned 0 and the loop stops waiting: hands out what the source
    /// still holds, and reports a unit cut short as an ``/RRD/StreamEvent/error(_:)`` event.
    /// - Throws: ``/RRD/ByteSourceError`` when the input's own format ends cut short (an unfinished zstd frame).
    func finish(into sink: (consuming StreamEvent) -> Void) throws(ByteSourceError)

    /// Whether the source will hand out nothing more (it stopped at damage it does not recover from).
    var isExhausted: Bool { get }

    /// Input taken so far (bytes, or messages).
    var bytesRead: UInt64 { get }

    /// Input up to the end of the last complete message: where a reader would resume (progress, errors).
    var bytesConsumed: UInt64 { get }

    /// Whether more may arrive after a pull returned 0 (a file being written); `false`: 0 is the end.
    var canGrow: Bool { get }

    /// Whether the loop submits what each pull handed out before pulling again (a live source,
    /// whose next pull may wait for its peer: what it handed out must not wait with it); `false`
    /// (the default): batches fill across pulls.
    var submitsEachPull: Bool { get }
}

extension IngestSource {
    /// Batches fill across pulls.
    public var submitsEachPull: Bool { false }
}

/// The RRD stream framed from any ``/RRD/ByteSource``: the pipeline's framing stage.
///
/// Its reading policy is the pipeline's: input is read into blocks of ``/RRD/ReaderOptions/readBlockSize``
/// that are read into again once nothing references them (``/IngestCore/ReadBlockRecycler``: most are
/// free again at once, as payloads are decompressed on the reading thread), and the rest of a large
/// payload (from half a block on) is read straight into the storage it is assembled in
/// (``/RRD/StreamDecoder/readPayload(limit:_:_:)``), not into a block that would only be copied there.
///
/// ```swift
/// let source = RRDStreamSource(try ByteSources.open(path: "a.rrd.zst"), name: "a.rrd.zst")
/// ```
public final class RRDStreamSource: IngestSource {
    /// The bytes being framed.
    public let bytes: any ByteSource
    private var decoder: StreamDecoder
    private var blocks: ReadBlockRecycler
    /// From this many missing payload bytes on, input is read straight into the payload's storage.
    private let directPayloadReadSize: Int
    /// Bytes read from ``bytes`` so far.
    public private(set) var bytesRead: UInt64 = 0

    /// Frames `bytes`; `name` is the input's name in errors, `options` the decoder's limits and block size.
    public init(_ bytes: any ByteSource, name: String, options: ReaderOptions = ReaderOptions()) {
        self.bytes = bytes
        decoder = StreamDecoder(source: name, options: options)
        blocks = ReadBlockRecycler(blockSize: options.readBlockSize)
        directPayloadReadSize = max(blocks.blockSize / 2, 1)
    }

    /// Reads one block (or the next piece of a large payload) and decodes it.
    public func pull(into sink: (consuming StreamEvent) -> Void) throws(ByteSourceError) -> Int {
        let source = bytes
        if decoder.payloadBytesMissing >= directPayloadReadSize {
            let n = try decoder.readPayload(limit: blocks.blockSize, sink) {
                (buffer: UnsafeMutableRawBufferPointer) throws(ByteSourceError) in try source.read(into: buffer)
            }
            bytesRead += UInt64(n)
            return n
        }
        var n = 0
        let storage = try blocks.fill { (buffer: UnsafeMutableRawBufferPointer) throws(ByteSourceError) in
            n = try source.read(into: buffer)
        }
        guard n > 0 else { return 0 }
        bytesRead += UInt64(n)
        decoder.feed(ByteSlice(storage: storage, range: 0..<n), sink)
        return n
    }

    /// Ends the byte source's input (reading what it held back), then the decoder's: a unit cut short
    /// is reported. When the byte source fails here, the decoder's own report is left out (the
    /// source's error says why the stream ends).
    public func finish(into sink: (consuming StreamEvent) -> Void) throws(ByteSourceError) {
        if try bytes.finishInput() {
            while !decoder.isStopped, try pull(into: sink) > 0 {}
        }
        decoder.finish(sink)
    }

    /// Whether the decoder stopped (a framing error without resynchronisation).
    public var isExhausted: Bool { decoder.isStopped }

    /// The end of the last complete unit (stream header, message or footer).
    public var bytesConsumed: UInt64 { decoder.bytesConsumed }

    /// Whether the byte source can grow.
    public var canGrow: Bool { bytes.canGrow }
}
