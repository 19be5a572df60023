@preconcurrency import Glibc
import IngestCore

/// A failed read or open of a replay input: the `errno` and a readable message.
public struct ReplayIOError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The `errno` value (`EIO`, `ENOENT`, …).
    public var errno: Int32
    /// What failed, with `strerror`'s text.
    public var message: String

    /// An error for `errno` with `strerror`'s text after `what`.
    public init(errno: Int32, _ what: String) {
        self.errno = errno
        self.message = "\(what): \(String(cString: strerror(errno)))"
    }

    /// Whether retrying may help (`EIO`, `EAGAIN`, `EINTR`, `ETIMEDOUT`, `EBUSY`).
    public var isTransient: Bool { [EIO, EAGAIN, EINTR, ETIMEDOUT, EBUSY].contains(errno) }

    /// `message`.
    public var description: String { message }
}

/// Bytes of one replay input, read front to back. ``ReplayOptions/openSource`` makes these; tests
/// inject sources that fail or grow.
public protocol ReplayByteSource: AnyObject {
    /// Reads up to `buffer.count` bytes into `buffer`.
    /// - Returns: how many; 0 means "no more bytes now" (the end, or, when following, not yet).
    /// - Throws: ``ReplayIOError`` (retried with backoff when ``ReplayIOError/isTransient``).
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ReplayIOError) -> Int
}

/// A file descriptor source (a file, or standard input); closes what it opened.
public final class FileByteSource: ReplayByteSource {
    private let fd: Int32
    private let owns: Bool

    /// Opens `input` for reading.
    /// - Throws: ``ReplayIOError`` (`ENOENT` for a missing file).
    public init(_ input: ReplayInput) throws(ReplayIOError) {
        switch input {
        case .standardInput:
            fd = 0
            owns = false
        case .file(let path):
            var f: Int32
            repeat { f = open(path, O_RDONLY | O_CLOEXEC) } while f < 0 && errno == EINTR
            guard f >= 0 else { throw ReplayIOError(errno: errno, "cannot open") }
            fd = f
            owns = true
        }
    }

    deinit { if owns { close(fd) } }

    /// `read(2)`, restarted on `EINTR`.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(ReplayIOError) -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw ReplayIOError(errno: errno, "read failed")
        }
    }
}

/// Time for the replay: monotonic nanoseconds and sleeping (injectable, so tests check schedules
/// without waiting).
public protocol ReplayClock: Sendable {
    /// Monotonic nanoseconds.
    func now() -> UInt64
    /// Blocks the calling thread for `nanoseconds`.
    func sleep(nanoseconds: UInt64)
}

/// The real clock: `CLOCK_MONOTONIC` and `nanosleep`.
public struct SystemReplayClock: ReplayClock {
    /// The real clock.
    public init() {}
    /// `CLOCK_MONOTONIC` in nanoseconds.
    public func now() -> UInt64 { MonotonicClock.now() }
    /// `nanosleep`, resumed after signals until the time has passed.
    public func sleep(nanoseconds: UInt64) { MonotonicClock.pause(nanoseconds: nanoseconds) }
}

/// How transient read errors are retried: up to `attempts` retries, waiting `initialDelay`,
/// then twice as long each time, never more than `maxDelay`.
public struct ReplayRetryPolicy: Sendable, Hashable {
    /// Retries after the first failure of one read (0: fail at once).
    public var attempts: Int
    /// Wait before the first retry.
    public var initialDelay: Duration
    /// Longest wait.
    public var maxDelay: Duration

    /// Defaults: 5 retries, 100 ms doubling up to 5 s.
    public init(attempts: Int = 5, initialDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(5)) {
        self.attempts = max(0, attempts)
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
    }

    /// The wait before retry `n` (1-based): `min(initialDelay · 2^(n-1), maxDelay)`.
    public func delay(beforeRetry n: Int) -> Duration {
        var d = initialDelay
        var i = 1
        while i < n && d < maxDelay {
            d = d * 2
            i += 1
        }
        return min(d, maxDelay)
    }
}

extension Duration {
    /// Whole nanoseconds (negative durations give 0).
    var nanosecondsClamped: UInt64 {
        let (s, a) = components
        if s < 0 { return 0 }
        return UInt64(s) &* 1_000_000_000 &+ UInt64(a / 1_000_000_000)
    }
}
