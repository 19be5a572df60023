/// An error found while reading an RRD stream: where (source and byte offset) and what was
/// expected versus found.
///
/// `code` is an opaque, extensible value compared with `==`; `message` is for people.
public struct RRDError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of damage: compare with `==` against the constants below (`switch` cannot be
    /// exhaustive, so new codes can be added without breaking callers).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable {
            case notRRD, incompatibleVersion, badStreamHeader, truncated, unknownMessageKind, badProtobuf,
                badFooter, checksumMismatch, decompression, badPayload, tooLarge, io
        }
        private let wrapped: Wrapped
        private init(_ w: Wrapped) { wrapped = w }

        /// The bytes do not start with an RRD stream header.
        public static let notRRD = Code(.notRRD)
        /// `RRF0`/`RRF1`: a recording from an old, incompatible Rerun version (or a version < 0.23).
        public static let incompatibleVersion = Code(.incompatibleVersion)
        /// A stream header with a bad serializer, compression or reserved field.
        public static let badStreamHeader = Code(.badStreamHeader)
        /// The input ended inside a header, payload or footer.
        public static let truncated = Code(.truncated)
        /// A message header with a kind other than 0...3.
        public static let unknownMessageKind = Code(.unknownMessageKind)
        /// A payload that is not the expected protobuf message.
        public static let badProtobuf = Code(.badProtobuf)
        /// An End message without a valid 32-byte stream footer.
        public static let badFooter = Code(.badFooter)
        /// The footer's xxHash32 does not match the RrdFooter payload.
        public static let checksumMismatch = Code(.checksumMismatch)
        /// LZ4/zstd data that does not decompress to the declared size.
        public static let decompression = Code(.decompression)
        /// A payload that cannot be used: an unknown compression or encoding, a size that contradicts
        /// `uncompressed_size`, or damage found in the decompressed bytes by the layers above (Arrow IPC).
        public static let badPayload = Code(.badPayload)
        /// A size beyond a configured cap.
        public static let tooLarge = Code(.tooLarge)
        /// The source could not be read.
        public static let io = Code(.io)

        /// The constant's name (`truncated`, `checksumMismatch`, …), for logs and tests.
        public var description: String { "\(wrapped)" }
    }

    /// What kind of damage (for programs; ``message`` is for people).
    public var code: Code
    /// Name of the input (a path, `-` for stdin, or a caller-chosen label).
    public var source: String
    /// Byte offset in the input where the problem was found.
    public var offset: UInt64
    /// What was expected and what was found.
    public var message: String

    /// An error of kind `code` found at byte `offset` of `source`, with `message` saying what was
    /// expected and what was found.
    public init(_ code: Code, source: String, offset: UInt64, _ message: String) {
        self.code = code
        self.source = source
        self.offset = offset
        self.message = message
    }

    /// `SOURCE: at byte OFFSET: MESSAGE`, the form the CLI prints.
    public var description: String { "\(source): at byte \(offset): \(message)" }
}
