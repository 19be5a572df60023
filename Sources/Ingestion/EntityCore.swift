import Chunks
import DequeModule
@preconcurrency import Glibc
import IngestCore
import RRD
import Store
import Synchronization

/// How a submission behaves when the input queue is full.
enum AdmissionWait {
    /// Block until there is room (or the store closes).
    case block
    /// Report ``IngestError/Code/full`` at once.
    case never
    /// Block until the monotonic deadline (nanoseconds), then report ``IngestError/Code/timedOut``.
    case until(UInt64)
}

/// The state of one store shared by its ``EntityDb`` handle and its worker thread. The worker
/// holds this object (not the handle), so releasing the last handle can stop and join it.
final class EntityCore: @unchecked Sendable {
    // @unchecked: every mutable field is guarded as its comment says: `input` (the input
    // ConditionLock), `output` (the output ConditionLock), or "worker" (touched only by the worker
    // thread, or in the synchronous build only with `processLock` held). Since that guarding
    // already makes each access exclusive, the mutable fields skip the runtime's dynamic
    // exclusivity checks (`@exclusivity(unchecked)`: several per message in the small-chunk profile).

    let storeId: StoreId
    let configuration: IngestConfiguration
    /// The store's chunks: the worker inserts every decoded chunk, in admission order, before
    /// publishing its output. Thread-safe for queries.
    let chunkStore: ChunkStore<Chunk>
    /// Whether the chunk store has a memory budget: the bytes waiting in the queue then count against it
    /// (``ChunkStore/addQueuedBytes(_:)``, lock-free, from admission until the worker takes the message).
    let budgeted: Bool

    // MARK: input side

    /// Condition 0: the worker waits for input; condition 1: producers wait for room.
    let input = ConditionLock(conditions: 2)
    static let notEmpty = 0
    static let notFull = 1
    /// guarded by `input`
    @exclusivity(unchecked) var ring: InputRing
    /// guarded by `input`: payload bytes in `ring`.
    @exclusivity(unchecked) var queuedBytes = 0
    /// guarded by `input`: the next admission number.
    @exclusivity(unchecked) var nextSequence: UInt64 = 0
    /// guarded by `input`: no more admissions.
    @exclusivity(unchecked) var closed = false
    /// guarded by `input`
    @exclusivity(unchecked) var workerWaiting = false
    /// guarded by `input`: threads blocked on a full queue.
    @exclusivity(unchecked) var producersWaiting = 0
    /// guarded by `input`: tasks suspended in ``admitAsync(_:source:offset:)`` until room frees.
    @exclusivity(unchecked) var roomWaiters: [CheckedContinuation<Void, Never>] = []
    /// guarded by `input`: bytes in, queue high-water mark, time producers spent blocked.
    @exclusivity(unchecked) var inputCounters = StoreStatistics.InputCounters()
    #if !SYNCHRONOUS_INGESTION
    /// guarded by `input` (creation); `joined` by `joinLock`.
    @exclusivity(unchecked) var thread: WorkerThread?
    /// guarded by `input`: a worker thread runs (set when started, cleared as it exits).
    @exclusivity(unchecked) var workerAlive = false
    /// guarded by `input`: a worker that exited while idle, joined by the next start or shutdown
    /// (it takes no lock after leaving, so joining it never waits for anything but its return).
    @exclusivity(unchecked) var exitedThread: WorkerThread?
    /// guarded by `input`: the worker exits as soon as the queue is empty (``releaseWorkerWhenIdle()``).
    @exclusivity(unchecked) var releaseWhenEmpty = false
    let joinLock = ConditionLock()
    #endif
    /// Set by a discarding shutdown; the worker drops what it has not processed yet.
    let discarding = Atomic<Bool>(false)
    /// Mirrors `ring.count` (written under `input`), so the worker can watch for input without
    /// the lock while it spins before sleeping.
    let queuedHint = Atomic<Int>(0)
    /// How long an idle worker watches for input before it sleeps on the condition variable. A
    /// sleep costs the producer a futex wake and the worker a context switch per message (about
    /// 5 µs here), which dominated tiny chunks; a short spin keeps a steady stream flowing.
    static let spinBeforeSleepNanoseconds: UInt64 = 50_000

