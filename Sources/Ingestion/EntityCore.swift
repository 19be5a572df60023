import Chunks
import IngestCore
import RRD
import Store
import Synchronization

/// The state of one store shared by its ``EntityDb`` handle and whoever processes its messages
/// (the worker thread, or a producer inline: `Executor`). The worker holds this object, not the
/// handle, so releasing the last handle can stop and join it.
///
/// Which lock guards what is in the types:
/// - ``input`` (`Locked<InputState>`; conditions ``notEmpty``, ``notFull``, ``joined``): the
///   queue, the numbering, the lifecycle, the executor's worker state, waiting producers;
/// - ``output`` (`Locked<OutputState>`; condition ``progress``): the ordered outputs, the handled
///   watermark, the counters and latencies published with them;
/// - ``processing`` (`Locked<Processor>`): the decoder and the store's dedupe and order state,
///   held by whoever turns messages into outputs (the worker thread for its whole life, an inline
///   producer for one pass).
///
/// Lock order: processing → input, processing → output; input and output are never held together.
final class EntityCore<Executor: StoreExecutor>: Sendable {
    let storeId: StoreId
    let configuration: IngestConfiguration
    /// The store's chunks: every decoded chunk is inserted, in admission order, before its output
    /// is published. Thread-safe for queries.
    let chunkStore: ChunkStore<Chunk>

    let input: Locked<InputState<Executor.Worker>>
    /// The worker waits for input.
    static var notEmpty: LockCondition { LockCondition(0) }
    /// Producers wait for room.
    static var notFull: LockCondition { LockCondition(1) }
    /// Shutdowns wait for another shutdown's join of the worker.
    static var joined: LockCondition { LockCondition(2) }

    let output: Locked<OutputState>
    /// Flush waiters wait for messages to be handled.
    static var progress: LockCondition { LockCondition(0) }

    let processing: Locked<Processor>

    /// Mirrors the input's ring count (stored under the input lock), so that the worker can watch
    /// for input without the lock while it spins before sleeping.
    let queuedHint = Atomic<Int>(0)
    /// Mirrors ``StoreLifecycle/closing(_:)`` with ``Disposal/discard`` (set under the input lock),
    /// so that processing drops what it has not started, looking once per message without the lock.
    let discarding = Atomic<Bool>(false)

    /// Wakes tasks iterating ``EntityDb/outputs``.
    let outputSignal = OutputSignal()
    /// Wakes tasks iterating the owning hub's ``StoreHub/outputs``.
    let hubSignal: OutputSignal?

    init(storeId: StoreId, configuration: IngestConfiguration, hubSignal: OutputSignal? = nil) {
        self.storeId = storeId
        self.configuration = configuration
        self.chunkStore = ChunkStore<Chunk>(configuration: configuration.chunkStore)
        self.hubSignal = hubSignal
        input = Locked(
            InputState(
                capacity: configuration.queueCapacity, worker: Executor.idleWorker,
                queued: chunkStore.queuedByteCount),
            conditions: 3)
        output = Locked(OutputState(), conditions: 1)
        processing = Locked(Processor(storeId: storeId, configuration: configuration, chunkStore: chunkStore))
    }

    // MARK: admission

    /// How one critical section of an admission ended.
    private enum SectionEnd {
        /// The run is admitted.
        case done
        /// The producer makes room first (``RoomOutcome/processFirst``), then goes on.
        case processFirst
        /// The admission fails; the messages before stay admitted.
        case failed(IngestError)

        var wantsRoom: Bool {
            if case .processFirst = self { return true }
            return false
        }
    }

