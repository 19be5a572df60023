@preconcurrency import Glibc
import ArgumentParser
import IngestCore
import Ingestion
import Store
import Logging
import RRD

/// The cancellation token Ctrl-C trips (a signal handler may only touch such a global atomic).
let replayInterrupt = ReplayCancellation()

/// `--pace recorded` or `--pace <messages per second>`.
enum PaceArgument: ExpressibleByArgument, Equatable {
    case recorded
    case rate(Double)

    init?(argument: String) {
        if argument == "recorded" {
            self = .recorded
        } else if let r = Double(argument), r > 0, r.isFinite {
            self = .rate(r)
        } else {
            return nil
        }
    }

    var pace: ReplayPace {
        switch self {
        case .recorded: return .recorded
        case .rate(let r): return .messagesPerSecond(r)
        }
    }
}

/// `ingest replay PATH_OR_GLOB...`: replays recordings in parallel into one hub (every chunk is
/// inserted into its store's chunk store) and prints a summary; progress goes to stderr.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay recordings through the ingestion engine, with progress and a summary.",
        discussion: """
            Inputs are files, directories (every .rrd/.rbl/.rrd.zst below), glob patterns expanded by the \
            program (quote them; ** matches any depth) and - for stdin. Files are read in parallel; a store \
            spanning files is fed in the order given. Progress goes to stderr, the summary to stdout. \
            Ctrl-C stops reading and still prints the summary. A directory without recordings, or a \
            pattern that matches nothing, is a usage error: nothing is read. Exit status: 0 when every \
            file was read without error, 1 when a file was damaged, 2 usage error or no recording \
            found, 3 when a file could not be opened or read, 130 when interrupted ('ingest help').

            Examples:
              ingest replay recording.rrd                       one file, live progress
              ingest replay --json -q 'logs/**/*.rrd'           every match, JSON summary
              ingest replay --reader-threads 1 a.rrd b.rrd      keep the given order
              ingest replay --follow --idle-timeout 30 live.rrd    a file being written
              ingest replay --compact --memory-budget 1000000000 big.rrd
              ingest replay --pace recorded recording.rrd       at the recorded rate
              ingest replay --save all.rrd 'logs/*.rrd'         and save what was ingested
            """
    )

    @Argument(help: "Recordings, directories or glob patterns (.rrd/.rbl, zstd-compressed or not; - for stdin).")
    var inputs: [String] = []

    @Flag(name: .long, help: "Print the summary as one JSON document (with schema_version).")
    var json = false

    @Flag(name: .shortAndLong, help: "No progress on stderr.")
    var quiet = false

    @Option(name: .long, help: "Files read at once (default: the number of cores).")
    var readerThreads: Int = ReplayOptions.onlineCores

    @Option(name: [.customLong("queue-slots"), .customLong("queue-capacity")], help: "Input-queue slots per store.")
    var queueCapacity = 2000

    @Option(name: .long, help: "Bound of each store's input queue in payload bytes.")
    var queueBytes = 256 << 20

    @Option(
        name: .long,
        help: """
            Memory budget of each store's chunk store, in bytes: past it, whole temporal chunks are dropped, \
            oldest RowId first (static data is kept).
            """)
    var memoryBudget: Int?

    @Flag(
        name: .long,
        help: """
            Compact small chunks on insert (384 KiB / 4096 rows, 1024 when unsorted), as the Rerun viewer does; \
            merges are batched, up to 32 waiting chunks per copy.
            """)
    var compact = false

    @Flag(
        name: .customLong("no-migrate"),
        help: """
            Keep chunks of recordings from older SDKs as the bytes hold them (their column names and \
            entity paths) instead of migrating them to today's schema, as the Rerun 0.41 reader does.
            """)
    var noMigrate = false

    @Option(
        name: .long,
        help: "Save what was ingested (every store's infos, chunks and activations, in order) as a recording.")
    var save: String?

    @Flag(name: .long, help: "Follow growing files: wait for them to appear and grow; stop at End or when idle.")
    var follow = false

    @Option(name: .long, help: "With --follow: seconds without new bytes before a file is given up.")
    var idleTimeout: Double = 10

    @Option(name: .long, help: "Retries of a transient read error (exponential backoff).")
    var retries = 5

    @Option(name: .long, help: "First retry delay in milliseconds (doubling each time).")
    var retryInitialMs = 100

    @Option(name: .long, help: "Longest retry delay in milliseconds.")
    var retryMaxMs = 5000

    @Option(name: .long, help: "Feed at the recorded rate (`recorded`, by log_time) or at N messages/s per file.")
    var pace: PaceArgument?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .warning

    @Flag(name: .long, help: .hidden)
    var keep = false  // chunks are always inserted now; kept so old scripts still run

    /// Parses and validates `args` (the seam the tests use).
    static func arguments(_ args: [String]) throws -> ReplayCommand { try parse(args) }

    /// The chosen log level's name.
    var logLevelName: String { logLevel.rawValue }

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one file, directory or pattern") }
        guard queueCapacity > 0 && queueCapacity <= 1 << 24 else {
            throw ValidationError("--queue-slots must be in 1...16777216, got \(queueCapacity)")
        }
        guard queueBytes > 0 else { throw ValidationError("--queue-bytes must be positive, got \(queueBytes)") }
        guard readerThreads > 0 && readerThreads <= 1024 else {
            throw ValidationError("--reader-threads must be in 1...1024, got \(readerThreads)")
        }
        if let memoryBudget, memoryBudget <= 0 {
            throw ValidationError("--memory-budget must be positive, got \(memoryBudget)")
        }
        guard idleTimeout > 0 && idleTimeout.isFinite else {
            throw ValidationError("--idle-timeout must be positive, got \(idleTimeout)")
        }
        guard retries >= 0, retryInitialMs >= 0, retryMaxMs >= retryInitialMs else {
            throw ValidationError("need --retries >= 0 and 0 <= --retry-initial-ms <= --retry-max-ms")
        }
    }

    /// The library options these flags stand for.
    func replayOptions(cancellation: ReplayCancellation) -> ReplayOptions {
        ReplayOptions(
            readerThreads: readerThreads,
            follow: follow ? ReplayFollowOptions(idleTimeout: .milliseconds(Int64(idleTimeout * 1000))) : nil,
            retry: ReplayRetryPolicy(
                attempts: retries, initialDelay: .milliseconds(retryInitialMs), maxDelay: .milliseconds(retryMaxMs)),
            pace: pace?.pace, cancellation: cancellation)
    }

    /// Runs the replay; `progressWrite`/`output` default to stderr/stdout (tests capture them).
    /// - Returns: the report and the exit status (``IngestExitStatus/of(_:)``).
    /// - Throws: ``Ingestion/ReplayInputError`` when an argument names no recording (a directory
    ///   without any, a pattern that matches nothing): nothing was read.
    func execute(
        cancellation: ReplayCancellation = replayInterrupt, progressMode: ProgressDisplay.Mode? = nil,
        progressWrite: ((String) -> Void)? = nil, keepAlive: Bool = false, output: (String) -> Void = { print($0) }
    ) throws -> (report: ReplayReport, status: Int32) {
        let logger = makeLogger(label: "ingest.replay", level: logLevel)
        let expanded = try ReplayInput.expand(inputs)
        logger.info("replaying \(expanded.count) input(s) with \(readerThreads) reader thread(s)")
        let pipeline = ReplayPipeline(
            inputs: expanded,
            configuration: IngestConfiguration(
                queueCapacity: queueCapacity, maxQueuedBytes: queueBytes,
                chunkStore: ChunkStoreConfiguration(compaction: compact ? .batched : nil, memoryBudget: memoryBudget),
                migratesSchemas: !noMigrate),
            options: replayOptions(cancellation: cancellation))
        var sink: RecordingSink?
        if let save {
            do {
                sink = try RecordingSink(path: save)
            } catch {
                printError("ingest replay: \(error)")
                throw ExitCode(IngestExitStatus.ioError.rawValue)
            }
        }
        let display = ProgressDisplay(mode: quiet ? .off : progressMode, write: progressWrite)
        let report = pipeline.run(
            progress: { display.show($0) },
            onOutput: { db, item in sink?.write(item, store: db.storeId) })
        display.finish()
        var saveFailed = false
        if let sink, let save {
            do {
                try sink.finish()
                logger.info("saved \(sink.chunksWritten) chunks (\(sink.bytesWritten) bytes) to \(save)")
            } catch {
                printError("ingest replay: --save \(save): \(error)")
                saveFailed = true
            }
        }
        for f in report.files {
            if f.failed {
                logger.error("\(f.input): failed: \(f.errors.joined(separator: "; "))")
            } else {
                logger.debug("\(f.input): \(f.messages) messages, \(f.bytesRead) bytes, \(f.retries) retries")
            }
            if f.retries > 0 { logger.warning("\(f.input): \(f.retries) read retries") }
        }
        if report.interrupted { logger.warning("interrupted: the summary covers what was read before Ctrl-C") }
        output(json ? report.json : report.text)
        // The process ends next: freeing every stored chunk one by one would only cost time.
        if keepAlive { _ = Unmanaged.passRetained(pipeline) } else { pipeline.hub.shutdown(drain: false) }
        let status = IngestExitStatus.of(report)
        return (report, saveFailed ? max(status, .ioError).rawValue : status.rawValue)
    }

    func run() throws {
        Self.setAllocatorPolicy()
        // Ctrl-C: stop reading, finish what was submitted, print the summary. A second Ctrl-C kills.
        signal(SIGINT) { _ in
            replayInterrupt.cancel()
            signal(SIGINT, SIG_DFL)
        }
        // A parent may have started us with SIGINT blocked (a blocked mask survives exec): unblock it,
        // or Ctrl-C would never reach the handler. Threads started later inherit this mask.
        var interrupt = sigset_t()
        sigemptyset(&interrupt)
        sigaddset(&interrupt, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &interrupt, nil)
        let status: Int32
        do {
            (_, status) = try execute(keepAlive: true)
        } catch let error as ReplayInputError {
            try IngestExitStatus.failUsage("replay", error.description)
        }
        if status != 0 { throw ExitCode(status) }
    }

    /// The process's allocator policy for a replay (a program's choice; the library sets none):
    /// glibc grows each thread's heap by 64 MiB beyond a request (`M_TOP_PAD`) instead of page by
    /// page, so the store's worker, which keeps everything it allocates, does not pay an `mprotect`
    /// and a trim per step. Measured on `scalars_500mb` after the reader's own allocations were gone
    /// (payload arenas, recycled read blocks): system time 1.26 → 0.94 s (medians of 3, 2 loaded
    /// cores), peak RSS unchanged (padding that is never touched is never resident).
    static func setAllocatorPolicy() {
        // `mallopt` is declared in <malloc.h>, which the Glibc module does not import: look it up.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mTopPad: Int32 = -2  // M_TOP_PAD
        _ = unsafeBitCast(symbol, to: Mallopt.self)(mTopPad, 64 << 20)
    }

    /// ``setAllocatorPolicy()`` plus what `ingest optimize` needs: it encodes one chunk after another
    /// into buffers of about a megabyte, which glibc would `mmap`, fault in and `munmap` one by one.
    /// Up to 64 MiB they come from the heap (`M_MMAP_THRESHOLD`) and freed memory is kept for the
    /// next (`M_TRIM_THRESHOLD` 256 MiB). Measured on mixed_500mb (393 chunks encoded, 2 alternating
    /// runs each, loaded machine): 3.02 / 3.09 s → 2.00 / 1.89 s, system time 1.4 → 0.7 s, peak RSS
    /// unchanged (850 → 845 MB).
    static func setEncodingAllocatorPolicy() {
        setAllocatorPolicy()
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let mTrimThreshold: Int32 = -1  // M_TRIM_THRESHOLD
        let mMmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD
        _ = mallopt(mMmapThreshold, 64 << 20)
        _ = mallopt(mTrimThreshold, 256 << 20)
    }
}
