import Chunks
import IngestCore
import RRD
import Store

/// One store's ingestion: a bounded input queue, a worker thread that decodes off-thread, and an
/// ordered output queue.
///
/// Every message for the store goes through the input queue (2000 slots by default, optionally
/// also bounded by payload bytes); the worker starts on the first submit. Outputs come out in
/// exactly the order messages were admitted, for every kind (store info, chunks, activations,
/// decode errors), each numbered by its ``IngestOutput/sequence``. Every decoded chunk is inserted
/// into the store's own ``chunkStore`` before its output comes out, so apps can query while
/// ingestion runs. ``outputs`` and ``submitAsync(_:source:)`` serve Swift concurrency.
///
/// ```swift
/// let db = EntityDb(storeId: id)
/// try db.submit(framed, source: "a.rrd")    // blocks while the queue is full
/// db.flush()                                 // everything submitted so far has come out
/// while let item = db.poll() { … }           // never blocks
/// db.shutdown(drain: true)                   // stops and joins the worker
/// ```
///
/// - Note: Never let the thread that drains outputs also be a producer that can block on this
///   store's full queue; use ``trySubmit(_:source:)`` or ``submit(_:source:timeout:)`` there.
///   In the synchronous build (``StoreHub/isSynchronous``) `submit` decodes inline and never
///   blocks, and there are no threads.
///
/// Complexity: admission and polling are O(1) with one lock acquisition; the worker takes every
/// ready message per lock acquisition; the queues never allocate per message in steady state.
public final class EntityDb: Sendable {
    let core: StoreCore

    /// The store this database holds.
    public var storeId: StoreId { core.storeId }

    /// The configuration it was created with.
    public var configuration: IngestConfiguration { core.configuration }

    /// Creates an empty store. No thread starts until the first submit.
    public init(storeId: StoreId, configuration: IngestConfiguration = IngestConfiguration()) {
        core = StoreCore(storeId: storeId, configuration: configuration)
    }

    /// A store of a hub: its outputs also wake the hub's ``StoreHub/outputs`` iterators.
    init(storeId: StoreId, configuration: IngestConfiguration, hubSignal: OutputSignal) {
        core = StoreCore(storeId: storeId, configuration: configuration, hubSignal: hubSignal)
    }

    /// Discards what is still queued, stops and joins the worker.
    deinit {
        core.shutdown(drain: false)
    }

    // MARK: submitting

    /// Admits `message`, blocking while the input queue is full.
    /// - Returns: its sequence number in this store.
    /// - Throws: ``IngestError/Code/closed`` if the store is (or, while blocked, gets) shut down;
    ///   ``IngestError/Code/wrongStore`` if the message belongs to another store or none.
    @discardableResult
    public func submit(_ message: FramedMessage, source: String) throws(IngestError) -> UInt64 {
        return try admit(message, source: source, wait: .block)
    }

    /// Admits `message` only if there is room now.
    /// - Throws: ``IngestError/Code/full`` when the queue is full (never in the synchronous
    ///   build), ``IngestError/Code/closed``, ``IngestError/Code/wrongStore``.
    @discardableResult
    public func trySubmit(_ message: FramedMessage, source: String) throws(IngestError) -> UInt64 {
        return try admit(message, source: source, wait: .never)
    }

    /// Admits `message`, waiting at most `timeout` (monotonic clock) for room.
    /// - Throws: ``IngestError/Code/timedOut`` when no room appeared in time,
    ///   ``IngestError/Code/closed``, ``IngestError/Code/wrongStore``.
    @discardableResult
    public func submit(_ message: FramedMessage, source: String, timeout: Duration) throws(IngestError) -> UInt64 {
        return try admit(message, source: source, wait: .until(MonotonicClock.deadline(after: timeout)))
    }

    /// Admits `messages` in order, blocking for room as needed (one lock acquisition for as many
    /// as fit at a time).
    /// - Returns: the sequence numbers given to them (consecutive unless other producers
    ///   submitted at the same time: then only increasing).
    /// - Throws: ``IngestError/Code/closed`` or ``IngestError/Code/wrongStore``; the messages
    ///   before the failing one stay admitted.
    @discardableResult
    public func submit(
        contentsOf messages: some Sequence<FramedMessage>, source: String
    ) throws(IngestError)
        -> Range<UInt64>
    {
        var run = SequenceRun(messages.makeIterator(), mode: .checked)
        return try core.admit(&run, source: source, wait: .block)
    }