    /// worker (synchronous build: guarded by `processLock`)
    @exclusivity(unchecked) var processor: Processor
    #if SYNCHRONOUS_INGESTION
    /// Serializes inline processing in the synchronous build.
    let processLock = ConditionLock()
    #endif

    // MARK: output side

    /// Condition 0: progress (flush waiters).
    let output = ConditionLock(conditions: 1)
    static let progress = 0
    /// guarded by `output`
    @exclusivity(unchecked) var outputs = Deque<IngestOutput>()
    /// guarded by `output`: bytes the ready outputs keep alive.
    @exclusivity(unchecked) var outputBytes = 0
    /// guarded by `output`: every message with a smaller sequence number has been handled
    /// (its output published, or discarded).
    @exclusivity(unchecked) var handledThrough: UInt64 = 0
    /// guarded by `output`
    @exclusivity(unchecked) var flushWaiters = 0
    /// guarded by `output`
    @exclusivity(unchecked) var counters = StoreStatistics.Counters()
    /// guarded by `output`: submit-to-output latencies.
    @exclusivity(unchecked) var latency = LatencyHistogram()
    /// guarded by `output`: the info of the latest `SetStoreInfo` that came out.
    @exclusivity(unchecked) var storeInfo: SetStoreInfo?
    /// guarded by `output`: the store is shut down and every admitted message was handled.
    @exclusivity(unchecked) var outputEnded = false
    /// Wakes tasks iterating ``EntityDb/outputs``.
    let outputSignal = OutputSignal()
    /// Wakes tasks iterating the owning hub's ``StoreHub/outputs``.
    let hubSignal: OutputSignal?

    init(storeId: StoreId, configuration: IngestConfiguration, hubSignal: OutputSignal? = nil) {
        self.storeId = storeId
        self.configuration = configuration
        self.chunkStore = ChunkStore<Chunk>(configuration: configuration.chunkStore)
        self.budgeted = configuration.chunkStore.memoryBudget != nil
        self.hubSignal = hubSignal
        #if SYNCHRONOUS_INGESTION
        ring = InputRing(capacity: 1)
        #else
        ring = InputRing(capacity: configuration.queueCapacity)
        #endif
        processor = Processor(storeId: storeId, configuration: configuration, chunkStore: chunkStore)
    }

    // MARK: admission

    /// Whether a message of `bytes` fits now. guarded by `input`.
    @inline(__always)
    private func hasRoom(for bytes: Int) -> Bool {
        if ring.isFull { return false }
        guard let limit = configuration.maxQueuedBytes, bytes > 0 else { return true }
        return ring.isEmpty || queuedBytes + bytes <= limit
    }

    /// Admits one message (already checked to belong to this store) and returns its sequence number.
    func admit(_ message: Message, source: String, offset: UInt64, wait: AdmissionWait) throws(IngestError) -> UInt64 {
        #if SYNCHRONOUS_INGESTION
        // `processLock` spans numbering and processing, so admission order is processing order;
        // `input` is held only briefly, so a hook may shut the store down without deadlocking.
        processLock.lock()
        defer { processLock.unlock() }
        input.lock()
        if closed {
            input.unlock()
            throw closedError(source: source, offset: offset)
        }
        let seq = nextSequence
        nextSequence += 1
        let bytes = PendingMessage.byteCount(of: message)
        inputCounters.bytesIn &+= UInt64(bytes)
        inputCounters.highWater = Swift.max(inputCounters.highWater, 1)
        input.unlock()
        handleInline(
            PendingMessage(
                message: message, source: source, offset: offset, sequence: seq,
                byteCount: bytes, admittedAt: MonotonicClock.now()))
        return seq
        #else
        let bytes = PendingMessage.byteCount(of: message)
        input.lock()
        while true {
            if closed {
                input.unlock()
                throw closedError(source: source, offset: offset)
            }
            if hasRoom(for: bytes) { break }
            switch wait {
            case .never:
                input.unlock()
                throw IngestError(.full, source: source, offset: offset, "input queue of \(storeId) is full")
            case .block:
                blockOnFull(deadline: nil)
            case .until(let deadline):
                if !blockOnFull(deadline: deadline) && !closed && !hasRoom(for: bytes) {
                    input.unlock()
                    throw IngestError(
                        .timedOut, source: source, offset: offset,
                        "input queue of \(storeId) stayed full until the deadline")
                }
            }
        }
        let seq = pushLocked(message, source: source, offset: offset, bytes: bytes, now: MonotonicClock.now())
        let wake = workerWaiting
        let start = thread == nil
        if start { startWorkerLocked() }
        input.unlock()
        if wake { input.signal(Self.notEmpty) }
        return seq
        #endif
    }

