@preconcurrency import Glibc
import IngestCore
import Store
import Synchronization

/// A store's worker thread as its input lock sees it.
///
/// ```
/// none ──admission──▶ running ◀──admission wakes── parked
///   ▲                  │  │  └──queue empty, worker sleeps──▶ parked
///   │                  │  └──releaseWorkerWhenIdle──▶ releasing ──queue empty──▶ exited
///   │                  └──idle timeout──────────────────────────────────────────▶ exited
///   └──shutdown joined── joining ◀──shutdown── running | parked | releasing | exited
///                        detached ◀──shutdown from its own insert hook── running
/// ```
/// An admission into `exited` joins that thread and starts a new one (`running`): the processor,
/// and so the order and the dedupe state, carries over.
enum WorkerState {
    /// No thread: none started yet, or the last one was joined.
    case none
    /// Taking messages from the queue, or processing them.
    case running(WorkerThread)
    /// Asleep on the not-empty condition; the next admission wakes it (once: it is `running`
    /// from the signal on).
    case parked(WorkerThread)
    /// Told to exit as soon as the queue is empty (``EntityCore/releaseWorkerWhenIdle()``).
    case releasing(WorkerThread)
    /// Left while idle, released or timed out; it takes no lock any more, so joining it waits for
    /// nothing but its return. The next start or a shutdown joins it.
    case exited(WorkerThread)
    /// A shutdown is joining it (the thread drains or discards the queue and ends); other
    /// shutdowns wait until it is `none`.
    case joining
    /// Shut down from its own insert hook, where a thread cannot join itself: detached, it ends
    /// by itself once it has drained or discarded the queue.
    case detached(WorkerThread)

    /// No thread runs: an admission must start one.
    var needsStart: Bool {
        switch self {
        case .none, .exited: return true
        default: return false
        }
    }

    /// The thread is to exit once the queue is empty.
    var isReleasing: Bool {
        if case .releasing = self { return true }
        return false
    }

    /// A worker thread exists and has not left (it may be draining for a shutdown).
    var isAlive: Bool {
        switch self {
        case .running, .parked, .releasing, .joining, .detached: return true
        case .none, .exited: return false
        }
    }

    /// Whether the calling thread is the store's worker.
    var isCurrentThread: Bool {
        switch self {
        case .running(let t), .parked(let t), .releasing(let t), .detached(let t): return t.isCurrent
        case .none, .exited, .joining: return false
        }
    }

    /// none | exited → running: joins the exited thread, then starts one with `spawn`.
    mutating func start(_ spawn: () -> WorkerThread) {
        switch self {
        case .none: break
        case .exited(let old): old.join()
        default:
            assertionFailure("starting a worker while one runs (\(self))")
            return
        }
        self = .running(spawn())
    }

    /// running → parked: the worker goes to sleep on an empty queue.
    mutating func park() {
        guard case .running(let t) = self else {
            assertionFailure("only a running worker parks (\(self))")
            return
        }
        self = .parked(t)
    }

    /// parked → running, by an admission that queued messages.
    /// - Returns: whether the worker was parked (the admission must signal it).
    mutating func wake() -> Bool {
        guard case .parked(let t) = self else { return false }
        self = .running(t)
        return true
    }

    /// The worker's wait returned (signalled, timed out, or spuriously): parked → running; a
    /// state an admission, a release or a shutdown set meanwhile stays.
    mutating func woke() {
        if case .parked(let t) = self { self = .running(t) }
    }

    /// running | parked → releasing.
    /// - Returns: whether it was parked (it must be woken to notice).
    mutating func release() -> Bool {
        switch self {
        case .running(let t):
            self = .releasing(t)
            return false
        case .parked(let t):
            self = .releasing(t)
            return true
        default:
            return false
        }
    }

    /// running | releasing → exited: the worker leaves with the queue empty and the store open.
    mutating func exitIdle() {
        switch self {
        case .running(let t), .releasing(let t): self = .exited(t)
        default: assertionFailure("only a running worker exits (\(self))")
        }
    }

    /// What a shutdown does about the thread.
    enum Stop {
        /// No thread (or a detached one that ends by itself): nothing to join.
        case nothing
        /// Join this thread (the state is `joining` until ``joined()``).
        case join(WorkerThread)
        /// Another shutdown joins it: wait until the state is `none`.
        case awaitJoin
    }

