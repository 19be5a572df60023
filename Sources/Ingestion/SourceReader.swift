@preconcurrency import Glibc
import IngestCore
import RRD

/// The reading loop of the pipeline for one ``IngestSource``: pulls its events, routes each message
/// to its store, applies the reading side of ``PayloadDecompression``, and hands messages to the
/// hub in batches (``StoreHub/submit(moving:source:)``). The policy is here, the same for every
/// source: transient errors are retried with backoff, a growing source is followed (waiting for it
/// to appear and grow, stopping at the End marker's footer or after the idle timeout), pacing, and
/// cancellation. Reader errors go to the hub's per-source error stream (``StoreHub/report(_:)``)
/// and to ``State/errors``.
///
/// Batches hold up to 64 messages and are handed over early once their LZ4 payloads reach 1 MiB
/// (the worker starts on a large payload while this thread reads on), before a message of
/// another store, before pacing waits and before an error (which must follow them).
///
/// When the reader belongs to a ``ReplayPipeline`` (``run``), it claims each store before feeding it
/// (the pipeline's cross-file order) and adds its counts to the pipeline's.
struct SourceReader {
    /// Per-source reading state. Touched only by the thread reading the source, so its fields skip
    /// the runtime's dynamic exclusivity checks (several per message otherwise: without them the
    /// reading thread of `replay scalars_50mb` runs 1.9 % more instructions, 506.0 M against 496.5 M
    /// under callgrind).
    final class State {
        @exclusivity(unchecked) var claimed = Set<StoreId>()
        @exclusivity(unchecked) var batch = MessageBatch(capacity: SourceReader.batchSize)
        @exclusivity(unchecked) var bytes: UInt64 = 0
        @exclusivity(unchecked) var messages: UInt64 = 0
        @exclusivity(unchecked) var retries = 0
        @exclusivity(unchecked) var errors: [String] = []
        /// An I/O error (``/RRD/ByteSourceError/Code/io``) ended the source (set once, on failure).
        var stoppedByIOError = false
        @exclusivity(unchecked) var stop = false
        @exclusivity(unchecked) var sawEnd = false
        @exclusivity(unchecked) var ended = false
        @exclusivity(unchecked) var pacer: ReplayPacer? { didSet { paced = pacer != nil } }
        /// `pacer != nil` (testing the optional copies the pacer).
        @exclusivity(unchecked) var paced = false
        @exclusivity(unchecked) var cancelled = false
        /// The store of the previous message (claimed already): most messages repeat it.
        @exclusivity(unchecked) var lastStore: StoreId?
        /// This source's reading side of the decompression policy (its arenas, one per store, and its
        /// count of large payloads).
        @exclusivity(unchecked) var decompression: PayloadDecompression
        /// Uncompressed bytes of the LZ4 payloads in `batch`.
        @exclusivity(unchecked) var batchPayloadBytes = 0
        /// Counts not yet added to the pipeline's shared counters (added once per batch).
        @exclusivity(unchecked) var unpublishedKinds: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        @exclusivity(unchecked) var unpublishedDecompressed: UInt64 = 0

        init(decompression: PayloadDecompression) { self.decompression = decompression }
    }

    static let batchSize = 64
    /// A submit that took longer than this waited for room in the store's queue (``submitBatch()``).
    private static let blockedSubmitNanoseconds: UInt64 = 50_000
    /// Pre-faulted slabs to keep ready while the reader waits on a store (``/IngestCore/SpareSlabs``): 16 MiB.
    private static let spareSlabs = 4

    let hub: StoreHub
    /// The source's name in outputs and errors.
    let label: String
    let follow: ReplayFollowOptions?
    let retry: ReplayRetryPolicy
    let clock: any ReplayClock
    let cancellation: ReplayCancellation
    /// The replay this reader belongs to, and the index of its input there.
    let run: ReplayPipeline?
    let file: Int
    let state: State

    /// A reader for `label` into `hub` with `options`' follow, retry, pacing, clock and cancellation;
    /// `decompression` is the reading side's policy (copied: the state is this reader's).
    init(
        hub: StoreHub, label: String, options: ReplayOptions, decompression: PayloadDecompression,
        run: ReplayPipeline? = nil, file: Int = 0
    ) {
        self.hub = hub
        self.label = label
        follow = options.follow
        retry = options.retry
        clock = options.clock
        cancellation = options.cancellation
        self.run = run
        self.file = file
        state = State(decompression: decompression)
        if let pace = options.pace { state.pacer = ReplayPacer(pace: pace, clock: options.clock) }
    }

