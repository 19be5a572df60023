/// An error writing a Parquet file, or checking one's metadata: what was wrong and where.
///
/// `code` is an opaque, extensible value compared with `==`; `message` is for people.
public struct ParquetError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of problem.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable { case truncated, malformed, unsupported, invalidInput, io, compression }
        private let wrapped: Wrapped
        private init(_ w: Wrapped) { wrapped = w }

        /// A footer or page that ends before its declared length.
        public static let truncated = Code(.truncated)
        /// Metadata that does not follow the Parquet format (bad magic, lengths, Thrift).
        public static let malformed = Code(.malformed)
        /// A valid feature this writer does not implement.
        public static let unsupported = Code(.unsupported)
        /// Values handed to the writer that contradict the schema (counts, levels, widths).
        public static let invalidInput = Code(.invalidInput)
        /// Writing the output failed.
        public static let io = Code(.io)
        /// The compression library failed.
        public static let compression = Code(.compression)

        public var description: String { "\(wrapped)" }
    }

    /// What kind of problem this is.
    public var code: Code
    /// What was expected and what was found.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
