import IngestCore

/// What happens to a store's messages once admitted, and how the store stops: the one thing the
/// threaded and the synchronous build do differently.
///
/// - ``ThreadedExecutor``: a worker thread per store takes queued messages in batches; producers
///   may block while the queue is full; a shutdown joins the thread.
/// - ``InlineExecutor``: the producer that admitted messages processes them itself, under the
///   store's processing lock, before its submit returns; no thread is started and no producer
///   ever waits for room.
///
/// The build chooses one (``DefaultExecutor``) in this file, by the `SynchronousIngestion` trait;
/// both compile in both builds (the tests drive each in each). Everything else of a store (the
/// queue, the numbering, the outputs, the order) is ``EntityCore``'s and the same for both.
///
/// The requirements are called by ``EntityCore`` with the input lock held where they take the
/// state (`held`, `state`), and without it otherwise.
protocol StoreExecutor: Sendable {
    /// The executor's share of a store's ``InputState`` (guarded by the input lock).
    associatedtype Worker
    /// What an admission leaves to do once the input lock is released.
    associatedtype Handoff
    /// What a shutdown leaves to do once the input lock is released.
    associatedtype Stop

    /// `true` for the inline executor: no threads, submits process what they admit and never
    /// wait for room.
    static var isInline: Bool { get }

    /// The worker state of a new store.
    static var idleWorker: Worker { get }

    /// The queue has no room for the next message of an admission (input lock held): wait for
    /// room as `wait` allows (starting or waking whoever drains first), refuse, or end the
    /// admission's critical section so that the producer makes room itself.
    static func noRoom(
        _ held: borrowing Locked<InputState<Worker>>.Held, wait: AdmissionWait, core: EntityCore<Self>
    ) -> RoomOutcome

    /// An admission's critical section ends having queued messages, or wanting room made (input
    /// lock held): start or wake the worker, or claim the processing of the queue.
    static func admitted(_ state: inout InputState<Worker>, core: EntityCore<Self>) -> Handoff

    /// Does what ``admitted(_:core:)`` decided, the input lock released: signals the worker, or
    /// processes the queue on the calling thread.
    static func handOff(_ handoff: Handoff, core: EntityCore<Self>)

    /// A shutdown, the lifecycle already closing (input lock held): decides how the store stops.
    static func shutDown(_ held: borrowing Locked<InputState<Worker>>.Held) -> Stop

    /// Completes the shutdown, the input lock released: joins the worker, or drains or discards
    /// what is left; afterwards every admitted message was handled (unless the shutdown came from
    /// the store's own insert hook: then the processing under way completes it as it returns).
    static func stop(_ stop: Stop, disposal: Disposal, core: EntityCore<Self>)

    /// ``EntityCore/releaseWorkerWhenIdle()`` (input lock held).
    /// - Returns: whether the worker must be woken to notice.
    static func release(_ worker: inout Worker) -> Bool

    /// Whether a flush waits for outputs (input lock held): not from the thread that produces
    /// them, which would wait for itself (the threaded executor traps, the inline one returns).
    static func flushWaits(_ worker: borrowing Worker) -> Bool

    /// Whether a worker thread runs for the store now (input lock held).
    static func hasThread(_ state: borrowing InputState<Worker>) -> Bool

    /// Runs `count` reader loops of a pipeline and returns once every one returned.
    ///
    /// Threaded: each loop runs on a thread of its own (`ingest-r-<n>`) and its `afterBatch` does
    /// nothing, while the calling thread calls `tend(false)` whenever a loop returns and at least
    /// every `interval` nanoseconds, then `tend(true)` once all returned, then joins them. Inline:
    /// the loops run one after another on the calling thread, `afterBatch` (which a loop calls
    /// after each batch it submitted) calls `tend(false)` (the outputs came out with the submit),
    /// and `tend(true)` follows the last loop.
    static func runReaders(
        count: Int, tendEvery interval: UInt64,
        _ loop: @escaping @Sendable (_ index: Int, _ afterBatch: () -> Void) -> Void,
        tend: (_ finished: Bool) -> Void)
}

extension StoreExecutor {
    /// Whether a submit may block its thread on a full queue (a pipeline's reader may then use a
    /// long submit as the sign that the workers are the bottleneck).
    static var submitsMayBlock: Bool { !isInline }
}

/// What ``StoreExecutor/noRoom(_:wait:core:)`` did.
enum RoomOutcome {
    /// Waited and was woken: look again.
    case retry
    /// Waited until the admission's deadline: look once more, then time out.
    case deadlinePassed
    /// The admission must fail with ``IngestError/Code/full``.
    case refuse
    /// End the critical section; the producer processes the queue (``StoreExecutor/handOff(_:core:)``)
    /// and then goes on admitting.
    case processFirst
}

#if SYNCHRONOUS_INGESTION
/// The executor of this build: the `SynchronousIngestion` trait is on, no threads.
typealias DefaultExecutor = InlineExecutor
#else
/// The executor of this build: a worker thread per store.
typealias DefaultExecutor = ThreadedExecutor
#endif

/// A store's shared state as this build runs it.
typealias StoreCore = EntityCore<DefaultExecutor>