    /// Reads the source `open` makes to its end (or until cancelled), submitting as it goes;
    /// `afterBatch` runs after each submit. A source that is missing (`ENOENT`) when following is
    /// waited for; `open` is called again after transient errors.
    func read(open: () throws(ByteSourceError) -> any IngestSource, afterBatch: () -> Void) {
        func sink(_ event: consuming StreamEvent) { handle(event, afterBatch) }
        readLoop(open, sink, afterBatch)
        submitBatch()
        afterBatch()
    }

    private func readLoop(
        _ open: () throws(ByteSourceError) -> any IngestSource, _ sink: (consuming StreamEvent) -> Void,
        _ afterBatch: () -> Void
    ) {
        var lastBytesAt = clock.now()
        var source: (any IngestSource)?
        var failures = 0
        var atEnd = false
        func idleExpired() -> Bool {
            guard let follow else { return true }
            return clock.now() &- lastBytesAt >= follow.idleTimeout.nanosecondsClamped
        }
        func transient(_ e: ByteSourceError) -> Bool {
            guard e.isTransient, failures < retry.attempts else { return false }
            failures += 1
            state.retries += 1
            sleep(retry.delay(beforeRetry: failures).nanosecondsClamped)
            return true
        }
        func fail(_ error: ByteSourceError, _ source: any IngestSource) {
            submitBatch()
            if error.code == .io { state.stoppedByIOError = true }
            state.errors.append(
                "\(label): \(error) after \(source.bytesRead) bytes"
                    + (failures > 0 ? " and \(failures) retries" : "")
                    + " (the last complete message ends at byte \(source.bytesConsumed))")
            hub.report(RRDError(error, source: label, offset: source.bytesConsumed))
        }
        while !state.stop && !state.ended {
            if cancellation.isCancelled {
                state.cancelled = true
                break
            }
            guard let current = source else {
                do {
                    source = try open()
                    failures = 0
                } catch {
                    if follow != nil && error.errno == ENOENT && !idleExpired() {
                        sleep(follow!.pollInterval.nanosecondsClamped)
                        continue
                    }
                    if transient(error) { continue }
                    if error.code == .io { state.stoppedByIOError = true }
                    state.errors.append("\(label): \(error)")
                    hub.report(RRDError(error, source: label, offset: 0))
                    return
                }
                continue
            }
            let n: Int
            do {
                n = try current.pull(into: sink)
            } catch {
                if transient(error) { continue }
                fail(error, current)
                return
            }
            failures = 0
            if n > 0 {
                if current.submitsEachPull {
                    submitBatch()
                    afterBatch()
                }
                lastBytesAt = clock.now()
                noteBytes(current.bytesConsumed)
                if current.isExhausted { break }
                continue
            }
            // Nothing now.
            guard follow != nil, current.canGrow, !idleExpired() else {
                atEnd = true
                break
            }
            sleep(follow!.pollInterval.nanosecondsClamped)
        }
        guard atEnd, let source else { return }
        do {
            try source.finish(into: sink)
        } catch {
            fail(error, source)
        }
        noteBytes(source.bytesConsumed)
    }

    private func noteBytes(_ consumed: UInt64) {
        if consumed > state.bytes {
            run?.bytesRead.add(consumed - state.bytes)
            state.bytes = consumed
        }
    }

    private func sleep(_ ns: UInt64) {
        ReplayPipeline.sleep(ns, clock: clock, cancellation: cancellation)
    }

