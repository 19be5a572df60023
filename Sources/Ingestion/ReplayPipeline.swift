@preconcurrency import Glibc
import ArrowIPC
import Chunks
import IngestCore
import RRD
import Store
import Synchronization

/// Replays many recordings into one ``StoreHub``: sources in, hub (and chunk stores) out, with a
/// progress callback. The `ingest replay` and `ingest query` commands and ``StoreHub/replay(files:readerOptions:onOutput:)``
/// are thin wrappers around it.
///
/// ```swift
/// let inputs = try ReplayInput.expand(["recordings/**/*.rrd", "-"])
/// let pipeline = ReplayPipeline(inputs: inputs)
/// let report = pipeline.run(progress: { p in print(p.bytesRead) })
/// print(report.text)
/// pipeline.hub.store(report.stores[0].storeId)?.chunkStore.statistics
/// pipeline.hub.shutdown(drain: true)
/// ```
///
/// Each input is opened one way (``/RRD/ByteSources/open(path:)``: a file or stdin, zstd detected by
/// its magic, or what ``ReplayOptions/openSource`` makes), framed by an ``RRDStreamSource``, and read
/// by the one reading loop (retries, `follow`, pacing; see ``IngestSource``).
///
/// Files are read by ``ReplayOptions/readerThreads`` reader threads, each taking the next file in
/// order. Every chunk is inserted into its store's ``EntityDb/chunkStore`` on the store's worker. A store
/// fed by several files gets their messages file after file in the given order when each file meets its
/// first store before its others (the usual layout): a reader meeting a store waits (before submitting,
/// so it holds no queue slot) until every earlier file has met a store, and until the earlier files that
/// met this store are done. Waits are only ever for earlier files, so they cannot deadlock; a file's
/// later stores may interleave with an earlier file's. When following growing files, only the second
/// rule applies (an earlier file may not have written anything yet). One bad file never stops the others:
/// its errors are kept in its ``ReplayFileResult`` (and reported on the hub's per-source error stream,
/// ``StoreHub/pollSourceError()``, under the file's label). The synchronous build reads the files one
/// after another on the calling thread.
public final class ReplayPipeline: @unchecked Sendable {
    // @unchecked: the run's mutable state is in `shared` (guarded by its mutex) or atomic; the rest is
    // immutable (`decompression` is only copied, by each reader).

    /// The hub every input feeds.
    public let hub: StoreHub

    /// Where payloads are decompressed (on the reading threads or the workers); each file's reading
    /// starts from a copy of it.
    private let decompression: PayloadDecompression
    /// The inputs, in order.
    public let inputs: [ReplayInput]
    /// The settings.
    public let options: ReplayOptions

    /// What the reader threads share.
    private struct RunState {
        var results: [ReplayFileResult]
        /// Per store: the files that met it and have not finished (waiting or feeding).
        var feeders: [StoreId: [Int]] = [:]
        /// Per file: it has met a store (or finished).
        var metAStore: [Bool]
        var filesDone = 0
        var nextFile = 0
    }
    private let shared: Locked<RunState>
    /// Conditions of `shared`.
    private static let claimsReleased = LockCondition(0)
    /// Each input's name in the engine's outputs and errors: its description, with a suffix for a
    /// file given twice.
    private let labels: [String]
    private let readNanos = ReplayCounter()
    private let orderWaitNanos = ReplayCounter()
    /// Stream bytes consumed by the readers.
    let bytesRead = ReplayCounter()
    private let bytesDecompressed = ReplayCounter()
    private let messageCount = ReplayCounter()
    private let kindCounts = (0..<4).map { _ in ReplayCounter() }
    private let bytesTotal: UInt64
    /// Sizes of the regular input files (0 when unknown), for the progress fraction.
    private let sizes: [UInt64]
    /// Bytes of finished inputs that were never read (failed files): they leave the progress total.
    private let unreadOfFinished = ReplayCounter()

