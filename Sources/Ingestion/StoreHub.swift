import DequeModule
import IngestCore
import RRD

/// One item of the hub's per-source error stream: an error that belongs to no store.
public struct SourceErrorItem: Sendable {
    /// The producer's label for the input.
    public var source: String
    /// 0, 1, 2, … per source, in the order the errors were reported.
    public var sequence: UInt64
    /// The error (``IngestError/Code/stream`` wraps an ``RRDError``).
    public var error: IngestError
}

/// Routes every message of the stream layer to its store, holding one ``EntityDb`` per store id
/// (kind + application id + recording id), created on first sight, listed in first-seen order.
///
/// Errors that belong to no store (a broken stream header, framing, an `ArrowMsg` whose protobuf
/// does not decode) go to a per-source error stream. Such an error becomes pollable only after
/// every message its source submitted before it has come out of its store.
///
/// ```swift
/// let hub = StoreHub()
/// for event in reader {                        // on an I/O thread
///     switch event {
///     case .message(let m): try hub.submit(m, source: path)
///     case .error(let e): hub.report(e)
///     default: break
///     }
/// }
/// hub.flush()
/// for id in hub.storeIds() { while let item = hub.store(id)?.poll() { … } }
/// hub.shutdown(drain: true)
/// ```
///
/// The hub never holds its own lock while a producer blocks on a store, so a full or stuck store
/// never delays another. Thread-safe.
public final class StoreHub: @unchecked Sendable {
    // @unchecked: every mutable field is guarded by `lock` (a pthread mutex).

    /// Whether the library was built with the `SynchronousIngestion` trait: no threads; `submit`
    /// decodes inline and never blocks; outputs are ready at once. SwiftPM unites traits across
    /// a dependency graph, so one package enabling the trait makes every client synchronous.
    public static var isSynchronous: Bool {
        #if SYNCHRONOUS_INGESTION
        return true
        #else
        return false
        #endif
    }

    /// The configuration every store is created with.
    public let configuration: IngestConfiguration

    private final class SourceState {
        /// Stores this source submitted to (the watermarks of its errors).
        var touched: [EntityCore] = []
        var touchedIds = Set<ObjectIdentifier>()
        var lastTouched: ObjectIdentifier?
        var pending = Deque<(item: SourceErrorItem, waitFor: [(EntityCore, UInt64)])>()
        var nextSequence: UInt64 = 0
    }

    private let lock = ConditionLock()
    private var stores: [StoreId: EntityDb] = [:]
    private var order: [StoreId] = []
    private var sources: [String: SourceState] = [:]
    private var sourceOrder: [String] = []
    private var closed = false
    private var drainCursor = 0
    /// Wakes tasks iterating ``outputs``; every store of the hub notifies it.
    let outputSignal = OutputSignal()

    /// Creates an empty hub.
    public init(configuration: IngestConfiguration = IngestConfiguration()) {
        self.configuration = configuration
    }

    /// Shuts every store down, discarding what is queued, and joins their workers.
    deinit {
        shutdown(drain: false)
    }

    // MARK: routing

    private func sourceState(_ source: String) -> SourceState {
        if let s = sources[source] { return s }
        let s = SourceState()
        sources[source] = s
        sourceOrder.append(source)
        return s
    }

    /// The store for `message` (created on first sight), or `nil` for `End`. `lock` not held.
    func route(_ message: FramedMessage, source: String) throws(IngestError) -> EntityDb? {
        guard message.message.kind != .end, let id = message.message.storeId else { return nil }
        lock.lock()
        defer { lock.unlock() }
        if closed { throw IngestError(.closed, source: source, offset: message.offset, "the store hub is shut down") }
        let db: EntityDb
        if let existing = stores[id] {
            db = existing
        } else {
            db = EntityDb(storeId: id, configuration: configuration, hubSignal: outputSignal)
            stores[id] = db
            order.append(id)
        }
        let state = sourceState(source)
        let key = ObjectIdentifier(db.core)
        if state.lastTouched != key {
            state.lastTouched = key
            if state.touchedIds.insert(key).inserted { state.touched.append(db.core) }
        }
        return db
    }

    /// Routes `message` to its store's input queue, blocking while that queue is full.
    /// - Returns: its sequence number in its store, or `nil` for `End` (which belongs to no store).
    /// - Throws: ``IngestError/Code/closed`` when the hub or the store is shut down.
    @discardableResult
    public func submit(_ message: FramedMessage, source: String) throws(IngestError) -> UInt64? {
        guard let db = try route(message, source: source) else { return nil }
        return try db.core.admit(message.message, source: source, offset: message.offset, wait: .block)
    }

