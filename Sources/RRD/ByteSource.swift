#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes of one input, read front to back: a file, standard input, memory, or a decorator over
/// another source (``ZstdByteSource`` decompresses one, ``ZstdDetectingByteSource`` decides by the
/// first bytes whether to). ``RRDReader`` reads one; the ingestion pipeline frames one with its own
/// reading policy (retries, following a growing file, reads straight into large payloads).
///
/// ```swift
/// let source = try ByteSources.open(path: "recording.rrd.zst")   // a file, "-", zstd by magic
/// var block = [UInt8](repeating: 0, count: 1 << 20)
/// while case let n = try block.withUnsafeMutableBytes({ try source.read(into: $0) }), n > 0 { … }
/// if try source.finishInput() { … }   // read what it held back, until 0
/// ```
///
/// A source is used by one thread at a time.
public protocol ByteSource: AnyObject {
    /// Reads up to `buffer.count` bytes into `buffer`.
    /// - Returns: how many; 0 means "no more bytes now": the end, or, for a source that
    ///   ``canGrow``, not yet.
    /// - Throws: ``ByteSourceError``; the same call may be tried again after a transient one
    ///   (``ByteSourceError/isTransient``), the source's state is kept.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ByteSourceError) -> Int

    /// Says that no more input will come (a read returned 0 and the reader gives up waiting for
    /// more). Reads after it hand out what the source held back to decide on (the first bytes of an
    /// input too short to tell whether it is compressed), then 0.
    /// - Returns: whether the source holds such bytes (read them before ending the input; when
    ///   `false`, do not read again: a terminal would wait for more).
    /// - Throws: ``ByteSourceError/Code/truncated`` when the input ends inside a unit of the
    ///   source's own format (an unfinished zstd frame).
    @discardableResult
    func finishInput() throws(ByteSourceError) -> Bool

    /// Whether bytes may still arrive after a read returned 0 (a regular file that is being
    /// written); `false` when 0 is the end for sure (a pipe, a terminal, memory). Following a growing
    /// input waits only on sources that can grow.
    var canGrow: Bool { get }
}

extension ByteSource {
    /// Nothing is held back, and any end is a clean one.
    @discardableResult
    public func finishInput() throws(ByteSourceError) -> Bool { false }

    /// Sources can grow unless they say otherwise.
    public var canGrow: Bool { true }
}

/// A failed read (or open) of a ``ByteSource``: an I/O error with its `errno`, or damage of the
/// source's own format (zstd).
public struct ByteSourceError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What failed.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable { case io, decompression, truncated }
        private let wrapped: Wrapped
        private init(_ w: Wrapped) { wrapped = w }

        /// The operating system refused (see ``ByteSourceError/errno``).
        public static let io = Code(.io)
        /// Compressed input that does not decompress.
        public static let decompression = Code(.decompression)
        /// The input ended inside a unit of the source's format (an unfinished zstd frame).
        public static let truncated = Code(.truncated)

        /// The constant's name (`io`, `decompression`, `truncated`).
        public var description: String { "\(wrapped)" }
    }

    /// What failed.
    public var code: Code
    /// The `errno` value (`EIO`, `ENOENT`, …) of an ``Code/io`` error, 0 otherwise.
    public var errno: Int32
    /// What failed, with `strerror`'s text for I/O errors.
    public var message: String
    /// Where in the source's output the damage is (decompressed bytes), when the source knows.
    public var offset: UInt64?

    /// An I/O error for `errno` with `strerror`'s text after `what`.
    public init(errno: Int32, _ what: String) {
        self.code = .io
        self.errno = errno
        self.message = "\(what): \(String(cString: strerror(errno)))"
        self.offset = nil
    }

    /// An error of the source's format at `offset` of its output.
    public init(_ code: Code, offset: UInt64?, _ message: String) {
        self.code = code
        self.errno = 0
        self.message = message
        self.offset = offset
    }

    /// Whether retrying may help: an I/O error `EIO`, `EAGAIN`, `EINTR`, `ETIMEDOUT` or `EBUSY`.
    public var isTransient: Bool {
        code == .io && [EIO, EAGAIN, EINTR, ETIMEDOUT, EBUSY].contains(errno)
    }

    /// `message`.
    public var description: String { message }
}

extension RRDError {
    /// The stream-layer form of a byte source's error, for the input named `source`: I/O errors
    /// are ``Code/io``, the others keep their kind; at the error's own offset if it has one, else at `offset`.
    public init(_ error: ByteSourceError, source: String, offset: UInt64) {
        let code: Code =
            switch error.code {
            case .decompression: .decompression
            case .truncated: .truncated
            default: .io
            }
        self.init(code, source: source, offset: error.offset ?? offset, error.message)
    }
}

/// The one way to open an input by name.
public enum ByteSources {
    /// Opens `path` for reading: `-` is standard input, anything else a file; a zstd-compressed input
    /// (magic `28 B5 2F FD`) is decompressed as it is read (see ``ZstdDetectingByteSource``).
    /// - Throws: ``ByteSourceError`` (``ByteSourceError/Code/io``, `ENOENT` for a missing file).
    public static func open(path: String) throws(ByteSourceError) -> ZstdDetectingByteSource {
        let file = path == "-" ? FileByteSource.standardInput() : try FileByteSource(path: path)
        return ZstdDetectingByteSource(file)
    }
}