    /// Admits the messages of `run` in order, moving each into the queue: the one admission path
    /// of every submit (one message, a sequence, a reader's batch; blocking, refusing or timed, as
    /// `wait` says). Each critical section queues as many as fit, then starts or wakes the worker
    /// once (or processes inline).
    /// - Returns: the sequence numbers from the first to the last message admitted (others'
    ///   messages may sit between them); empty for an empty run.
    /// - Throws: ``IngestError/Code/closed`` once the store is shut down, ``IngestError/Code/full``
    ///   or ``IngestError/Code/timedOut`` as `wait` says, ``IngestError/Code/wrongStore`` as the
    ///   run says; the messages before the failing one stay admitted, the rest stay in `run`.
    func admit<Run: AdmissionRun & ~Copyable>(
        _ run: inout Run, source: String, wait: AdmissionWait
    ) throws(IngestError) -> Range<UInt64> {
        let limit = configuration.maxQueuedBytes
        var first: UInt64?
        var last: UInt64 = 0
        while true {
            let now = MonotonicClock.now()
            let (end, handoff): (SectionEnd, Executor.Handoff?) = input.withLockWaiting { held in
                var end = SectionEnd.done
                var pushed = false
                admitting: while true {
                    let next: (bytes: Int, offset: UInt64)?
                    do throws(IngestError) {
                        next = try run.next(for: storeId, source: source)
                    } catch {
                        end = .failed(error)
                        break
                    }
                    guard let next else { break }
                    let (bytes, offset) = next
                    while true {
                        guard held.state.lifecycle.isOpen else {
                            end = .failed(closedError(source: source, offset: offset))
                            break admitting
                        }
                        if held.state.hasRoom(for: bytes, limit: limit) { break }
                        switch Executor.noRoom(held, wait: wait, core: self) {
                        case .retry:
                            continue
                        case .deadlinePassed:
                            if held.state.lifecycle.isOpen && !held.state.hasRoom(for: bytes, limit: limit) {
                                end = .failed(
                                    IngestError(
                                        .timedOut, source: source, offset: offset,
                                        "input queue of \(storeId) stayed full until the deadline"))
                                break admitting
                            }
                        case .refuse:
                            end = .failed(
                                IngestError(.full, source: source, offset: offset, "input queue of \(storeId) is full"))
                            break admitting
                        case .processFirst:
                            end = .processFirst
                            break admitting
                        }
                    }
                    let seq = held.state.push(run.take(), source: source, offset: offset, bytes: bytes, now: now)
                    if first == nil { first = seq }
                    last = seq
                    pushed = true
                }
                guard pushed || end.wantsRoom else { return (end, nil) }
                queuedHint.store(held.state.ring.count, ordering: .relaxed)
                return (end, Executor.admitted(&held.state, core: self))
            }
            if let handoff { Executor.handOff(handoff, core: self) }
            switch end {
            case .done: return first.map { $0..<(last + 1) } ?? (0..<0)
            case .processFirst: continue
            case .failed(let error): throw error
            }
        }
    }