    /// Routes `message` only if its store's queue has room now.
    /// - Throws: ``IngestError/Code/full``, ``IngestError/Code/closed``.
    @discardableResult
    public func trySubmit(_ message: FramedMessage, source: String) throws(IngestError) -> UInt64? {
        guard let db = try route(message, source: source) else { return nil }
        return try db.core.admit(message.message, source: source, offset: message.offset, wait: .never)
    }

    /// Routes `message`, waiting at most `timeout` for room in its store's queue.
    /// - Throws: ``IngestError/Code/timedOut``, ``IngestError/Code/closed``.
    @discardableResult
    public func submit(_ message: FramedMessage, source: String, timeout: Duration) throws(IngestError) -> UInt64? {
        guard let db = try route(message, source: source) else { return nil }
        return try db.core.admit(
            message.message, source: source, offset: message.offset,
            wait: .until(MonotonicClock.deadline(after: timeout)))
    }

    /// Routes `messages` in order, blocking as needed. Consecutive messages for one store are
    /// admitted together (one lock acquisition and at most one wake-up for as many as fit).
    /// - Throws: like ``submit(_:source:)``; the messages before the failing one stay admitted.
    public func submit(contentsOf messages: some Sequence<FramedMessage>, source: String) throws(IngestError) {
        var run: [FramedMessage] = []
        var runStore: EntityDb?
        for m in messages {
            // The next message of the same store joins the run without routing again (the run is
            // admitted as a whole anyway; routing it would find the same store and change nothing).
            if let target = runStore, m.message.storeId == target.storeId {
                run.append(m)
                continue
            }
            guard let db = try route(m, source: source) else { continue }
            if db !== runStore, let target = runStore {
                _ = try target.core.admitAll(run, source: source) { _ in true }
                run.removeAll(keepingCapacity: true)
            }
            runStore = db
            run.append(m)
        }
        if let target = runStore { _ = try target.core.admitAll(run, source: source) { _ in true } }
    }

    /// Routes the messages of `batch` in order, moving them into their stores' queues (the reader's
    /// hand-off: no copies), blocking as needed; `batch` is empty afterwards. Consecutive messages
    /// for one store are admitted together, like ``submit(contentsOf:source:)``.
    /// - Throws: like ``submit(_:source:)``; the messages before the failing one stay admitted,
    ///   the rest are dropped.
    func submit(moving batch: inout MessageBatch, source: String) throws(IngestError) {
        defer { batch.removeAll() }
        while !batch.isEmpty {
            guard let db = try batch.withItem(0, { m throws(IngestError) in try route(copy m, source: source) }) else {
                _ = batch.popFirst()  // End belongs to no store
                continue
            }
            // Compared with the first message's id, not the store's: the reader gives every message
            // of a store the same id value, so this is a pointer comparison.
            let id = try batch.withItem(0) { m throws(IngestError) in m.message.storeId ?? db.core.storeId }
            var run = 1
            while run < batch.count, try batch.withItem(run, { m in Self.belongs(m.message, to: id) }) { run += 1 }
            try db.core.admitRun(from: &batch, count: run, source: source)
        }
    }

    /// Whether `message` belongs to the store `id` (a pointer comparison for the reader's shared ids).
    @inline(__always)
    private static func belongs(_ message: borrowing Message, to id: StoreId) -> Bool {
        switch message {
        case .arrowMsg(let a): return a.storeId.isIdentical(to: id) || a.storeId == id
        case .end: return false
        default: return message.storeId == id
        }
    }

    // MARK: errors that belong to no store

    /// Reports a stream-layer error of `error.source` on the per-source error stream.
    public func report(_ error: RRDError) {
        report(IngestError(error))
    }

    /// Reports an error of `error.source` on the per-source error stream. It becomes pollable
    /// once everything that source submitted before it has come out of its stores.
    public func report(_ error: IngestError) {
        let touched = lock.withLock { sourceState(error.source).touched }
        // Watermarks are read outside the hub lock; the reporting thread's own earlier submits
        // are all admitted already, so each watermark covers them.
        let waitFor = touched.map { ($0, $0.admittedCount) }
        lock.withLock {
            let state = sourceState(error.source)
            let item = SourceErrorItem(source: error.source, sequence: state.nextSequence, error: error)
            state.nextSequence += 1
            state.pending.append((item, waitFor))
        }
    }

    /// Says `source` ended: the workers of the stores it submitted to exit once their queues are
    /// empty (see ``EntityDb/releaseWorkerWhenIdle()``); they start again on the next submit.
    public func sourceEnded(_ source: String) {
        let touched = lock.withLock { sources[source]?.touched ?? [] }
        for core in touched { core.releaseWorkerWhenIdle() }
    }