    /// A pipeline over `inputs` into a new hub. `configuration` is applied to every store (each
    /// ``EntityDb`` inserts every chunk into its own ``EntityDb/chunkStore``).
    public convenience init(
        inputs: [ReplayInput], configuration: IngestConfiguration = IngestConfiguration(),
        options: ReplayOptions = ReplayOptions()
    ) {
        self.init(hub: StoreHub(configuration: configuration), inputs: inputs, options: options)
    }

    /// A pipeline over `inputs` into `hub` (which may hold stores already: inputs of the same stores
    /// add to them, and the report lists every store of the hub).
    public init(hub: StoreHub, inputs: [ReplayInput], options: ReplayOptions = ReplayOptions()) {
        self.hub = hub
        self.decompression = PayloadDecompression(
            maxQueuedBytes: hub.configuration.maxQueuedBytes, alternatesLargePayloads: true)
        self.inputs = inputs
        self.options = options
        let results = inputs.map {
            ReplayFileResult(input: $0, bytesRead: 0, messages: 0, retries: 0, errors: [], interrupted: false)
        }
        self.shared = Locked(
            RunState(results: results, metAStore: [Bool](repeating: false, count: inputs.count)), conditions: 1)
        var seen: [String: Int] = [:]
        self.labels = inputs.map { input in
            let name = input.description
            let n = seen[name, default: 0] + 1
            seen[name] = n
            return n == 1 ? name : "\(name) (#\(n))"
        }
        self.sizes = inputs.map { input in
            guard case .file(let path) = input, !path.hasSuffix(".zst") else { return 0 }
            var st = stat()
            return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG ? UInt64(st.st_size) : 0
        }
        self.bytesTotal = sizes.reduce(0, +)
    }

    private let start = ReplayCounter()

    /// What the chunk store of `id` holds now: chunks, rows and approximate bytes (`nil` if nothing was inserted).
    public func storedTotals(_ id: StoreId) -> (chunks: Int, rows: Int, bytes: Int)? {
        guard let st = hub.store(id)?.chunkStore.statistics else { return nil }
        return (st.chunks, st.rows, st.approximateBytes)
    }

    /// A snapshot of the progress so far.
    public var progress: ReplayProgress {
        let (done, failed) = shared.withLock { ($0.filesDone, $0.results.filter(\.failed).count) }
        let t0 = start.value
        return ReplayProgress(
            filesTotal: inputs.count, filesDone: done, filesFailed: failed,
            bytesRead: bytesRead.value, bytesTotal: bytesTotal &- unreadOfFinished.value,
            messages: messageCount.value,
            elapsedNanoseconds: t0 == 0 ? 0 : options.clock.now() &- t0, isFinal: false)
    }

    /// Reads every input, ingests it, and reports. Call once.
    ///
    /// The calling thread drains the stores' outputs as they come (`onOutput` sees each one; per
    /// store in admission order) and calls `progress` every ``ReplayOptions/progressInterval``
    /// and once at the end (``ReplayProgress/isFinal``). It never submits, so it never blocks on a full queue.
    /// - Returns: per-file results, per-store figures, totals and timings. The hub stays open (its
    ///   stores can be queried); shut it down when done.
    public func run(
        progress: (ReplayProgress) -> Void = { _ in }, onOutput: (EntityDb, IngestOutput) -> Void = { _, _ in }
    ) -> ReplayReport {
        let t0 = options.clock.now()
        start.add(max(t0, 1))
        func handle(_ db: EntityDb, _ item: IngestOutput) {
            if let e = item.error { recordError(label: item.source, e.description) }
            onOutput(db, item)
        }
        runReaders(progress: progress, handle: handle)
        hub.flush()
        hub.drain(handle)
        var final = self.progress
        final.isFinal = true
        progress(final)
        return report(wall: options.clock.now() &- t0)
    }

