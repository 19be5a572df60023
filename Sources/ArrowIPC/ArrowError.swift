/// An error reading (or writing) an Arrow IPC stream: what was wrong, where (byte offset in the stream and, for
/// array data, the column path), and what was expected versus found.
///
/// `code` is an opaque, extensible value compared with `==`; `message` is for people.
public struct ArrowError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of problem.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable {
            case truncated, malformed, unsupported, invalidData, decompression, tooLarge, compression
        }
        private let wrapped: Wrapped
        private init(_ w: Wrapped) { wrapped = w }

        /// The bytes ended inside a message, a flatbuffer or a buffer.
        public static let truncated = Code(.truncated)
        /// Framing or flatbuffer metadata that does not follow the Arrow format.
        public static let malformed = Code(.malformed)
        /// A valid feature this reader does not implement (the column is kept raw where possible).
        public static let unsupported = Code(.unsupported)
        /// Array data that contradicts its metadata: short buffers, bad offsets, type ids, indices, UTF-8.
        public static let invalidData = Code(.invalidData)
        /// A compressed body buffer (LZ4 frame / zstd) that does not decompress to its declared size.
        public static let decompression = Code(.decompression)
        /// A size or nesting depth above a reader limit.
        public static let tooLarge = Code(.tooLarge)
        /// A compressor (LZ4 frame / zstd) failed while writing a body (``ArrowIPCWriter``).
        public static let compression = Code(.compression)

        /// The constant's name (`malformed`, `invalidData`, …), for logs and tests.
        public var description: String { "\(wrapped)" }
    }

    /// What kind of problem this is.
    public var code: Code
    /// Byte offset in the IPC stream where the problem was found (the message start for array data).
    public var offset: Int
    /// The column path (`Points3D:positions.item`), empty when not about a column.
    public var path: String
    /// What was expected and what was found.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, offset: Int = 0, path: String = "", _ message: String) {
        self.code = code
        self.offset = offset
        self.path = path
        self.message = message
    }

    /// `at byte N: column P: message`.
    public var description: String {
        var s = "at IPC byte \(offset): "
        if !path.isEmpty { s += "column \(path): " }
        return s + message
    }
}