    /// Admits one message, suspending the calling task (not blocking its thread) while the queue
    /// is full; a worker resumes it when it frees room, a shutdown when it closes the store.
    func admitAsync(_ message: Message, source: String, offset: UInt64) async throws(IngestError) -> UInt64 {
        let bytes = PendingMessage.byteCount(of: message)
        let limit = configuration.maxQueuedBytes
        var run = OneMessage(message, offset: offset)
        var suspendedAt: UInt64?
        while true {
            do throws(IngestError) {
                let seq = try admit(&run, source: source, wait: .never).lowerBound
                if let t0 = suspendedAt {
                    let waited = MonotonicClock.now() &- t0
                    input.withLock { $0.counters.blockedNanoseconds &+= waited }
                }
                return seq
            } catch {
                if error.code != .full { throw error }
            }
            if suspendedAt == nil { suspendedAt = MonotonicClock.now() }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = input.withLock { state in
                    if !state.lifecycle.isOpen || state.hasRoom(for: bytes, limit: limit) { return true }
                    state.roomWaiters.append(c)
                    return false
                }
                if resumeNow { c.resume() }
            }
        }
    }

    private func closedError(source: String, offset: UInt64) -> IngestError {
        IngestError(.closed, source: source, offset: offset, "store \(storeId) is shut down")
    }

    // MARK: processing (whoever holds `processing`)

    /// Wakes the producers waiting for the room a take freed.
    func wake(_ freed: FreedRoom) {
        if freed.blockedProducers { input.broadcast(Self.notFull) }
        for task in freed.tasks { task.resume() }
    }

    /// Turns a batch taken from the queue (newest first) into outputs, oldest first, or drops it
    /// after a discarding shutdown. Each message (and the read block its payload pins) is
    /// released as soon as it is handled, not when the whole batch is.
    func process(_ batch: inout [PendingMessage], with processor: inout Processor) {
        var discardedThrough: UInt64?
        // One clock reading per message: its end is the next one's start.
        var t0 = MonotonicClock.now()
        while let item = batch.popLast() {
            if discarding.load(ordering: .acquiring) {
                discardedThrough = item.sequence + 1
                continue
            }
            var counts = ProcessedCounts()
            let out = processor.process(item, counts: &counts)
            let t1 = MonotonicClock.now()
            counts.processNanoseconds = t1 &- t0
            counts.latencyNanoseconds = t1 &- item.admittedAt
            t0 = t1
            publish(out, counts: counts)
        }
        if let discardedThrough {
            let wake = output.withLock { $0.discarded(through: discardedThrough) }
            if wake { output.broadcast(Self.progress) }
        }
    }

    private func publish(_ out: IngestOutput, counts: ProcessedCounts) {
        let wake = output.withLock { $0.publish(out, counts: counts) }
        if wake { output.broadcast(Self.progress) }
        outputSignal.notifyIfWaiting()
        hubSignal?.notifyIfWaiting()
    }

    /// Wakes every task waiting for output: the outputs ended (``StoreLifecycle/closed``).
    func outputsDidEnd() {
        outputSignal.notify()
        hubSignal?.notify()
    }

    // MARK: output

    /// Takes the oldest output item, if any; never blocks.
    func poll() -> IngestOutput? { output.withLock { $0.poll() } }

    /// Whether an output item is ready.
    var hasOutput: Bool { output.withLock { !$0.items.isEmpty } }

    /// Whether the outputs ended: the store is shut down and every admitted message was handled
    /// (items may still wait to be polled).
    var outputsEnded: Bool { input.withLock { $0.lifecycle == .closed } }

    /// Whether every message admitted before `sequence` has been handled.
    func isHandled(before sequence: UInt64) -> Bool {
        output.withLock { $0.handledThrough >= sequence }
    }

    /// The number of messages admitted so far.
    var admittedCount: UInt64 { input.withLock { $0.nextSequence } }

    /// The info of the latest `SetStoreInfo` that came out.
    var storeInfo: SetStoreInfo? { output.withLock { $0.storeInfo } }

    /// Waits until every message admitted before the call has been handled (or the deadline),
    /// then makes the merges that wait.
    func flush(deadline: UInt64?) -> Bool {
        let (target, waits) = input.withLock { ($0.nextSequence, Executor.flushWaits($0.worker)) }
        if waits {
            let inTime = output.withLockWaiting { held in
                while held.state.handledThrough < target {
                    held.state.flushWaiters += 1
                    defer { held.state.flushWaiters -= 1 }
                    if let deadline {
                        if !held.wait(Self.progress, untilNanoseconds: deadline) {
                            return held.state.handledThrough >= target
                        }
                    } else {
                        held.wait(Self.progress)
                    }
                }
                return true
            }
            if !inTime { return false }
        }
        // The worker makes waiting merges when its input runs dry, maybe not yet: make them here so
        // that what the caller reads next is the compacted store.
        chunkStore.compactPending()
        return true
    }

    // MARK: lifecycle

    /// Closes the input, wakes blocked producers (they get ``IngestError/Code/closed``), lets the
    /// executor drain or discard what is queued, and joins the worker. Idempotent; a later call
    /// may escalate draining to discarding.
    func shutdown(drain: Bool) {
        let disposal: Disposal = drain ? .drain : .discard
        let (stop, tasks) = input.withLockWaiting { held in
            if held.state.lifecycle.shutDown(disposal) { discarding.store(true, ordering: .releasing) }
            return (Executor.shutDown(held), held.state.takeRoomWaiters())
        }
        input.broadcast(Self.notEmpty)
        input.broadcast(Self.notFull)
        for task in tasks { task.resume() }
        Executor.stop(stop, disposal: disposal, core: self)
        outputsDidEnd()
    }

    /// Whether ``shutdown(drain:)`` was called.
    var isClosed: Bool { input.withLock { !$0.lifecycle.isOpen } }

    /// Lets the worker exit once the queue is empty (the next admission starts a new one).
    func releaseWorkerWhenIdle() {
        if input.withLock({ Executor.release(&$0.worker) }) { input.broadcast(Self.notEmpty) }
    }

    /// A snapshot of the store's counters.
    func statistics() -> StoreStatistics {
        let (admitted, queued, bytes, waiting, inputCounters, isClosed, hasWorker) = input.withLock { state in
            (
                state.nextSequence, state.ring.count, state.queuedBytes,
                state.producersWaiting + state.roomWaiters.count, state.counters, !state.lifecycle.isOpen,
                Executor.hasThread(state)
            )
        }
        let storeStatistics = chunkStore.statistics
        return output.withLock { state in
            StoreStatistics(
                storeId: storeId, admitted: admitted, handled: state.handledThrough, queuedMessages: queued,
                queuedBytes: bytes, readyOutputs: state.items.count, readyOutputBytes: state.bytes,
                waitingProducers: waiting, isClosed: isClosed, hasWorker: hasWorker, input: inputCounters,
                counters: state.counters, latency: LatencySummary(state.latency), chunkStore: storeStatistics)
        }
    }

    /// A copy of the latency histogram (for a hub's totals).
    func latencyHistogram() -> LatencyHistogram { output.withLock { $0.latency } }
}