    /// Reads every input while the calling thread drains outputs (`handle`) and reports `progress`,
    /// as the build's executor runs readers (``StoreExecutor/runReaders(count:tendEvery:_:tend:)``):
    /// threaded, ``ReplayOptions/readerThreads`` reader threads take the inputs in order while the
    /// calling thread drains every ``ReplayOptions/progressInterval`` (and when a reader ends);
    /// synchronous, the calling thread reads the inputs one after another, draining after each batch
    /// (submit decoded it inline).
    private func runReaders(
        progress: (ReplayProgress) -> Void, handle: (EntityDb, IngestOutput) -> Void
    ) {
        let count = DefaultExecutor.isInline ? 1 : min(options.readerThreads, inputs.count)
        let interval = max(options.progressInterval.nanosecondsClamped, 1_000_000)
        DefaultExecutor.runReaders(
            count: count, tendEvery: interval,
            { [self] _, afterBatch in
                while let i = takeFile() { readInput(i, afterBatch: afterBatch) }
            },
            tend: { finished in
                hub.drain(handle)
                if !finished { progress(self.progress) }
            })
    }

    private func takeFile() -> Int? {
        shared.withLock { state in
            guard state.nextFile < inputs.count, !options.cancellation.isCancelled else { return nil }
            defer { state.nextFile += 1 }
            return state.nextFile
        }
    }

    private func recordError(label: String, _ message: String) {
        guard let i = labels.firstIndex(of: label) else { return }
        shared.withLock { $0.results[i].errors.append(message) }
    }

    private func report(wall: UInt64) -> ReplayReport {
        var blocked: UInt64 = 0
        var decode: UInt64 = 0
        var insert: UInt64 = 0
        let stores = hub.allStores.map { db in
            let st = db.statistics
            blocked += st.producerBlockedNanoseconds
            decode += st.decodeNanoseconds
            insert += st.insertNanoseconds
            return ReplayStoreReport(st)
        }
        var kinds: [String: UInt64] = [:]
        for k in [MessageKind.end, .setStoreInfo, .arrowMsg, .blueprintActivationCommand] {
            kinds[k.description] = kindCounts[Int(k.rawValue)].value
        }
        return ReplayReport(
            files: shared.withLock { $0.results }, messagesByKind: kinds, stores: stores,
            bytesRead: bytesRead.value, bytesDecompressed: bytesDecompressed.value,
            wallNanoseconds: wall, readNanoseconds: readNanos.value,
            decodeNanoseconds: decode, insertNanoseconds: insert,
            orderWaitNanoseconds: orderWaitNanos.value, blockedNanoseconds: blocked,
            interrupted: options.cancellation.isCancelled, synchronous: StoreHub.isSynchronous)
    }

    // MARK: store order across files

    /// Waits until no earlier file still feeds `store`, then marks `file` as feeding it.
    /// - Returns: `false` if the replay was cancelled while waiting.
    func claim(_ store: StoreId, file: Int) -> Bool {
        let t0 = MonotonicClock.now()
        defer { orderWaitNanos.add(MonotonicClock.now() &- t0) }
        let waitForUnstarted = options.follow == nil
        let cancellation = options.cancellation
        return shared.withLockWaiting { held in
            // Registered before waiting: a later file that meets the store meanwhile queues behind this one.
            // A file waits only for earlier files (so waits never form a cycle): for those that met the
            // store, and, unless following, for those that have not met any store yet (a file's first
            // store usually comes first: this makes the given order hold for files of one store each).
            held.state.feeders[store, default: []].append(file)
            held.state.metAStore[file] = true
            // (Written out in the loop: a nested function capturing `held` crashes the 6.3 compiler.)
            while (waitForUnstarted && held.state.metAStore[..<file].contains(false))
                || held.state.feeders[store, default: []].contains(where: { $0 < file })
            {
                if cancellation.isCancelled { return false }
                _ = held.wait(Self.claimsReleased, untilNanoseconds: MonotonicClock.now() &+ 100_000_000)
            }
            return true
        }
    }