    /// A shutdown takes the thread: to join it (joining), or, from the thread itself, to detach it.
    mutating func shutDown() -> Stop {
        switch self {
        case .none, .detached:
            return .nothing
        case .exited(let t):
            self = .joining
            return .join(t)
        case .running(let t), .parked(let t), .releasing(let t):
            if t.isCurrent {
                t.detach()
                self = .detached(t)
                return .nothing
            }
            self = .joining
            return .join(t)
        case .joining:
            return .awaitJoin
        }
    }

    /// joining → none: the shutdown joined the thread.
    mutating func joined() {
        guard case .joining = self else {
            assertionFailure("joined a worker no shutdown was joining (\(self))")
            return
        }
        self = .none
    }
}

/// The threaded build's executor: one worker thread per store, started by the first admission,
/// which takes every ready message per lock acquisition, decodes, inserts and publishes them in
/// order; producers block (or time out, or are refused) while the queue is full.
///
/// The worker spins briefly before it sleeps on an empty queue, makes the waiting merges when its
/// input runs dry, discards what is left on a discarding shutdown, exits when idle for
/// ``IngestConfiguration/workerIdleTimeout`` or after ``EntityCore/releaseWorkerWhenIdle()``, and
/// is joined by a shutdown (detached when the shutdown comes from its own insert hook). It holds
/// the store's processing lock for its whole life.
enum ThreadedExecutor: StoreExecutor {
    typealias Worker = WorkerState

    /// After an admission: whether the parked worker must be signalled.
    enum Handoff {
        case none
        case signal
    }

    static var isInline: Bool { false }
    static var idleWorker: WorkerState { .none }

    /// How long an idle worker watches for input before it sleeps on the condition variable. A
    /// sleep costs the producer a futex wake and the worker a context switch per message (about
    /// 5 µs here), which dominated tiny chunks; a short spin keeps a steady stream flowing.
    static let spinBeforeSleepNanoseconds: UInt64 = 50_000

    static func noRoom(
        _ held: borrowing Locked<InputState<WorkerState>>.Held, wait: AdmissionWait, core: EntityCore<Self>
    ) -> RoomOutcome {
        let deadline: UInt64?
        switch wait {
        case .never: return .refuse
        case .block: deadline = nil
        case .until(let d): deadline = d
        }
        // From the store's own insert hook the thread that would make room is this one: waiting
        // would never end (a producer must never be the consumer of the queue it waits on).
        if held.state.worker.isCurrentThread { return .refuse }
        // Whoever drains the queue must be on its way before this producer sleeps: the messages
        // this admission queued so far have not started or woken the worker yet.
        if held.state.worker.needsStart {
            held.state.worker.start { spawn(core) }
        } else if held.state.worker.wake() {
            core.input.signal(EntityCore<Self>.notEmpty)
        }
        held.state.producersWaiting += 1
        let t0 = MonotonicClock.now()
        var inTime = true
        if let deadline {
            inTime = held.wait(EntityCore<Self>.notFull, untilNanoseconds: deadline)
        } else {
            held.wait(EntityCore<Self>.notFull)
        }
        held.state.counters.blockedNanoseconds &+= MonotonicClock.now() &- t0
        held.state.producersWaiting -= 1
        return inTime ? .retry : .deadlinePassed
    }

    @inline(__always)
    static func admitted(_ state: inout InputState<WorkerState>, core: EntityCore<Self>) -> Handoff {
        if state.worker.needsStart {
            // Only an open store starts one; a new thread finds the queue non-empty and needs no signal.
            if state.lifecycle.isOpen { state.worker.start { spawn(core) } }
            return .none
        }
        return state.worker.wake() ? .signal : .none
    }

    @inline(__always)
    static func handOff(_ handoff: Handoff, core: EntityCore<Self>) {
        if case .signal = handoff { core.input.signal(EntityCore<Self>.notEmpty) }
    }

    static func shutDown(_ held: borrowing Locked<InputState<WorkerState>>.Held) -> WorkerState.Stop {
        switch held.state.worker.shutDown() {
        case .nothing:
            // No thread: nothing is queued (a thread runs while messages wait), so the store ends
            // now. A detached thread ends it itself.
            if case .none = held.state.worker {
                assert(held.state.ring.isEmpty, "messages queued with no worker")
                held.state.lifecycle.finish()
            }
            return .nothing
        case .join(let t):
            return .join(t)
        case .awaitJoin:
            while case .joining = held.state.worker { held.wait(EntityCore<Self>.joined) }
            return .nothing
        }
    }