    /// Admits `messages` in order, blocking for room as needed, and returns the range from the
    /// first to the last sequence number given (others' messages may sit between them). Throws
    /// when a message fails `check` or the store closes (the ones before it stay admitted).
    func admitAll(
        _ messages: some Sequence<FramedMessage>, source: String, check: (Message) -> Bool
    ) throws(IngestError) -> Range<UInt64> {
        #if SYNCHRONOUS_INGESTION
        var first: UInt64?
        var last: UInt64 = 0
        for m in messages {
            guard check(m.message) else { throw wrongStoreError(m, source: source) }
            let seq = try admit(m.message, source: source, offset: m.offset, wait: .block)
            if first == nil { first = seq }
            last = seq
        }
        return first.map { $0..<(last + 1) } ?? (0..<0)
        #else
        var first: UInt64?
        var last: UInt64 = 0
        var signaled = false
        let now = MonotonicClock.now()
        input.lock()
        defer {
            let wake = workerWaiting && !signaled
            input.unlock()
            if wake { input.signal(Self.notEmpty) }
        }
        for m in messages {
            guard check(m.message) else { throw wrongStoreError(m, source: source) }
            let bytes = PendingMessage.byteCount(of: m.message)
            try waitForRoomLocked(bytes: bytes, source: source, offset: m.offset, signaled: &signaled)
            let seq = pushLocked(m.message, source: source, offset: m.offset, bytes: bytes, now: now)
            wakeWorkerAfterPushLocked(signaled: &signaled)
            if first == nil { first = seq }
            last = seq
        }
        return first.map { $0..<(last + 1) } ?? (0..<0)
        #endif
    }

    /// Admits the first `count` messages of `batch` (already routed to this store) in order, moving
    /// them out of it, blocking for room as needed. Throws when the store closes: the messages
    /// before that stay admitted, the rest stay in `batch`.
    func admitRun(from batch: inout MessageBatch, count: Int, source: String) throws(IngestError) {
        #if SYNCHRONOUS_INGESTION
        for _ in 0..<count {
            let m = batch.popFirst()
            _ = try admit(m.message, source: source, offset: m.offset, wait: .block)
        }
        #else
        var signaled = false
        let now = MonotonicClock.now()
        input.lock()
        defer {
            let wake = workerWaiting && !signaled
            input.unlock()
            if wake { input.signal(Self.notEmpty) }
        }
        for _ in 0..<count {
            let (bytes, offset) = try batch.withItem(0) { m throws(IngestError) in
                (PendingMessage.byteCount(of: m.message), m.offset)
            }
            try waitForRoomLocked(bytes: bytes, source: source, offset: offset, signaled: &signaled)
            let m = batch.popFirst()
            _ = pushLocked((consume m).message, source: source, offset: offset, bytes: bytes, now: now)
            wakeWorkerAfterPushLocked(signaled: &signaled)
        }
        #endif
    }

    func wrongStoreError(_ m: FramedMessage, source: String) -> IngestError {
        IngestError(
            .wrongStore, source: source, offset: m.offset,
            "\(m.message.kind) for \(m.message.storeId.map { "\($0)" } ?? "no store") submitted to \(storeId)")
    }

    private func closedError(source: String, offset: UInt64) -> IngestError {
        IngestError(.closed, source: source, offset: offset, "store \(storeId) is shut down")
    }

    #if !SYNCHRONOUS_INGESTION
    /// The batch admissions' wait for room for one message of `bytes`; `input` held. Before blocking,
    /// wakes the worker unless this batch already signalled it since its last wait (`signaled`), so
    /// the queue it waits on drains; throws once the store is closed.
    private func waitForRoomLocked(
        bytes: Int, source: String, offset: UInt64, signaled: inout Bool
    ) throws(IngestError) {
        while true {
            if closed { throw closedError(source: source, offset: offset) }
            if hasRoom(for: bytes) { return }
            if workerWaiting && !signaled { input.signal(Self.notEmpty) }
            signaled = false
            blockOnFull(deadline: nil)
        }
    }

