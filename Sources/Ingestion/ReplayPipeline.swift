@preconcurrency import Glibc
import ArrowIPC
import Chunks
import IngestCore
import RRD
import Store
import Synchronization

/// Replays many recordings into one ``StoreHub``: sources in, hub (and chunk stores) out, with a
/// progress callback. The `ingest replay` command is a thin wrapper around it.
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
/// Files are read by ``ReplayOptions/readerThreads`` reader threads, each taking the next file in
/// order. Every chunk is inserted into its store's ``EntityDb/chunkStore`` on the store's worker. A store
/// fed by several files gets their messages file after file in the given order when each file meets its
/// first store before its others (the usual layout): a reader meeting a store waits (before submitting,
/// so it holds no queue slot) until every earlier file has met a store, and until the earlier files that
/// met this store are done. Waits are only ever for earlier files, so they cannot deadlock; a file's
/// later stores may interleave with an earlier file's. When following growing files, only the second
/// rule applies (an earlier file may not have written anything yet). One bad file never stops the others: its errors are kept in its
/// ``ReplayFileResult``. The synchronous build reads the files one after another on the calling thread.
public final class ReplayPipeline: @unchecked Sendable {
    // @unchecked: mutable state is guarded by `lock` (file results, claims, progress counters) or atomic.

    /// The hub every input feeds.
    public let hub: StoreHub

    /// Where payloads are decompressed (on the reading threads or the workers); each file's reading
    /// starts from a copy of it.
    private let decompression: PayloadDecompression
    /// `options.cancellation`, at hand (reading it through `options` copies the options).
    private let cancellation: ReplayCancellation
    /// The inputs, in order.
    public let inputs: [ReplayInput]
    /// The settings.
    public let options: ReplayOptions

    private let lock = Locked(conditions: 2)  // 0: claims released, 1: a file finished
    private var results: [ReplayFileResult]
    private var labels: [String]
    /// Per store: the files that met it and have not finished (waiting or feeding).
    private var feeders: [StoreId: [Int]] = [:]
    /// Per file: it has met a store (or finished).
    private var metAStore: [Bool]
    private var filesDone = 0
    private var nextFile = 0
    private var readersRunning = 0
    private let readNanos = ReplayCounter()
    private let orderWaitNanos = ReplayCounter()
    private let bytesRead = ReplayCounter()
    private let bytesDecompressed = ReplayCounter()
    private let messageCount = ReplayCounter()
    private let kindCounts = (0..<4).map { _ in ReplayCounter() }
    private let bytesTotal: UInt64
    /// Sizes of the regular input files (0 when unknown), for the progress fraction.
    private let sizes: [UInt64]
    /// Bytes of finished inputs that were never read (failed files): they leave the progress total.
    private let unreadOfFinished = ReplayCounter()

    /// A pipeline over `inputs`. `configuration` is applied to every store (each ``EntityDb`` inserts
    /// every chunk into its own ``EntityDb/chunkStore``).
    public init(
        inputs: [ReplayInput], configuration: IngestConfiguration = IngestConfiguration(),
        options: ReplayOptions = ReplayOptions()
    ) {
        self.hub = StoreHub(configuration: configuration)
        self.decompression = PayloadDecompression(
            maxQueuedBytes: configuration.maxQueuedBytes, alternatesLargePayloads: true)
        self.cancellation = options.cancellation
        self.inputs = inputs
        self.options = options
        self.results = inputs.map {
            ReplayFileResult(input: $0, bytesRead: 0, messages: 0, retries: 0, errors: [], interrupted: false)
        }
        // Labels name each input in the engine's outputs; a file given twice gets a suffix.
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
        self.metAStore = [Bool](repeating: false, count: inputs.count)
    }

    private let start = ReplayCounter()

    /// What the chunk store of `id` holds now: chunks, rows and approximate bytes (`nil` if nothing was inserted).
    public func storedTotals(_ id: StoreId) -> (chunks: Int, rows: Int, bytes: Int)? {
        guard let st = hub.store(id)?.chunkStore.statistics else { return nil }
        return (st.chunks, st.rows, st.approximateBytes)
    }

