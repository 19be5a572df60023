@preconcurrency import Glibc
import ArgumentParser
import IngestCore
import Ingestion
import RRD
import Store
import Synchronization

#if LIVE_SERVER
import IngestServer
#endif

/// The signal that asked `ingest serve` to stop (0: none yet). A signal handler may only touch such a global atomic.
let serveStopSignal = Atomic<Int32>(0)

/// `ingest serve`: the gRPC endpoint the Rerun SDK streams to (`rr.connect_grpc(URL)`), feeding a hub
/// through the ingestion pipeline; prints the URL, live figures on stderr, and a summary at the end.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Receive recordings live from the Rerun SDK over gRPC (rr.connect_grpc) into the engine's stores.",
        discussion: """
            Prints the URL the SDK connects to (rerun+http://HOST:PORT/proxy) as the first line of stdout, \
            then live figures on stderr (a progress line on a terminal: clients, stores, messages/s, MB/s, \
            queue depths). Ctrl-C or SIGTERM stops accepting, ingests everything received, and prints the \
            summary (text, or JSON with --json) on stdout. --save FILE.rrd also writes everything received, \
            as it came, to one recording (with each store's footer manifest) once the server stopped. \
            Exit status: 0, 1 when a request or a chunk was damaged, 3 when --save could not write. Needs a \
            build with the LiveServer package trait (swift build --traits LiveServer).

            Examples:
              ingest serve                                  # then rr.connect_grpc("rerun+http://127.0.0.1:9876/proxy")
              ingest serve --port 0 --save received.rrd --json
            """
    )

    @Option(name: .long, help: "Address to listen on (IPv4 or IPv6; loopback by default).")
    var host = "127.0.0.1"

    @Option(name: .long, help: "Port to listen on (0: a free port, printed in the URL).")
    var port = 9876

    @Option(name: .long, help: "Write everything received to this recording (.rrd) as well.")
    var save: String?

    @Option(
        name: .long,
        help: """
            Memory budget of each store's chunk store, in bytes: past it, whole temporal chunks are dropped, \
            oldest RowId first (static data is kept).
            """)
    var memoryBudget: Int?

    @Option(name: [.customLong("queue-slots")], help: "Input-queue slots per store.")
    var queueCapacity = 2000

    @Option(name: .long, help: "Bound of each store's input queue in payload bytes (the backpressure point).")
    var queueBytes = 256 << 20

    @Option(name: .long, help: "Bytes of messages kept for late ReadMessages readers (0: store infos only).")
    var historyBytes = 64 << 20

    @Flag(name: .long, help: "Print the summary as one JSON document (with schema_version).")
    var json = false

    @Flag(name: .shortAndLong, help: "No live figures on stderr.")
    var quiet = false

    /// Parses and validates `args` (the seam the tests use).
    static func arguments(_ args: [String]) throws -> ServeCommand { try parse(args) }

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535, got \(port)") }
        guard queueCapacity > 0 && queueCapacity <= 1 << 24 else {
            throw ValidationError("--queue-slots must be in 1...16777216, got \(queueCapacity)")
        }
        guard queueBytes > 0 else { throw ValidationError("--queue-bytes must be positive, got \(queueBytes)") }
        guard historyBytes >= 0 else { throw ValidationError("--history-bytes must be >= 0, got \(historyBytes)") }
        if let memoryBudget, memoryBudget <= 0 {
            throw ValidationError("--memory-budget must be positive, got \(memoryBudget)")
        }
    }

    /// The engine configuration these flags stand for.
    var ingestConfiguration: IngestConfiguration {
        IngestConfiguration(
            queueCapacity: queueCapacity, maxQueuedBytes: queueBytes,
            chunkStore: ChunkStoreConfiguration(memoryBudget: memoryBudget))
    }

    func run() throws {
        #if LIVE_SERVER
        ReplayCommand.setAllocatorPolicy()
        // A parent may have started us with these blocked (a thread of libdispatch's pool spawning us
        // passes its mask on, all signals blocked): unblock them before any thread inherits the mask.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGINT)
        sigaddset(&stopSignals, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
        // Ctrl-C / SIGTERM: stop accepting, ingest what was received, print the summary. A second one kills.
        signal(SIGINT) { sig in
            serveStopSignal.store(sig, ordering: .relaxed)
            signal(SIGINT, SIG_DFL)
        }
        signal(SIGTERM) { sig in
            serveStopSignal.store(sig, ordering: .relaxed)
            signal(SIGTERM, SIG_DFL)
        }
        let status = try execute(stopRequested: { serveStopSignal.load(ordering: .relaxed) != 0 })
        if status != 0 { throw ExitCode(status) }
        #else
        var err = "ingest serve: this build has no gRPC server; build with the LiveServer trait "
            + "(swift build --traits LiveServer) to get it.\n"
        err.withUTF8 { buf in _ = write(2, buf.baseAddress, buf.count) }
        throw ExitCode(2)
        #endif
    }

    #if LIVE_SERVER
    /// Serves until `stopRequested()` holds, then stops, drains and prints the summary; `output` and
    /// `progressWrite` default to stdout/stderr (tests capture them). Runs on a thread that may block
    /// (the main thread): the server itself runs on SwiftNIO's event loops and the cooperative pool.
    /// - Returns: the exit status.
    func execute(
        stopRequested: () -> Bool, output: (String) -> Void = { print($0) }, progressWrite: ((String) -> Void)? = nil
    ) throws -> Int32 {
        let hub = StoreHub(configuration: ingestConfiguration)
        let recorder: ServeRecorder?
        if let save {
            do {
                recorder = try ServeRecorder(path: save)
            } catch {
                printError("ingest serve: --save: \(error)")
                return 3
            }
        } else {
            recorder = nil
        }
        var tap: (@Sendable (Message) -> Void)?
        if let recorder { tap = { recorder.record($0) } }
        let server = IngestServer(
            hub: hub, configuration: IngestServer.Configuration(historyBytes: historyBytes), messageTap: tap)
        let address: IngestServer.BoundAddress
        do {
            address = try blockingWait { [host, port] in try await server.start(host: host, port: port) }
        } catch {
            throw ValidationError("\(error)")
        }
        output(address.url)
        fflush(stdout)

        let display = LiveDisplay(mode: quiet ? .off : nil, write: progressWrite)
        var errors = 0
        var lastOutput: UInt64 = 0
        func drain() -> Int {
            let n = hub.drain { _, item in if item.error != nil { errors += 1 } }
            if n > 0 { lastOutput = ProxySender.unixNanoseconds() }
            return n
        }
        var lastShown: UInt64 = 0
        while !stopRequested() {
            let n = drain()
            let now = MonotonicClock.now()
            if now &- lastShown >= display.interval {
                display.show(server: server.statistics, hub: hub.statistics, final: false)
                lastShown = now
            }
            if n == 0 { usleep(20_000) }
        }
        display.show(server: server.statistics, hub: hub.statistics, final: true)
        // Stop accepting; calls still open get a moment to end on their own (an SDK flushing), then
        // everything received goes into the stores.
        blockingWait { await server.stop(drain: true, gracePeriod: .milliseconds(500)) }
        _ = drain()
        var sourceErrors: [SourceErrorItem] = []
        while let e = hub.pollSourceError() { sourceErrors.append(e) }
        var report = server.report(sourceErrors: sourceErrors, saved: recorder?.finish())
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        report.timing = ServeReport.Timing(
            firstRequestUnixNanoseconds: server.firstRequestUnixNanoseconds, lastOutputUnixNanoseconds: lastOutput,
            peakRSSBytes: UInt64(max(0, usage.ru_maxrss)) * 1024)
        output(json ? report.json : report.text)
        // The process ends next: freeing every stored chunk one by one would only cost time.
        _ = Unmanaged.passRetained(hub)
        if report.saved?.failure != nil { return 3 }
        return report.hasErrors || errors > 0 ? 1 : 0
    }
    #endif
}

/// Runs `body` on the cooperative pool and blocks the calling thread (never a pool thread: the
/// main thread of the CLI) until it returns.
func blockingWait<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = Locked<Result<T, any Error>?>(nil, conditions: 1)
    let done = LockCondition(0)
    Task {
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        box.withLock { $0 = result }
        box.broadcast(done)
    }
    return try box.withLockWaiting { held in
        while held.state == nil { held.wait(done) }
        return held.state!
    }.get()
}

/// ``blockingWait(_:)`` for work that does not throw.
func blockingWait(_ body: @escaping @Sendable () async -> Void) {
    _ = try? blockingWait { () async throws -> Int in
        await body()
        return 0
    }
}
