/// One thing found while reading an RRD input, in input order.
public enum StreamEvent: Hashable, Sendable {
    /// A stream header at `offset` (12 bytes); every later message belongs to this stream.
    case streamHeader(StreamHeader, offset: UInt64)
    /// A decoded message; its `offset` is the file offset of its 16-byte message header.
    case message(FramedMessage)
    /// The 32-byte stream footer after an End message, found at `offset`.
    case streamFooter(StreamFooterInfo, offset: UInt64)
    /// Damage. A bad payload inside a well-framed message is followed by the next message; a
    /// framing error (bad header, unknown kind, truncation) ends the input.
    case error(RRDError)
}

/// Limits and checks of the reader.
public struct ReaderOptions: Sendable, Hashable {
    /// The largest payload length a message header may declare (default 1 GiB). Larger is an
    /// ``RRDError/Code/tooLarge`` framing error: nothing that size is allocated.
    public var maxMessageSize: UInt64
    /// Whether to check the stream footer's xxHash32 against the End payload (default `true`).
    public var verifyFooterChecksum: Bool
    /// Bytes read from the file (or produced by zstd) at a time (default 1 MiB). Payloads are
    /// slices of these blocks, so a retained payload keeps its block alive; a block nothing
    /// references any more is read into again (see ``/IngestCore/ReadBlockRecycler``).
    public var readBlockSize: Int
    /// After a framing error, whether to skip ahead to the next `RRF2` stream header and go on
    /// decoding there (default `true`): a damaged stream in a concatenation of streams then costs only
    /// its own rest. The error is reported once; candidate headers that do not parse are skipped
    /// silently. With `false`, decoding ends at the first framing error.
    public var resynchronize: Bool

    /// Options with the given limits (every parameter has the documented default).
    public init(
        maxMessageSize: UInt64 = 1 << 30, verifyFooterChecksum: Bool = true, readBlockSize: Int = 1 << 20,
        resynchronize: Bool = true
    ) {
        self.maxMessageSize = maxMessageSize
        self.verifyFooterChecksum = verifyFooterChecksum
        self.readBlockSize = Swift.max(readBlockSize, 16)
        self.resynchronize = resynchronize
    }
}