    /// Handles one event. Messages are taken apart and put back together by moving their parts
    /// (no copies: a copy retains every reference inside a message).
    private func handle(_ event: consuming StreamEvent, _ afterBatch: () -> Void) {
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
                guard enterStore(a.storeId, afterBatch) else { return }
                if a.compression == .lz4 { state.batchPayloadBytes &+= Int(truncatingIfNeeded: a.uncompressedSize) }
                if state.paced { pace(.arrowMsg(a), afterBatch) }
                state.decompression.decompressOnReader(&a)
                appendToBatch(FramedMessage(offset: offset, length: length, message: .arrowMsg(a)), afterBatch)
            case .end(let footer):
                state.unpublishedKinds.0 &+= 1
                state.sawEnd = true
                let m = FramedMessage(offset: offset, length: length, message: .end(footerPayload: footer))
                if state.paced { pace(m.message, afterBatch) }
                appendToBatch(m, afterBatch)
            case .setStoreInfo(let info):
                state.unpublishedKinds.1 &+= 1
                guard enterStore(info.info.storeId, afterBatch) else { return }
                let m = FramedMessage(offset: offset, length: length, message: .setStoreInfo(info))
                if state.paced { pace(m.message, afterBatch) }
                appendToBatch(m, afterBatch)
            case .blueprintActivationCommand(let command):
                state.unpublishedKinds.3 &+= 1
                guard enterStore(command.blueprintId, afterBatch) else { return }
                let m = FramedMessage(offset: offset, length: length, message: .blueprintActivationCommand(command))
                if state.paced { pace(m.message, afterBatch) }
                appendToBatch(m, afterBatch)
            }
        case .error(let e):
            submitBatch()
            state.errors.append(e.description)
            hub.report(e)
        case .streamFooter:
            // Following stops at the End marker (its footer closes the stream).
            if follow != nil && state.sawEnd { state.ended = true }
        case .streamHeader:
            state.sawEnd = false
        }
    }

    /// Notes that the next message belongs to `store`: when it is not the previous message's store,
    /// submits the batch and claims the store (waiting for earlier files of the replay that feed it)
    /// unless this reader already did. Returns `false` when the claim was cancelled (reading stops).
    @inline(__always)
    private func enterStore(_ store: StoreId, _ afterBatch: () -> Void) -> Bool {
        if let last = state.lastStore, last.isIdentical(to: store) { return true }
        if store != state.lastStore && !state.claimed.contains(store) {
            submitBatch()
            afterBatch()
            state.claimed.insert(store)  // released when the file finishes, even if the claim was cancelled
            if let run, !run.claim(store, file: file) {
                state.stop = true
                state.cancelled = true
                return false
            }
        }
        state.lastStore = store
        return true
    }

    /// Submits what is batched, then waits until `message` is due (``ReplayOptions/pace``).
    private func pace(_ message: Message, _ afterBatch: () -> Void) {
        submitBatch()
        afterBatch()
        state.pacer!.wait(for: message, cancellation: cancellation)
    }

    /// Appends `message` to the batch and submits the batch when it is due.
    @inline(__always)
    private func appendToBatch(_ message: consuming FramedMessage, _ afterBatch: () -> Void) {
        state.batch.append(message)
        // A megabyte of payload goes at once: the worker starts on it while this thread reads on.
        if state.batch.count >= Self.batchSize || state.paced
            || state.batchPayloadBytes >= PayloadDecompression.sharedDecompressionSize
        {
            submitBatch()
            afterBatch()
        }
    }

    private func submitBatch() {
        publishCounts()
        guard !state.batch.isEmpty else { return }
        // The synchronous build decodes inside the submit: its time says nothing about waiting.
        let mayWait = DefaultExecutor.submitsMayBlock
        let t0 = mayWait ? MonotonicClock.now() : 0
        do {
            try hub.submit(moving: &state.batch, source: label)
        } catch {
            state.errors.append(error.description)
            state.stop = true
        }
        state.batchPayloadBytes = 0
        // Waiting for room means the store's worker is the bottleneck: rather than wait on the next
        // batch too, touch the pages of the slabs its decoder will fill next (first-touch faults are
        // a large share of a worker's time on small chunks), up to a few of them.
        if mayWait && MonotonicClock.now() &- t0 > Self.blockedSubmitNanoseconds {
            SpareSlabs.prefault(upTo: Self.spareSlabs)
        }
    }

    /// Adds the unpublished message counts to the replay's shared counters.
    private func publishCounts() {
        let k = state.unpublishedKinds
        let total = k.0 &+ k.1 &+ k.2 &+ k.3
        guard total > 0 else { return }
        if let run { run.publish(kinds: k, decompressed: state.unpublishedDecompressed) }
        state.unpublishedKinds = (0, 0, 0, 0)
        state.unpublishedDecompressed = 0
    }
}
