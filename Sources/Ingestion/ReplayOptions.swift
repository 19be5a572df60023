@preconcurrency import Glibc
import RRD
import Synchronization

/// How fast a replay feeds the engine.
public enum ReplayPace: Sendable, Hashable {
    /// At the recorded rate: each message waits until its smallest `log_time` minus the file's first
    /// one has passed since the file started; messages without a `log_time`, or with a time earlier
    /// than one already sent, go at once.
    case recorded
    /// At a fixed rate of messages per second (per file).
    case messagesPerSecond(Double)
}

/// How ``ReplayOptions/follow`` waits for growing files.
public struct ReplayFollowOptions: Sendable, Hashable {
    /// Give up on a file after this long without new bytes (a missing or empty file too).
    public var idleTimeout: Duration
    /// How often to look for new bytes.
    public var pollInterval: Duration

    /// Defaults: 10 s idle timeout, polling every 50 ms.
    public init(idleTimeout: Duration = .seconds(10), pollInterval: Duration = .milliseconds(50)) {
        self.idleTimeout = idleTimeout
        self.pollInterval = pollInterval
    }
}

/// Stops a running replay from any thread (a signal handler may call ``cancel()``: it only stores an atomic).
public final class ReplayCancellation: Sendable {
    private let flag = Atomic<Bool>(false)
    /// A token that is not cancelled.
    public init() {}
    /// Asks the replay to stop: readers stop at the next message, what was submitted is still ingested.
    public func cancel() { flag.store(true, ordering: .releasing) }
    /// Whether ``cancel()`` was called.
    public var isCancelled: Bool { flag.load(ordering: .acquiring) }
}

/// Makes the byte source of one input (see ``ReplayOptions/openSource``).
public typealias ReplaySourceOpener = @Sendable (ReplayInput) throws(ByteSourceError) -> any ByteSource

/// Settings of a ``ReplayPipeline`` (the engine's own knobs are in ``IngestConfiguration``).
public struct ReplayOptions: Sendable {
    /// Reader threads (files read at once); default: the number of online cores. Ignored by the
    /// synchronous build, which reads files one after another on the calling thread.
    public var readerThreads: Int
    /// Limits of the stream decoder.
    public var readerOptions: ReaderOptions
    /// Follow growing files (`nil`: read each file to its current end). Only inputs that can grow are
    /// followed (regular files; a pipe's end is its end).
    public var follow: ReplayFollowOptions?
    /// Retries of transient read errors.
    public var retry: ReplayRetryPolicy
    /// Pacing (`nil`: as fast as possible).
    public var pace: ReplayPace?
    /// How often the progress callback runs (threaded build; the synchronous build calls it after each batch).
    public var progressInterval: Duration
    /// The clock for retries, follow polling and pacing.
    public var clock: any ReplayClock
    /// Makes each input's byte source (tests inject sources that fail or grow; wrap one in
    /// ``/RRD/ZstdByteSource`` to decompress it). `nil` (the default): ``/RRD/ByteSources/open(path:)`` of
    /// the input's description: files and stdin, zstd-compressed ones (magic `28 B5 2F FD`) decompressed
    /// as they are read. Every source is read by the same loop: transient errors are retried, and with
    /// ``follow`` a source that can grow (a regular file, compressed or not) is followed.
    public var openSource: ReplaySourceOpener?
    /// Set it to stop the replay early.
    public var cancellation: ReplayCancellation

    /// The defaults: one reader per core, no follow, 5 retries from 100 ms to 5 s, no pacing, progress every 200 ms.
    public init(
        readerThreads: Int = ReplayOptions.onlineCores, readerOptions: ReaderOptions = ReaderOptions(),
        follow: ReplayFollowOptions? = nil, retry: ReplayRetryPolicy = ReplayRetryPolicy(), pace: ReplayPace? = nil,
        progressInterval: Duration = .milliseconds(200), clock: any ReplayClock = SystemReplayClock(),
        openSource: ReplaySourceOpener? = nil, cancellation: ReplayCancellation = ReplayCancellation()
    ) {
        self.readerThreads = max(1, readerThreads)
        self.readerOptions = readerOptions
        self.follow = follow
        self.retry = retry
        self.pace = pace
        self.progressInterval = progressInterval
        self.clock = clock
        self.openSource = openSource
        self.cancellation = cancellation
    }

    /// Online processors (`sysconf(_SC_NPROCESSORS_ONLN)`), at least 1.
    public static var onlineCores: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
}

/// A snapshot of a running replay, for progress displays.
public struct ReplayProgress: Sendable, Hashable {
    /// Inputs given.
    public var filesTotal: Int
    /// Inputs finished (successfully or not).
    public var filesDone: Int
    /// Inputs that failed so far.
    public var filesFailed: Int
    /// Stream bytes consumed so far (decompressed bytes for zstd inputs).
    public var bytesRead: UInt64
    /// Sum of the sizes of the regular, uncompressed input files known at the start (0 when none is known,
    /// e.g. stdin), less the unread bytes of inputs that ended early (failed).
    public var bytesTotal: UInt64
    /// Messages read so far.
    public var messages: UInt64
    /// Nanoseconds since the replay started.
    public var elapsedNanoseconds: UInt64
    /// Whether this is the last report (everything read and ingested).
    public var isFinal: Bool

    /// A snapshot with these figures (displays of other long runs, such as a rewrite, reuse the form).
    public init(
        filesTotal: Int, filesDone: Int, filesFailed: Int, bytesRead: UInt64, bytesTotal: UInt64, messages: UInt64,
        elapsedNanoseconds: UInt64, isFinal: Bool
    ) {
        self.filesTotal = filesTotal
        self.filesDone = filesDone
        self.filesFailed = filesFailed
        self.bytesRead = bytesRead
        self.bytesTotal = bytesTotal
        self.messages = messages
        self.elapsedNanoseconds = elapsedNanoseconds
        self.isFinal = isFinal
    }
}
