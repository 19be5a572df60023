import IngestCore

#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file descriptor as a ``ByteSource``: a file, or standard input. Closes what it opened.
///
/// A regular file ``canGrow`` (a writer may append to it); a pipe, terminal or socket cannot
/// (a read of 0 is its end).
public final class FileByteSource: ByteSource {
    private let fd: Int32
    private let ownsDescriptor: Bool
    /// Whether the descriptor is a regular file.
    public let canGrow: Bool

    /// Opens the file at `path` (taken literally: `-` is a file named `-` here; see ``ByteSources/open(path:)``).
    /// - Throws: ``ByteSourceError`` `cannot open: …` (`ENOENT` for a missing file).
    public convenience init(path: String) throws(ByteSourceError) {
        var f: Int32
        repeat { f = open(path, O_RDONLY | O_CLOEXEC) } while f < 0 && errno == EINTR
        guard f >= 0 else { throw ByteSourceError(errno: errno, "cannot open") }
        self.init(fileDescriptor: f, closesOnDeinit: true)
    }

    /// Reads `fileDescriptor`; closes it in `deinit` when `closesOnDeinit`.
    public init(fileDescriptor: Int32, closesOnDeinit: Bool) {
        fd = fileDescriptor
        ownsDescriptor = closesOnDeinit
        var st = stat()
        canGrow = fstat(fileDescriptor, &st) == 0 && st.st_mode & S_IFMT == S_IFREG
    }

    /// Standard input (not closed).
    public static func standardInput() -> FileByteSource {
        FileByteSource(fileDescriptor: 0, closesOnDeinit: false)
    }

    deinit { if ownsDescriptor { close(fd) } }

    /// `read(2)`, restarted on `EINTR`.
    /// - Throws: ``ByteSourceError`` `read failed: …`.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(ByteSourceError) -> Int {
        while true {
            let n = systemRead(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw ByteSourceError(errno: errno, "read failed")
        }
    }
}

/// `read(2)` (inside a type with a `read` method of its own, the name means the method).
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}

/// Bytes in memory as a ``ByteSource`` (copied out as they are read; they never grow).
///
/// ```swift
/// var reader = RRDReader(source: MemoryByteSource(bytes), name: "in memory")
/// ```
public final class MemoryByteSource: ByteSource {
    private let bytes: ByteSlice
    private var position = 0

    /// A source handing out `bytes` (no copy is made here).
    public init(_ bytes: ByteSlice) { self.bytes = bytes }

    /// A source handing out a copy of `bytes`.
    public convenience init(_ bytes: [UInt8]) { self.init(ByteSlice(copying: bytes)) }

    /// Memory does not grow: a read of 0 is the end.
    public var canGrow: Bool { false }

    /// Copies the next bytes into `buffer`.
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let n = Swift.min(buffer.count, bytes.count - position)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { src in
            buffer.baseAddress!.copyMemory(from: src.baseAddress! + position, byteCount: n)
        }
        position += n
        return n
    }
}
