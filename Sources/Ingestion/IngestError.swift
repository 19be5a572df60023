import RRD

/// An error of the ingestion engine: a refused submission, or a message that could not be
/// ingested (reported in its place in a store's output, or on the hub's per-source stream).
///
/// `code` is opaque and extensible; compare it with `==`. `source` and `offset` say where the
/// message came from (the label the producer passed and the byte offset of its header).
public struct IngestError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable {
            case closed, full, timedOut, wrongStore, decode, stream
        }
        private let wrapped: Wrapped
        private init(_ w: Wrapped) { wrapped = w }

        /// The store (or hub) was shut down: the message was not admitted. Producers blocked on a
        /// full queue wake with this code when the store shuts down.
        public static let closed = Code(.closed)
        /// `trySubmit` found the input queue full: the message was not admitted.
        public static let full = Code(.full)
        /// A submission with a timeout found no room before the deadline: not admitted.
        public static let timedOut = Code(.timedOut)
        /// The message belongs to another store (or to none, like `End`): not admitted.
        public static let wrongStore = Code(.wrongStore)
        /// An `ArrowMsg` that did not decode into a chunk (an output item, in the message's place).
        public static let decode = Code(.decode)
        /// An error of the stream layer (``/RRD/RRDError``) that belongs to no store.
        public static let stream = Code(.stream)

        /// The constant's name (`decode`, `stream`, …), for logs and tests.
        public var description: String { "\(wrapped)" }
    }

    /// What went wrong.
    public var code: Code
    /// The producer's label for the input (a path, `-`, …); empty for errors that have none.
    public var source: String
    /// Byte offset of the message (or of the problem) in the source.
    public var offset: UInt64
    /// What was expected and what was found.
    public var message: String
    /// The stream-layer error this one wraps, for ``Code/stream``.
    public var underlying: RRDError?

    /// Creates an error.
    public init(_ code: Code, source: String, offset: UInt64, _ message: String, underlying: RRDError? = nil) {
        self.code = code
        self.source = source
        self.offset = offset
        self.message = message
        self.underlying = underlying
    }

    /// Wraps a stream-layer error.
    public init(_ error: RRDError) {
        self.init(.stream, source: error.source, offset: error.offset, error.message, underlying: error)
    }

    /// `SOURCE: at byte OFFSET: CODE: MESSAGE`.
    public var description: String { "\(source): at byte \(offset): \(code): \(message)" }
}
