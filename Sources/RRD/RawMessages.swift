import IngestCore

/// One message of an RRD stream as its framing holds it: the kind from its header and its protobuf
/// payload, not decoded. What a live stream carries per message (a `LogMsg` wraps the same payload),
/// so a recording can be sent over gRPC as the SDK would have sent it (`ingest send`, the tests).
public struct RawMessage: Sendable, Hashable {
    /// The kind from the 16-byte message header.
    public var kind: MessageKind
    /// Offset of the message header in the (decompressed) stream.
    public var offset: UInt64
    /// The protobuf payload: a slice of the stream bytes.
    public var payload: ByteSlice

    /// A message of `kind` at `offset` with `payload`.
    public init(kind: MessageKind, offset: UInt64, payload: ByteSlice) {
        self.kind = kind
        self.offset = offset
        self.payload = payload
    }

    /// Reads a whole input (`-` for stdin; zstd-compressed or not) into memory and frames it: every
    /// message whose payload decodes, in stream order (End messages included), and the damage found.
    /// - Throws: ``ByteSourceError`` when the input cannot be read.
    public static func read(path: String, options: ReaderOptions = ReaderOptions()) throws(ByteSourceError)
        -> (messages: [RawMessage], errors: [RRDError])
    {
        let source = try ByteSources.open(path: path)
        var chunks: [[UInt8]] = []
        var total = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        func drain() throws(ByteSourceError) {
            while true {
                let n = try source.read(into: buffer)
                if n == 0 { return }
                chunks.append(Array(buffer[0..<n]))
                total += n
            }
        }
        try drain()
        if try source.finishInput() { try drain() }
        let storage = ByteStorage(count: total, alignment: 16) { dst in
            var at = 0
            for c in chunks {
                c.withUnsafeBytes { (dst.baseAddress! + at).copyMemory(from: $0.baseAddress!, byteCount: c.count) }
                at += c.count
            }
        }
        return frame(ByteSlice(storage), source: path, options: options)
    }

    /// Frames a whole RRD stream held in memory (see ``read(path:options:)``).
    public static func frame(_ stream: ByteSlice, source: String, options: ReaderOptions = ReaderOptions())
        -> (messages: [RawMessage], errors: [RRDError])
    {
        var decoder = StreamDecoder(source: source, options: options)
        var messages: [RawMessage] = []
        var errors: [RRDError] = []
        func sink(_ event: consuming StreamEvent) {
            switch event {
            case .message(let m):
                // The payload follows the 16-byte header; offsets are positions in `stream` (fed from 0).
                let start = Int(m.offset) + 16
                messages.append(
                    RawMessage(
                        kind: m.message.kind, offset: m.offset, payload: stream.slice(start..<(start + Int(m.length)))))
            case .error(let e):
                errors.append(e)
            default:
                break
            }
        }
        decoder.feed(stream, sink)
        decoder.finish(sink)
        return (messages, errors)
    }
}