    /// Takes the oldest ready error of `source`, if any. Never blocks.
    public func pollSourceError(from source: String) -> SourceErrorItem? {
        lock.withLock {
            guard let state = sources[source] else { return nil }
            return popReady(state)
        }
    }

    /// Takes the oldest ready error of any source (sources in first-seen order). Never blocks.
    public func pollSourceError() -> SourceErrorItem? {
        lock.withLock {
            for name in sourceOrder {
                if let state = sources[name], let item = popReady(state) { return item }
            }
            return nil
        }
    }

    /// `lock` held.
    private func popReady(_ state: SourceState) -> SourceErrorItem? {
        guard let first = state.pending.first else { return nil }
        for (core, target) in first.waitFor where !core.isHandled(before: target) { return nil }
        return state.pending.removeFirst().item
    }

    // MARK: stores

    /// The ids of every store, in first-seen order, optionally only those of one kind.
    public func storeIds(kind: StoreKind? = nil) -> [StoreId] {
        lock.withLock { kind.map { k in order.filter { $0.kind == k } } ?? order }
    }

    /// The store with `id`, if the hub holds it.
    public func store(_ id: StoreId) -> EntityDb? {
        lock.withLock { stores[id] }
    }

    /// Every store, in first-seen order.
    public var allStores: [EntityDb] {
        lock.withLock { order.compactMap { stores[$0] } }
    }

    /// Removes a store and shuts it down (see ``EntityDb/shutdown(drain:)``). A later message
    /// for the same id creates a new, empty store.
    /// - Returns: the removed store (its remaining outputs can still be polled), or `nil`.
    @discardableResult
    public func remove(_ id: StoreId, drain: Bool) -> EntityDb? {
        let db: EntityDb? = lock.withLock {
            guard let db = stores.removeValue(forKey: id) else { return nil }
            order.removeAll { $0 == id }
            // Later errors of its sources no longer wait for it (its shutdown settles it anyway).
            let key = ObjectIdentifier(db.core)
            for state in sources.values where state.touchedIds.remove(key) != nil {
                state.touched.removeAll { $0 === db.core }
                if state.lastTouched == key { state.lastTouched = nil }
            }
            return db
        }
        db?.shutdown(drain: drain)
        return db
    }

    // MARK: output

    /// Hands ready outputs of every store to `body`, round-robin across stores starting after
    /// the store the previous call ended on, until nothing is ready or a budget is spent. Per
    /// store the order is the admission order; across stores there is none.
    /// - Returns: the number of items handed out.
    @discardableResult
    public func drain<E: Error>(
        maxItems: Int = .max, timeBudget: Duration? = nil, _ body: (EntityDb, IngestOutput) throws(E) -> Void
    ) throws(E) -> Int {
        let deadline = timeBudget.map { MonotonicClock.deadline(after: $0) }
        let (dbs, start) = lock.withLock { (order.compactMap { stores[$0] }, drainCursor) }
        guard !dbs.isEmpty else { return 0 }
        var n = 0
        var idle = 0
        var i = start % dbs.count
        while n < maxItems && idle < dbs.count {
            if let item = dbs[i].poll() {
                idle = 0
                n += 1
                try body(dbs[i], item)
                if let deadline, MonotonicClock.now() >= deadline { break }
            } else {
                idle += 1
            }
            i = (i + 1) % dbs.count
        }
        let next = i
        lock.withLock { drainCursor = next }
        return n
    }

    /// Returns once everything submitted to any store before the call has come out.
    public func flush() {
        for db in allStores { db.flush() }
    }

    /// ``flush()`` with a deadline; `false` if it passed first.
    @discardableResult
    public func flush(timeout: Duration) -> Bool {
        let deadline = MonotonicClock.deadline(after: timeout)
        for db in allStores where !db.core.flush(deadline: deadline) { return false }
        return true
    }

    /// Refuses further submits and shuts every store down (see ``EntityDb/shutdown(drain:)``),
    /// joining their workers. The stores stay listed so their outputs can still be polled.
    public func shutdown(drain: Bool) {
        let dbs = lock.withLock {
            closed = true
            return order.compactMap { stores[$0] }
        }
        for db in dbs { db.shutdown(drain: drain) }
        outputSignal.notify()
    }

    /// Whether ``shutdown(drain:)`` was called.
    public var isShutDown: Bool { lock.withLock { closed } }

    /// A snapshot of every store's figures and their totals (latency percentiles over all stores).
    /// Takes each store's locks briefly, one store at a time.
    public var statistics: HubStatistics {
        let dbs = allStores
        var merged = LatencyHistogram()
        for db in dbs { merged.add(db.core.latencyHistogram()) }
        return HubStatistics(stores: dbs.map(\.statistics), latency: LatencySummary(merged))
    }
}