    /// A snapshot of the progress so far.
    public var progress: ReplayProgress {
        let (done, failed) = lock.withLock { _ in (filesDone, results.filter(\.failed).count) }
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
        #if SYNCHRONOUS_INGESTION
        for i in inputs.indices {
            readInput(i) {
                // Not `handle`: a closure value that captures the non-escaping `onOutput` may not be
                // captured again by this closure (error in the synchronous build).
                hub.drain { db, item in
                    if let e = item.error { recordError(label: item.source, e.description) }
                    onOutput(db, item)
                }
                progress(self.progress)
            }
        }
        #else
        let count = min(options.readerThreads, inputs.count)
        lock.withLock { _ in readersRunning = count }
        let threads = (0..<count).map { n in
            WorkerThread(name: "ingest-r-\(n)") { [self] in
                while let i = takeFile() { readInput(i) {} }
                lock.withLock { _ in readersRunning -= 1 }
                lock.broadcast(LockCondition(1))
            }
        }
        let interval = max(options.progressInterval.nanosecondsClamped, 1_000_000)
        while true {
            let finished = lock.withLockWaiting { held in
                if readersRunning > 0 {
                    _ = held.wait(LockCondition(1), untilNanoseconds: MonotonicClock.now() &+ interval)
                }
                return readersRunning == 0
            }
            hub.drain(handle)
            if finished { break }
            progress(self.progress)
        }
        for t in threads { t.join() }
        #endif
        hub.flush()
        hub.drain(handle)
        var final = self.progress
        final.isFinal = true
        progress(final)
        return report(wall: options.clock.now() &- t0)
    }

    private func takeFile() -> Int? {
        lock.withLock { _ in
            guard nextFile < inputs.count, !options.cancellation.isCancelled else { return nil }
            defer { nextFile += 1 }
            return nextFile
        }
    }

