@preconcurrency import Glibc
import IngestCore
import Store
import Synchronization

/// Which producer processes a store's queue in the synchronous build, as its input lock sees it.
///
/// ```
/// idle ──a producer holding the processing lock takes the queue──▶ running(owner)
///   ▲                                                                  │
///   └──────────────────────── it finds the queue empty ───────────────┘
/// ```
enum InlinePass: Sendable {
    /// Nobody: the next admission processes what it queued.
    case idle
    /// The thread `owner` processes the queue (it holds the processing lock) until it finds the
    /// queue empty; messages its insert hook submits to the same store join its pass.
    case running(owner: pthread_t)

    /// Whether the calling thread runs the pass (it is inside the store's insert hook).
    var isOnCurrentThread: Bool {
        guard case .running(let owner) = self else { return false }
        return pthread_equal(owner, pthread_self()) != 0
    }

    /// idle → running on the calling thread (which holds the processing lock, so no other pass runs).
    mutating func begin() {
        if case .running = self, !isOnCurrentThread { assertionFailure("two passes over one store") }
        self = .running(owner: pthread_self())
    }

    /// running → idle: the pass found the queue empty.
    mutating func end() {
        assert(isOnCurrentThread, "ending a pass this thread does not run")
        self = .idle
    }
}

/// The synchronous build's executor (the `SynchronousIngestion` trait): no threads. The producer
/// that admitted messages processes the queue itself, under the store's processing lock, before
/// its submit returns, so outputs are ready at once; a producer that finds no room processes what
/// is queued instead of waiting. Submits from the store's own insert hook join the pass under way.
/// A shutdown drains or discards what is left on the calling thread.
enum InlineExecutor: StoreExecutor {
    typealias Worker = InlinePass

    /// After an admission: whether this producer runs a pass.
    enum Handoff {
        case none
        case pass
    }

    /// What a shutdown leaves to do: run a pass to drain or discard what is left, or nothing
    /// (from the insert hook: the pass under way does it).
    enum Stop {
        case none
        case pass
    }

    static var isInline: Bool { true }
    static var idleWorker: InlinePass { .idle }

    static func noRoom(
        _ held: borrowing Locked<InputState<InlinePass>>.Held, wait: AdmissionWait, core: EntityCore<Self>
    ) -> RoomOutcome {
        // From the insert hook, the pass that would make room is this thread's own, further up.
        held.state.worker.isOnCurrentThread ? .refuse : .processFirst
    }

    static func admitted(_ state: inout InputState<InlinePass>, core: EntityCore<Self>) -> Handoff {
        state.worker.isOnCurrentThread ? .none : .pass
    }

    static func handOff(_ handoff: Handoff, core: EntityCore<Self>) {
        if case .pass = handoff { runPass(core) }
    }

    static func shutDown(_ held: borrowing Locked<InputState<InlinePass>>.Held) -> Stop {
        held.state.worker.isOnCurrentThread ? .none : .pass
    }

    static func stop(_ stop: Stop, disposal: Disposal, core: EntityCore<Self>) {
        guard case .pass = stop else { return }
        runPass(core)
        if disposal == .drain { core.chunkStore.compactPending() }
    }

    static func release(_ worker: inout InlinePass) -> Bool { false }

    static func flushWaits(_ worker: borrowing InlinePass) -> Bool { !worker.isOnCurrentThread }

    static func hasThread(_ state: borrowing InputState<InlinePass>) -> Bool { false }

    /// Processes the queue on the calling thread until it is empty, then, if the store is shut
    /// down, ends its outputs.
    static func runPass(_ core: EntityCore<Self>) {
        var ended = false
        core.processing.withLock { processor in
            var batch: [PendingMessage] = []
            while true {
                let freed: FreedRoom? = core.input.withLock { state in
                    if state.ring.isEmpty {
                        if case .running = state.worker { state.worker.end() }
                        if case .closing = state.lifecycle {
                            state.lifecycle.finish()
                            ended = true
                        }
                        return nil
                    }
                    state.worker.begin()
                    return state.takeAll(into: &batch)
                }
                guard let freed else { break }
                core.queuedHint.store(0, ordering: .relaxed)
                core.wake(freed)
                core.process(&batch, with: &processor)
            }
        }
        if ended { core.outputsDidEnd() }
    }

    static func runReaders(
        count: Int, tendEvery interval: UInt64,
        _ loop: @escaping @Sendable (_ index: Int, _ afterBatch: () -> Void) -> Void,
        tend: (_ finished: Bool) -> Void
    ) {
        for n in 0..<count { loop(n) { tend(false) } }
        tend(true)
    }
}