    /// After a batch admission pushed one message; `input` held: starts the worker on the first
    /// message, and wakes it once per batch (until the batch waits again).
    private func wakeWorkerAfterPushLocked(signaled: inout Bool) {
        if thread == nil { startWorkerLocked() }
        if workerWaiting && !signaled {
            input.signal(Self.notEmpty)
            signaled = true
        }
    }

    /// Waits for room; `input` held. Returns false if the deadline passed.
    @discardableResult
    private func blockOnFull(deadline: UInt64?) -> Bool {
        producersWaiting += 1
        let t0 = MonotonicClock.now()
        var inTime = true
        if let deadline {
            inTime = input.wait(Self.notFull, untilNanoseconds: deadline)
        } else {
            input.wait(Self.notFull)
        }
        inputCounters.blockedNanoseconds &+= MonotonicClock.now() &- t0
        producersWaiting -= 1
        return inTime
    }

    /// `input` held, room checked.
    @inline(__always)
    private func pushLocked(_ message: consuming Message, source: String, offset: UInt64, bytes: Int, now: UInt64) -> UInt64 {
        let seq = nextSequence
        nextSequence += 1
        queuedBytes += bytes
        if budgeted { chunkStore.addQueuedBytes(bytes) }
        ring.push(
            PendingMessage(
                message: message, source: source, offset: offset, sequence: seq, byteCount: bytes, admittedAt: now))
        let depth = ring.count
        queuedHint.store(depth, ordering: .relaxed)
        if depth > inputCounters.highWater { inputCounters.highWater = depth }
        inputCounters.bytesIn &+= UInt64(bytes)
        return seq
    }

    /// `input` held.
    private func startWorkerLocked() {
        if let old = exitedThread {
            exitedThread = nil
            old.join()
        }
        workerAlive = true
        thread = WorkerThread(name: WorkerThread.nextName()) { [self] in runWorker() }
    }

    // MARK: worker