    static func stop(_ stop: WorkerState.Stop, disposal: Disposal, core: EntityCore<Self>) {
        guard case .join(let t) = stop else { return }
        t.join()
        core.input.withLock { state in
            state.worker.joined()
            // A thread that drained ended the outputs as it left; one that had exited idle left
            // nothing queued, so they end now.
            state.lifecycle.finish()
        }
        core.input.broadcast(EntityCore<Self>.joined)
    }

    static func release(_ worker: inout WorkerState) -> Bool { worker.release() }

    static func flushWaits(_ worker: borrowing WorkerState) -> Bool {
        precondition(!worker.isCurrentThread, "flush() called from the store's own insert hook would never return")
        return true
    }

    static func hasThread(_ state: borrowing InputState<WorkerState>) -> Bool {
        state.lifecycle != .closed && state.worker.isAlive
    }

    // MARK: the worker

    private static func spawn(_ core: EntityCore<Self>) -> WorkerThread {
        WorkerThread(name: WorkerThread.nextName()) { run(core) }
    }

    /// What the worker found under the input lock.
    private enum Step {
        /// A batch to process; these producers to wake first.
        case batch(FreedRoom)
        /// Leave, idle (the state is `exited`).
        case exit
        /// Leave: the store is shut down and everything admitted was handled.
        case finished
    }

    /// The worker thread's body.
    private static func run(_ core: EntityCore<Self>) {
        core.processing.withLock { processor in
            // Grows like the ring (to the largest batch seen) and keeps its capacity afterwards.
            var batch: [PendingMessage] = []
            let idleTimeout = core.configuration.workerIdleTimeout
            while true {
                spinForInput(core)
                // Nothing came while spinning: the input ran dry, so make the merges that wait
                // (batched compaction) before sleeping or leaving, not on the next insert.
                if core.queuedHint.load(ordering: .relaxed) == 0 { core.chunkStore.compactPending() }
                let step: Step = core.input.withLockWaiting { held in
                    let idleDeadline = idleTimeout.map { MonotonicClock.deadline(after: $0) }
                    while held.state.ring.isEmpty && held.state.lifecycle.isOpen {
                        if held.state.worker.isReleasing {
                            held.state.worker.exitIdle()
                            return .exit
                        }
                        held.state.worker.park()
                        if let idleDeadline {
                            let inTime = held.wait(EntityCore<Self>.notEmpty, untilNanoseconds: idleDeadline)
                            held.state.worker.woke()
                            if !inTime && held.state.ring.isEmpty && held.state.lifecycle.isOpen {
                                held.state.worker.exitIdle()
                                return .exit
                            }
                        } else {
                            held.wait(EntityCore<Self>.notEmpty)
                            held.state.worker.woke()
                        }
                    }
                    if held.state.ring.isEmpty {
                        held.state.lifecycle.finish()
                        return .finished
                    }
                    // Take every ready item in one lock acquisition: all slots free at once.
                    let freed = held.state.takeAll(into: &batch)
                    core.queuedHint.store(0, ordering: .relaxed)
                    return .batch(freed)
                }
                switch step {
                case .exit:
                    return
                case .finished:
                    core.outputsDidEnd()
                    return
                case .batch(let freed):
                    core.wake(freed)
                    core.process(&batch, with: &processor)
                }
            }
        }
    }

    /// Watches for input for up to ``spinBeforeSleepNanoseconds``, yielding the CPU between looks.
    private static func spinForInput(_ core: EntityCore<Self>) {
        if core.queuedHint.load(ordering: .relaxed) > 0 { return }
        let deadline = MonotonicClock.now() &+ spinBeforeSleepNanoseconds
        while core.queuedHint.load(ordering: .relaxed) == 0 && !core.discarding.load(ordering: .relaxed) {
            sched_yield()
            if MonotonicClock.now() >= deadline { return }
        }
    }

    // MARK: the reading side

    static func runReaders(
        count: Int, tendEvery interval: UInt64,
        _ loop: @escaping @Sendable (_ index: Int, _ afterBatch: () -> Void) -> Void,
        tend: (_ finished: Bool) -> Void
    ) {
        let running = Locked(count, conditions: 1)
        let done = LockCondition(0)
        let threads = (0..<count).map { n in
            WorkerThread(name: "ingest-r-\(n)") {
                loop(n) {}
                running.withLock { $0 -= 1 }
                running.broadcast(done)
            }
        }
        let interval = Swift.max(interval, 1)
        while true {
            let finished = running.withLockWaiting { held in
                if held.state > 0 { _ = held.wait(done, untilNanoseconds: MonotonicClock.now() &+ interval) }
                return held.state == 0
            }
            tend(finished)
            if finished { break }
        }
        for t in threads { t.join() }
    }
}