    private func finishFile(_ file: Int, claimed: Set<StoreId>, _ update: (inout ReplayFileResult) -> Void) {
        shared.withLock { state in
            for s in claimed { state.feeders[s]?.removeAll { $0 == file } }
            state.metAStore[file] = true
            update(&state.results[file])
            state.filesDone += 1
        }
        shared.broadcast(Self.claimsReleased)
    }

    // MARK: reading one input

    /// From this uncompressed size on, every other payload is decompressed by the store's worker instead
    /// of the reader (measured on points_500mb: 3.3 MB payloads, the reader otherwise the only busy thread);
    /// a batch is submitted once its payloads reach this size.
    public static let sharedDecompressionSize = PayloadDecompression.sharedDecompressionSize

    /// Reads input `i` to its end (or until cancelled), submitting as it goes; `afterBatch` runs after each submit.
    func readInput(_ i: Int, afterBatch: () -> Void) {
        let label = labels[i]
        let input = inputs[i]
        let reader = SourceReader(
            hub: hub, label: label, options: options, decompression: decompression, run: self, file: i)
        let t0 = options.clock.now()
        let open = options.openSource
        let readerOptions = options.readerOptions
        reader.read(
            open: { () throws(ByteSourceError) -> any IngestSource in
                let bytes: any ByteSource =
                    if let open { try open(input) } else { try ByteSources.open(path: input.description) }
                return RRDStreamSource(bytes, name: label, options: readerOptions)
            }, afterBatch: afterBatch)
        readNanos.add(options.clock.now() &- t0)
        let state = reader.state
        let interrupted = state.cancelled
        if sizes[i] > state.bytes && !interrupted { unreadOfFinished.add(sizes[i] - state.bytes) }
        finishFile(i, claimed: state.claimed) { r in
            r.bytesRead = state.bytes
            r.messages = state.messages
            r.retries = state.retries
            r.errors.insert(contentsOf: state.errors, at: 0)
            r.interrupted = interrupted
            r.stoppedByIOError = state.stoppedByIOError
        }
    }

    /// Adds a reader's message counts (by kind: End, SetStoreInfo, ArrowMsg, BlueprintActivationCommand)
    /// and uncompressed payload bytes to the totals.
    func publish(kinds k: (UInt64, UInt64, UInt64, UInt64), decompressed: UInt64) {
        messageCount.add(k.0 &+ k.1 &+ k.2 &+ k.3)
        if k.0 > 0 { kindCounts[0].add(k.0) }
        if k.1 > 0 { kindCounts[1].add(k.1) }
        if k.2 > 0 { kindCounts[2].add(k.2) }
        if k.3 > 0 { kindCounts[3].add(k.3) }
        if decompressed > 0 { bytesDecompressed.add(decompressed) }
    }

    /// Sleeps `ns` on `clock`. On the real clock in slices of 100 ms, so a cancellation is noticed soon;
    /// an injected clock gets one call per wait, so tests see the exact schedule.
    static func sleep(_ ns: UInt64, clock: any ReplayClock, cancellation: ReplayCancellation) {
        guard clock is SystemReplayClock else {
            if ns > 0 && !cancellation.isCancelled { clock.sleep(nanoseconds: ns) }
            return
        }
        var left = ns
        while left > 0 && !cancellation.isCancelled {
            let step = min(left, 100_000_000)
            clock.sleep(nanoseconds: step)
            left -= step
        }
    }
}

/// A relaxed atomic counter shared by threads (statistics only).
final class ReplayCounter: Sendable {
    private let atomic = Atomic<UInt64>(0)
    func add(_ n: UInt64) { atomic.add(n, ordering: .relaxed) }
    var value: UInt64 { atomic.load(ordering: .relaxed) }
}