    private func runWorker() {
        // Grows like the ring (to the largest batch seen) and keeps its capacity afterwards.
        var batch: [PendingMessage] = []
        let idleTimeout = configuration.workerIdleTimeout
        while true {
            spinForInput()
            // Nothing came while spinning: the input ran dry, so make the merges that wait (batched
            // compaction) before sleeping or leaving, not on the next insert.
            if queuedHint.load(ordering: .relaxed) == 0 { chunkStore.compactPending() }
            input.lock()
            let idleDeadline = idleTimeout.map { MonotonicClock.deadline(after: $0) }
            while ring.isEmpty && !closed {
                if releaseWhenEmpty {
                    exitIdleLocked()
                    return
                }
                workerWaiting = true
                if let idleDeadline {
                    let inTime = input.wait(Self.notEmpty, untilNanoseconds: idleDeadline)
                    workerWaiting = false
                    if !inTime && ring.isEmpty && !closed {
                        exitIdleLocked()
                        return
                    }
                } else {
                    input.wait(Self.notEmpty)
                    workerWaiting = false
                }
            }
            if ring.isEmpty {
                workerAlive = false
                input.unlock()
                finishOutputs()
                break
            }
            // Take every ready item in one lock acquisition: all slots free at once.
            // Newest first: popping yields the oldest first, and each message (and the read block
            // its payload pins) is released as soon as it is handled, not when the whole batch is.
            ring.takeAllNewestFirst(into: &batch)
            queuedHint.store(0, ordering: .relaxed)
            queuedBytes = 0
            let wakeProducers = producersWaiting > 0
            let wakeTasks = takeRoomWaitersLocked()
            input.unlock()
            if wakeProducers { input.broadcast(Self.notFull) }
            for task in wakeTasks { task.resume() }

            var discardedThrough: UInt64?
            // One clock reading per message: its end is the next one's start.
            var t0 = MonotonicClock.now()
            while let item = batch.popLast() {
                // The message leaves the queue: from here its bytes are the chunk's (once inserted).
                if budgeted { chunkStore.addQueuedBytes(-item.byteCount) }
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
            if let discardedThrough { markDiscarded(through: discardedThrough) }
        }
    }

    /// `input` held, queue empty, not closed: the worker leaves; the next admission starts a
    /// new one (the processor, and so the order and the dedupe state, carries over).
    private func exitIdleLocked() {
        releaseWhenEmpty = false
        workerAlive = false
        exitedThread = thread
        thread = nil
        input.unlock()
    }

    /// Watches for input for up to ``spinBeforeSleepNanoseconds``, yielding the CPU between looks.
    private func spinForInput() {
        if queuedHint.load(ordering: .relaxed) > 0 { return }
        let deadline = MonotonicClock.now() &+ Self.spinBeforeSleepNanoseconds
        while queuedHint.load(ordering: .relaxed) == 0 && !discarding.load(ordering: .relaxed) {
            sched_yield()
            if MonotonicClock.now() >= deadline { return }
        }
    }
    #else
    /// `processLock` held: the synchronous build does the worker's job inline.
    private func handleInline(_ item: PendingMessage) {
        var counts = ProcessedCounts()
        let out = processor.process(item, counts: &counts)
        let t1 = MonotonicClock.now()
        counts.processNanoseconds = t1 &- item.admittedAt
        counts.latencyNanoseconds = counts.processNanoseconds
        publish(out, counts: counts)
    }
    #endif

    // MARK: output

    private func publish(_ out: IngestOutput, counts: ProcessedCounts) {
        output.lock()
        outputs.append(out)
        outputBytes += out.accountedBytes
        handledThrough = out.sequence + 1
        counters.record(counts)
        counters.bytesOut &+= UInt64(out.accountedBytes)
        latency.record(counts.latencyNanoseconds)
        if case .storeInfo(let info) = out.event { storeInfo = info }
        let wake = flushWaiters > 0
        output.unlock()
        if wake { output.broadcast(Self.progress) }
        outputSignal.notifyIfWaiting()
        hubSignal?.notifyIfWaiting()
    }

    private func markDiscarded(through sequence: UInt64) {
        output.lock()
        counters.discarded += sequence - handledThrough
        handledThrough = sequence
        let wake = flushWaiters > 0
        output.unlock()
        if wake { output.broadcast(Self.progress) }
    }

    /// Marks the outputs ended (the store is closed and every admitted message was handled) and
    /// wakes every task waiting for output.
    func finishOutputs() {
        output.withLock { outputEnded = true }
        outputSignal.notify()
        hubSignal?.notify()
    }

    /// Whether the outputs ended (see ``finishOutputs()``); items may still wait to be polled.
    var outputsEnded: Bool { output.withLock { outputEnded } }

    /// Whether an output item is ready.
    var hasOutput: Bool { output.withLock { !outputs.isEmpty } }

    /// Whether an output item is ready or the outputs ended.
    var hasOutputOrEnded: Bool { output.withLock { !outputs.isEmpty || outputEnded } }

    /// `input` held: takes the suspended producers to resume (after unlocking).
    @inline(__always)
    private func takeRoomWaitersLocked() -> [CheckedContinuation<Void, Never>] {
        if roomWaiters.isEmpty { return [] }
        let w = roomWaiters
        roomWaiters.removeAll()
        return w
    }

    /// Admits one message, suspending the calling task while the queue is full.
    func admitAsync(_ message: Message, source: String, offset: UInt64) async throws(IngestError) -> UInt64 {
        #if SYNCHRONOUS_INGESTION
        return try admit(message, source: source, offset: offset, wait: .block)
        #else
        let bytes = PendingMessage.byteCount(of: message)
        var suspendedAt: UInt64?
        while true {
            do throws(IngestError) {
                let seq = try admit(message, source: source, offset: offset, wait: .never)
                if let t0 = suspendedAt {
                    let waited = MonotonicClock.now() &- t0
                    input.withLock { inputCounters.blockedNanoseconds &+= waited }
                }
                return seq
            } catch {
                if error.code != .full { throw error }
            }
            if suspendedAt == nil { suspendedAt = MonotonicClock.now() }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                input.lock()
                if closed || hasRoom(for: bytes) {
                    input.unlock()
                    c.resume()
                    return
                }
                roomWaiters.append(c)
                input.unlock()
            }
        }
        #endif
    }