    private func recordError(label: String, _ message: String) {
        lock.withLock { _ in
            if let i = labels.firstIndex(of: label) { results[i].errors.append(message) }
        }
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
            return ReplayStoreReport(
                storeId: db.storeId, chunks: st.distinctChunks, rows: st.rows,
                bytes: st.chunkStore.approximateBytes, chunksInStore: st.chunkStore.chunks,
                duplicates: st.duplicateChunks, decodeErrors: st.decodeErrors, messages: st.admitted)
        }
        var kinds: [String: UInt64] = [:]
        for k in [MessageKind.end, .setStoreInfo, .arrowMsg, .blueprintActivationCommand] {
            kinds[k.description] = kindCounts[Int(k.rawValue)].value
        }
        return ReplayReport(
            files: lock.withLock { _ in results }, messagesByKind: kinds, stores: stores,
            bytesRead: bytesRead.value, bytesDecompressed: bytesDecompressed.value,
            wallNanoseconds: wall, readNanoseconds: readNanos.value,
            decodeNanoseconds: decode, insertNanoseconds: insert,
            orderWaitNanoseconds: orderWaitNanos.value, blockedNanoseconds: blocked,
            interrupted: options.cancellation.isCancelled, synchronous: StoreHub.isSynchronous)
    }

    // MARK: store order across files

    /// Waits until no earlier file still feeds `store`, then marks `file` as feeding it.
    /// - Returns: `false` if the replay was cancelled while waiting.
    private func claim(_ store: StoreId, file: Int) -> Bool {
        let t0 = MonotonicClock.now()
        defer { orderWaitNanos.add(MonotonicClock.now() &- t0) }
        return lock.withLockWaiting { held in
            // Registered before waiting: a later file that meets the store meanwhile queues behind this one.
            // A file waits only for earlier files (so waits never form a cycle): for those that met the
            // store, and, unless following, for those that have not met any store yet (a file's first
            // store usually comes first: this makes the given order hold for files of one store each).
            feeders[store, default: []].append(file)
            metAStore[file] = true
            let waitForUnstarted = options.follow == nil
            func mustWait() -> Bool {
                if waitForUnstarted, metAStore[..<file].contains(false) { return true }
                return feeders[store, default: []].contains { $0 < file }
            }
            while mustWait() {
                if options.cancellation.isCancelled { return false }
                _ = held.wait(LockCondition(0), untilNanoseconds: MonotonicClock.now() &+ 100_000_000)
            }
            return true
        }
    }

    private func finishFile(_ file: Int, claimed: Set<StoreId>, _ update: (inout ReplayFileResult) -> Void) {
        lock.withLock { _ in
            for s in claimed { feeders[s]?.removeAll { $0 == file } }
            metAStore[file] = true
            update(&results[file])
            filesDone += 1
        }
        lock.broadcast(LockCondition(0))
        lock.broadcast(LockCondition(1))
    }

    // MARK: reading one input

    /// Per-input reading state. Touched only by the thread reading the input, so its fields skip
    /// the runtime's dynamic exclusivity checks (several per message otherwise).
    private final class FileState {
        @exclusivity(unchecked) var claimed = Set<StoreId>()
        @exclusivity(unchecked) var batch = MessageBatch(capacity: ReplayPipeline.batchSize)
        @exclusivity(unchecked) var bytes: UInt64 = 0
        @exclusivity(unchecked) var messages: UInt64 = 0
        @exclusivity(unchecked) var retries = 0
        @exclusivity(unchecked) var errors: [String] = []
        @exclusivity(unchecked) var stop = false
        @exclusivity(unchecked) var sawEnd = false
        @exclusivity(unchecked) var ended = false
        @exclusivity(unchecked) var pacer: ReplayPacer? { didSet { paced = pacer != nil } }
        /// `pacer != nil` (testing the optional copies the pacer).
        @exclusivity(unchecked) var paced = false
        @exclusivity(unchecked) var cancelled = false
        /// The store of the previous message (claimed already): most messages repeat it.
        @exclusivity(unchecked) var lastStore: StoreId?
        /// This file's reading side of the decompression policy (its arenas, one per store, and its
        /// count of large payloads).
        @exclusivity(unchecked) var decompression: PayloadDecompression
        /// Uncompressed bytes of the LZ4 payloads in `batch`.
        @exclusivity(unchecked) var batchPayloadBytes = 0
        /// Counts not yet added to the pipeline's shared counters (added once per batch).
        @exclusivity(unchecked) var unpublishedKinds: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        @exclusivity(unchecked) var unpublishedDecompressed: UInt64 = 0

        init(decompression: PayloadDecompression) { self.decompression = decompression }
    }

    /// From this uncompressed size on, every other payload is decompressed by the store's worker instead
    /// of the reader (measured on points_500mb: 3.3 MB payloads, the reader otherwise the only busy thread);
    /// a batch is submitted once its payloads reach this size.
    public static let sharedDecompressionSize = PayloadDecompression.sharedDecompressionSize

    private static let batchSize = 64
    /// A submit that took longer than this waited for room in the store's queue (``submitBatch``).
    private static let blockedSubmitNanoseconds: UInt64 = 50_000
    /// Pre-faulted slabs to keep ready while the reader waits on a store (``IngestCore/SpareSlabs``): 16 MiB.
    private static let spareSlabs = 4

    /// Reads input `i` to its end (or until cancelled), submitting as it goes; `afterBatch` runs after each submit.
    private func readInput(_ i: Int, afterBatch: () -> Void) {
        let label = labels[i]
        let state = FileState(decompression: decompression)
        if let pace = options.pace { state.pacer = ReplayPacer(pace: pace, clock: options.clock) }
        let t0 = options.clock.now()
        var decoder = StreamDecoder(source: label, options: options.readerOptions)
        func sink(_ event: consuming StreamEvent) { handle(event, file: i, label: label, state, afterBatch) }

        if let reader = plainReaderFallback(i) {
            // zstd or stdin through RRDReader: no follow, no retries.
            switch reader {
            case .success(var r):
                while !state.stop, let event = r.next() {
                    sink(event)
                    noteBytes(r.bytesConsumed, state)
                }
            case .failure(let e):
                state.errors.append(e.description)
            }
        } else {
            readOwnSource(i, &decoder, state, sink)
        }
        submitBatch(label: label, state)
        afterBatch()
        readNanos.add(options.clock.now() &- t0)
        let interrupted = state.cancelled
        if sizes[i] > state.bytes && !interrupted { unreadOfFinished.add(sizes[i] - state.bytes) }
        finishFile(i, claimed: state.claimed) { r in
            r.bytesRead = state.bytes
            r.messages = state.messages
            r.retries = state.retries
            r.errors.insert(contentsOf: state.errors, at: 0)
            r.interrupted = interrupted
        }
    }

    private func noteBytes(_ consumed: UInt64, _ state: FileState) {
        if consumed > state.bytes {
            bytesRead.add(consumed - state.bytes)
            state.bytes = consumed
        }
    }

    /// An ``RRDReader`` for inputs the default opener cannot stream itself (stdin and zstd files), or `nil`.
    private func plainReaderFallback(_ i: Int) -> Result<RRDReader, RRDError>? {
        guard options.openSource == nil else { return nil }
        switch inputs[i] {
        case .standardInput:
            break
        case .file(let path):
            guard path.hasSuffix(".zst") || Self.startsWithZstdMagic(path) else { return nil }
        }
        do {
            return .success(try RRDReader(path: inputs[i].description, options: options.readerOptions))
        } catch {
            return .failure(error)
        }
    }

    private static func startsWithZstdMagic(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var magic: UInt32 = 0
        let n = withUnsafeMutableBytes(of: &magic) { pread(fd, $0.baseAddress, 4, 0) }
        return n == 4 && UInt32(littleEndian: magic) == 0xFD2F_B528
    }

    private func sleep(_ ns: UInt64) {
        Self.sleep(ns, clock: options.clock, cancellation: options.cancellation)
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

    /// Reads input `i` through its byte source: retries transient errors with backoff; when following,
    /// waits for the file to appear and grow, and stops at the End marker's footer or after the idle timeout.
    private func readOwnSource(
        _ i: Int, _ decoder: inout StreamDecoder, _ state: FileState, _ sink: (consuming StreamEvent) -> Void
    ) {
        let follow = options.follow
        let clock = options.clock
        // A block is read into again once nothing references it (no payload slice of it is
        // still queued or kept): most blocks are, as payloads are decompressed on this thread.
        var blocks = ReadBlockRecycler(blockSize: options.readerOptions.readBlockSize)
        // From this many missing payload bytes on, input is read straight into the payload's storage.
        let directPayloadReadSize = max(blocks.blockSize / 2, 1)
        var lastBytesAt = clock.now()
        var source: (any ReplayByteSource)?
        var failures = 0
        var bytesFed: UInt64 = 0
        func idleExpired() -> Bool {
            guard let follow else { return true }
            return clock.now() &- lastBytesAt >= follow.idleTimeout.nanosecondsClamped
        }
        func transient(_ e: ReplayIOError) -> Bool {
            guard e.isTransient, failures < options.retry.attempts else { return false }
            failures += 1
            state.retries += 1
            sleep(options.retry.delay(beforeRetry: failures).nanosecondsClamped)
            return true
        }
        while !state.stop && !state.ended {
            if options.cancellation.isCancelled {
                state.cancelled = true
                break
            }
            if source == nil {
                do {
                    source = try options.openSource.map { open throws(ReplayIOError) in try open(inputs[i]) }
                        ?? FileByteSource(inputs[i])
                    failures = 0
                } catch let error as ReplayIOError {
                    if follow != nil && error.errno == ENOENT && !idleExpired() {
                        sleep(follow!.pollInterval.nanosecondsClamped)
                        continue
                    }
                    if transient(error) { continue }
                    state.errors.append("\(labels[i]): \(error)")
                    return
                } catch {
                    state.errors.append("\(labels[i]): \(error)")
                    return
                }
            }
            var n = 0
            var readError: ReplayIOError?
            var storage: ByteStorage?
            if decoder.payloadBytesMissing >= directPayloadReadSize {
                // The rest of a large payload: read straight into the storage it is assembled in
                // (a read block would only be copied there).
                do throws(ReplayIOError) {
                    n = try decoder.readPayload(limit: blocks.blockSize, sink) {
                        (buf: UnsafeMutableRawBufferPointer) throws(ReplayIOError) in try source!.read(into: buf)
                    }
                } catch {
                    readError = error
                }
            } else {
                storage = blocks.fill { (buf: UnsafeMutableRawBufferPointer) throws(Never) in
                    do throws(ReplayIOError) { n = try source!.read(into: buf) } catch { readError = error }
                }
            }
            if let readError {
                if transient(readError) { continue }
                submitBatch(label: labels[i], state)
                state.errors.append(
                    "\(labels[i]): \(readError) after \(bytesFed) bytes"
                        + (failures > 0 ? " and \(failures) retries" : "")
                        + " (the last complete message ends at byte \(decoder.bytesConsumed))")
                return
            }
            failures = 0
            if n > 0 {
                bytesFed += UInt64(n)
                lastBytesAt = clock.now()
                if let storage { decoder.feed(ByteSlice(storage: storage, range: 0..<n), sink) }
                noteBytes(decoder.bytesConsumed, state)
                if decoder.isStopped { break }
                continue
            }
            // No bytes now.
            guard follow != nil, !idleExpired() else { break }
            sleep(follow!.pollInterval.nanosecondsClamped)
        }
        decoder.finish(sink)
        noteBytes(decoder.bytesConsumed, state)
    }

    /// Handles one event of input `file`. Messages are taken apart and put back together by moving
    /// their parts (no copies: a copy retains every reference inside a message).
    private func handle(
        _ event: consuming StreamEvent, file: Int, label: String, _ state: FileState, _ afterBatch: () -> Void
    ) {
        if cancellation.isCancelled {
            state.stop = true
            state.cancelled = true
            return
        }
        switch consume event {
        case .message(let framed):
            state.messages += 1
            let offset = framed.offset
            let length = framed.length
            switch (consume framed).message {
            case .arrowMsg(var a):
                state.unpublishedKinds.2 &+= 1
                state.unpublishedDecompressed &+= a.uncompressedSize
                guard enterStore(a.storeId, file: file, label: label, state, afterBatch) else { return }
                if a.compression == .lz4 { state.batchPayloadBytes &+= Int(truncatingIfNeeded: a.uncompressedSize) }
                if state.paced { pace(.arrowMsg(a), label: label, state, afterBatch) }
                state.decompression.decompressOnReader(&a)
                appendToBatch(
                    FramedMessage(offset: offset, length: length, message: .arrowMsg(a)), label: label, state,
                    afterBatch)
            case .end(let footer):
                state.unpublishedKinds.0 &+= 1
                state.sawEnd = true
                let m = FramedMessage(offset: offset, length: length, message: .end(footerPayload: footer))
                if state.paced { pace(m.message, label: label, state, afterBatch) }
                appendToBatch(m, label: label, state, afterBatch)
            case .setStoreInfo(let info):
                state.unpublishedKinds.1 &+= 1
                guard enterStore(info.info.storeId, file: file, label: label, state, afterBatch) else { return }
                let m = FramedMessage(offset: offset, length: length, message: .setStoreInfo(info))
                if state.paced { pace(m.message, label: label, state, afterBatch) }
                appendToBatch(m, label: label, state, afterBatch)
            case .blueprintActivationCommand(let command):
                state.unpublishedKinds.3 &+= 1
                guard enterStore(command.blueprintId, file: file, label: label, state, afterBatch) else { return }
                let m = FramedMessage(offset: offset, length: length, message: .blueprintActivationCommand(command))
                if state.paced { pace(m.message, label: label, state, afterBatch) }
                appendToBatch(m, label: label, state, afterBatch)
            }
        case .error(let e):
            submitBatch(label: label, state)
            state.errors.append(e.description)
        case .streamFooter:
            // Following stops at the End marker (its footer closes the stream).
            if options.follow != nil && state.sawEnd { state.ended = true }
        case .streamHeader:
            state.sawEnd = false
        }
    }

    /// Notes that the next message belongs to `store`: when it is not the previous message's store,
    /// submits the batch and claims the store (waiting for earlier files that feed it) unless this
    /// file already did. Returns `false` when the claim was cancelled (reading stops).
    @inline(__always)
    private func enterStore(
        _ store: StoreId, file: Int, label: String, _ state: FileState, _ afterBatch: () -> Void
    ) -> Bool {
        if let last = state.lastStore, last.isIdentical(to: store) { return true }
        if store != state.lastStore && !state.claimed.contains(store) {
            submitBatch(label: label, state)
            afterBatch()
            state.claimed.insert(store)  // released when the file finishes, even if the claim was cancelled
            guard claim(store, file: file) else {
                state.stop = true
                state.cancelled = true
                return false
            }
        }
        state.lastStore = store
        return true
    }

    /// Submits what is batched, then waits until `message` is due (``ReplayOptions/pace``).
    private func pace(_ message: Message, label: String, _ state: FileState, _ afterBatch: () -> Void) {
        submitBatch(label: label, state)
        afterBatch()
        state.pacer!.wait(for: message, cancellation: options.cancellation)
    }

    /// Appends `message` to the batch and submits the batch when it is due.
    @inline(__always)
    private func appendToBatch(
        _ message: consuming FramedMessage, label: String, _ state: FileState, _ afterBatch: () -> Void
    ) {
        state.batch.append(message)
        // A megabyte of payload goes at once: the worker starts on it while this thread reads on.
        if state.batch.count >= Self.batchSize || state.paced
            || state.batchPayloadBytes >= Self.sharedDecompressionSize
        {
            submitBatch(label: label, state)
            afterBatch()
        }
    }

    private func submitBatch(label: String, _ state: FileState) {
        publishCounts(state)
        guard !state.batch.isEmpty else { return }
        #if !SYNCHRONOUS_INGESTION
        let t0 = MonotonicClock.now()
        #endif
        do {
            try hub.submit(moving: &state.batch, source: label)
        } catch {
            state.errors.append(error.description)
            state.stop = true
        }
        state.batchPayloadBytes = 0
        #if !SYNCHRONOUS_INGESTION
        // Waiting for room means the store's worker is the bottleneck: rather than wait on the next
        // batch too, touch the pages of the slabs its decoder will fill next (first-touch faults are
        // a large share of a worker's time on small chunks), up to a few of them.
        if MonotonicClock.now() &- t0 > Self.blockedSubmitNanoseconds {
            SpareSlabs.prefault(upTo: Self.spareSlabs)
        }
        #endif
    }

    /// Adds the file's unpublished message counts to the shared counters.
    private func publishCounts(_ state: FileState) {
        let k = state.unpublishedKinds
        let total = k.0 &+ k.1 &+ k.2 &+ k.3
        guard total > 0 else { return }
        messageCount.add(total)
        if k.0 > 0 { kindCounts[0].add(k.0) }
        if k.1 > 0 { kindCounts[1].add(k.1) }
        if k.2 > 0 { kindCounts[2].add(k.2) }
        if k.3 > 0 { kindCounts[3].add(k.3) }
        if state.unpublishedDecompressed > 0 { bytesDecompressed.add(state.unpublishedDecompressed) }
        state.unpublishedKinds = (0, 0, 0, 0)
        state.unpublishedDecompressed = 0
    }
}

/// A relaxed atomic counter shared by threads (statistics only).
final class ReplayCounter: Sendable {
    private let atomic = Atomic<UInt64>(0)
    func add(_ n: UInt64) { atomic.add(n, ordering: .relaxed) }
    var value: UInt64 { atomic.load(ordering: .relaxed) }
}