    private func admit(_ message: FramedMessage, source: String, wait: AdmissionWait) throws(IngestError) -> UInt64 {
        try checkStore(message, source: source)
        var run = OneMessage(message.message, offset: message.offset)
        return try core.admit(&run, source: source, wait: wait).lowerBound
    }

    func checkStore(_ message: FramedMessage, source: String) throws(IngestError) {
        guard message.message.kind != .end, message.message.storeId == storeId else {
            throw IngestError.wrongStore(message, source: source, store: storeId)
        }
    }

    // MARK: output

    /// Takes the oldest output item, or `nil` if none is ready. Never blocks.
    public func poll() -> IngestOutput? { core.poll() }

    /// Hands ready output items to `body` in order until none is ready, `maxItems` were handed
    /// out, or `timeBudget` (monotonic clock, checked after each item) is spent. Never waits
    /// for output. Viewers call it once per frame.
    /// - Returns: the number of items handed out.
    @discardableResult
    public func drain<E: Error>(
        maxItems: Int = .max, timeBudget: Duration? = nil, _ body: (IngestOutput) throws(E) -> Void
    ) throws(E) -> Int {
        let deadline = timeBudget.map { MonotonicClock.deadline(after: $0) }
        var n = 0
        while n < maxItems, let item = core.poll() {
            n += 1
            try body(item)
            if let deadline, MonotonicClock.now() >= deadline { break }
        }
        return n
    }

    /// Returns once every message submitted before the call has come out (its output is ready
    /// to poll, or it was discarded by a shutdown). Returns at once in the synchronous build.
    /// With batched compaction (``/Store/ChunkStoreConfiguration/Compaction/mergeBatch`` above 1) it then
    /// makes the merges that wait (``/Store/ChunkStore/compactPending()``, on the calling thread, so the
    /// chunk store's subscribers hear of them there).
    /// - Note: Never call it from this store's insert hook.
    public func flush() {
        _ = core.flush(deadline: nil)
    }

    /// ``flush()`` with a deadline.
    /// - Returns: `false` if the timeout passed first.
    @discardableResult
    public func flush(timeout: Duration) -> Bool {
        core.flush(deadline: MonotonicClock.deadline(after: timeout))
    }

    // MARK: lifecycle and state

    /// Closes the input: later submits and producers blocked on a full queue get
    /// ``IngestError/Code/closed``. With `drain`, the worker processes everything already
    /// admitted (its outputs stay pollable); otherwise what it has not started is discarded.
    /// Then the worker thread is joined. Idempotent; a later call may escalate drain to discard.
    public func shutdown(drain: Bool) {
        core.shutdown(drain: drain)
    }

    /// Lets the worker thread exit as soon as the input queue is empty, e.g. when the store's
    /// source ended; a later submit starts a new worker that goes on in order. A no-op in the
    /// synchronous build or when no worker runs. See also ``IngestConfiguration/workerIdleTimeout``.
    public func releaseWorkerWhenIdle() {
        core.releaseWorkerWhenIdle()
    }

    /// Whether ``shutdown(drain:)`` was called.
    public var isShutDown: Bool { core.isClosed }

    /// The info of the latest `SetStoreInfo` that has come out of the worker.
    public var storeInfo: SetStoreInfo? { core.storeInfo }

    /// A snapshot of the queues and counters.
    public var statistics: StoreStatistics { core.statistics() }

    /// The store's chunks, indexed for queries. The worker (inline in the synchronous build)
    /// inserts every decoded chunk here, in admission order, before that chunk's output item is
    /// published: when an item has come out, its chunk (and every earlier one) can be queried.
    /// Queries are safe from any thread while ingestion runs.
    /// - Note: Treat it as read-only while the store ingests (``/Store/ChunkStore/remove(chunkId:)`` for
    ///   garbage collection is fine); chunks inserted here directly bypass the engine's counters.
    public var chunkStore: ChunkStore<Chunk> { core.chunkStore }
}