    /// Takes the oldest output item, if any; never blocks.
    func poll() -> IngestOutput? {
        output.lock()
        defer { output.unlock() }
        guard var item = outputs.popFirst() else { return nil }
        outputBytes -= item.accountedBytes
        item.moreReady = !outputs.isEmpty
        return item
    }

    /// Whether every message admitted before `sequence` has been handled.
    func isHandled(before sequence: UInt64) -> Bool {
        output.withLock { handledThrough >= sequence }
    }

    /// The number of messages admitted so far.
    var admittedCount: UInt64 { input.withLock { nextSequence } }

    /// Waits until every message admitted before the call has been handled (or the deadline).
    func flush(deadline: UInt64?) -> Bool {
        #if SYNCHRONOUS_INGESTION
        chunkStore.compactPending()
        return true
        #else
        let (target, worker) = input.withLock { (nextSequence, thread) }
        precondition(worker?.isCurrent != true, "flush() called from the store's own insert hook would never return")
        output.lock()
        defer { output.unlock() }
        while handledThrough < target {
            flushWaiters += 1
            defer { flushWaiters -= 1 }
            if let deadline {
                if !output.wait(Self.progress, untilNanoseconds: deadline) { return handledThrough >= target }
            } else {
                output.wait(Self.progress)
            }
        }
        // The worker makes waiting merges when its input runs dry, maybe not yet: make them here so
        // that what the caller reads next is the compacted store.
        chunkStore.compactPending()
        return true
        #endif
    }

    // MARK: lifecycle

    /// Closes the input, wakes blocked producers, lets the worker drain (or discard) what is
    /// queued, and joins it.
    func shutdown(drain: Bool) {
        input.lock()
        closed = true
        if !drain { discarding.store(true, ordering: .releasing) }
        #if !SYNCHRONOUS_INGESTION
        let t = thread
        let exited = exitedThread
        exitedThread = nil
        #endif
        let tasks = takeRoomWaitersLocked()
        input.unlock()
        input.broadcast(Self.notEmpty)
        input.broadcast(Self.notFull)
        for task in tasks { task.resume() }
        #if SYNCHRONOUS_INGESTION
        if drain { chunkStore.compactPending() }
        #endif
        #if !SYNCHRONOUS_INGESTION
        exited?.join()
        guard let t else {
            finishOutputs()
            return
        }
        let joined: Bool = joinLock.withLock {
            if t.joined { return true }
            if t.isCurrent {
                // Released or shut down from its own insert hook: a thread cannot join itself, so
                // it is detached and ends as soon as the hook returns (the input is closed); it
                // ends the outputs itself as it exits.
                t.detach()
                return false
            } else {
                t.join()
                return true
            }
        }
        if joined { finishOutputs() }
        #else
        finishOutputs()
        #endif
    }

    var isClosed: Bool { input.withLock { closed } }

    /// Lets the worker exit once the queue is empty (the next admission starts a new one).
    func releaseWorkerWhenIdle() {
        #if !SYNCHRONOUS_INGESTION
        let wake: Bool = input.withLock {
            guard thread != nil else { return false }
            releaseWhenEmpty = true
            return workerWaiting
        }
        if wake { input.broadcast(Self.notEmpty) }
        #endif
    }

    /// A snapshot of the store's counters.
    func statistics() -> StoreStatistics {
        let (admitted, queued, bytes, waiting, inputCounters, isClosed, hasWorker) = input.withLock {
            (
                nextSequence, ring.count, queuedBytes, producersWaiting + roomWaiters.count, self.inputCounters, closed,
                workerRunning
            )
        }
        let storeStatistics = chunkStore.statistics
        return output.withLock {
            StoreStatistics(
                storeId: storeId, admitted: admitted, handled: handledThrough, queuedMessages: queued,
                queuedBytes: bytes, readyOutputs: outputs.count, readyOutputBytes: outputBytes,
                waitingProducers: waiting, isClosed: isClosed, hasWorker: hasWorker, input: inputCounters,
                counters: counters, latency: LatencySummary(latency), chunkStore: storeStatistics)
        }
    }

    /// A copy of the latency histogram (for a hub's totals).
    func latencyHistogram() -> LatencyHistogram { output.withLock { latency } }

    /// Whether a worker thread runs now; `input` held.
    private var workerRunning: Bool {
        #if SYNCHRONOUS_INGESTION
        return false
        #else
        return workerAlive
        #endif
    }
}
