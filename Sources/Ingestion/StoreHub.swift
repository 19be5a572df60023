import DequeModule
import IngestCore
import RRD

/// One item of the hub's per-source error stream: an error that belongs to no store.
public struct SourceErrorItem: Sendable {
    /// The producer's label for the input.
    public var source: String
    /// 0, 1, 2, … per source, in the order the errors were reported.
    public var sequence: UInt64
    /// The error (``IngestError/Code/stream`` wraps an ``/RRD/RRDError``).
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
public final class StoreHub: Sendable {
    /// Whether the library was built with the `SynchronousIngestion` trait: no threads; `submit`
    /// decodes inline and never blocks; outputs are ready at once. SwiftPM unites traits across
    /// a dependency graph, so one package enabling the trait makes every client synchronous.
    public static var isSynchronous: Bool { DefaultExecutor.isInline }

    /// The configuration every store is created with.
    public let configuration: IngestConfiguration

    /// What the hub knows of one source (a producer's label).
    struct SourceState {
        /// Stores this source submitted to (the watermarks of its errors), in first-touched order.
        var touched: [StoreCore] = []
        var touchedIds = Set<ObjectIdentifier>()
        /// The store of its latest submit (most submits go to the same store as the one before).
        var lastTouched: ObjectIdentifier?
        /// Its errors not yet polled, each with the watermarks it waits for.
        var pending = Deque<(item: SourceErrorItem, waitFor: [(StoreCore, UInt64)])>()
        var nextErrorSequence: UInt64 = 0

        mutating func touch(_ core: StoreCore) {
            let key = ObjectIdentifier(core)
            guard lastTouched != key else { return }
            lastTouched = key
            if touchedIds.insert(key).inserted { touched.append(core) }
        }

        mutating func forget(_ core: StoreCore) {
            let key = ObjectIdentifier(core)
            guard touchedIds.remove(key) != nil else { return }
            touched.removeAll { $0 === core }
            if lastTouched == key { lastTouched = nil }
        }

        /// Takes the oldest error once every watermark it waits for was handled.
        mutating func popReady() -> SourceErrorItem? {
            guard let first = pending.first else { return nil }
            for (core, target) in first.waitFor where !core.isHandled(before: target) { return nil }
            return pending.removeFirst().item
        }
    }

    /// Everything the hub's lock guards.
    struct HubState {
        var stores: [StoreId: EntityDb] = [:]
        /// Store ids in first-seen order.
        var order: [StoreId] = []
        var sources: [String: SourceState] = [:]
        /// Source labels in first-seen order.
        var sourceOrder: [String] = []
        var isShutDown = false
        /// Where the next ``StoreHub/drain(maxItems:timeBudget:_:)`` starts.
        var drainCursor = 0

        /// Runs `body` on the state of `source`, created on first sight.
        mutating func withSource<R>(_ source: String, _ body: (inout SourceState) -> R) -> R {
            if sources[source] == nil {
                sources[source] = SourceState()
                sourceOrder.append(source)
            }
            return body(&sources[source]!)
        }

        var allStores: [EntityDb] { order.compactMap { stores[$0] } }
    }

    private let state = Locked(HubState())
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

    /// The store for `message` (created on first sight), or `nil` for `End`.
    func route(_ message: borrowing FramedMessage, source: String) throws(IngestError) -> EntityDb? {
        guard message.message.kind != .end, let id = message.message.storeId else { return nil }
        let db: EntityDb? = state.withLock { hub in
            if hub.isShutDown { return nil }
            let db: EntityDb
            if let existing = hub.stores[id] {
                db = existing
            } else {
                db = EntityDb(storeId: id, configuration: configuration, hubSignal: outputSignal)
                hub.stores[id] = db
                hub.order.append(id)
            }
            hub.withSource(source) { $0.touch(db.core) }
            return db
        }
        guard let db else {
            throw IngestError(.closed, source: source, offset: message.offset, "the store hub is shut down")
        }
        return db
    }

    /// Routes `message` to its store's input queue, blocking while that queue is full.
    /// - Returns: its sequence number in its store, or `nil` for `End` (which belongs to no store).
    /// - Throws: ``IngestError/Code/closed`` when the hub or the store is shut down.
    @discardableResult
    public func submit(_ message: FramedMessage, source: String) throws(IngestError) -> UInt64? {
        try admit(message, source: source, wait: .block)
    }

    /// Routes `message` only if its store's queue has room now.
    /// - Throws: ``IngestError/Code/full``, ``IngestError/Code/closed``.
    @discardableResult
    public func trySubmit(_ message: FramedMessage, source: String) throws(IngestError) -> UInt64? {
        try admit(message, source: source, wait: .never)
    }

    /// Routes `message`, waiting at most `timeout` for room in its store's queue.
    /// - Throws: ``IngestError/Code/timedOut``, ``IngestError/Code/closed``.
    @discardableResult
    public func submit(_ message: FramedMessage, source: String, timeout: Duration) throws(IngestError) -> UInt64? {
        try admit(message, source: source, wait: .until(MonotonicClock.deadline(after: timeout)))
    }

    private func admit(_ message: FramedMessage, source: String, wait: AdmissionWait) throws(IngestError) -> UInt64? {
        guard let db = try route(message, source: source) else { return nil }
        var run = OneMessage(message.message, offset: message.offset)
        return try db.core.admit(&run, source: source, wait: wait).lowerBound
    }

    /// Routes `messages` in order, blocking as needed. Consecutive messages for one store are
    /// admitted together (one lock acquisition and at most one wake-up for as many as fit).
    /// - Throws: like ``submit(_:source:)``; the messages before the failing one stay admitted.
    public func submit(contentsOf messages: some Sequence<FramedMessage>, source: String) throws(IngestError) {
        var iterator = messages.makeIterator()
        var next = iterator.next()
        while let first = next {
            guard let db = try route(first, source: source) else {
                next = iterator.next()  // End belongs to no store
                continue
            }
            // The messages of the same store that follow join the run without routing again (routing
            // them would find the same store and change nothing); the first of another ends it.
            var run = SequenceRun(iterator, mode: .whileSameStore, lookahead: first)
            _ = try db.core.admit(&run, source: source, wait: .block)
            (iterator, next) = run.rest()
        }
    }

    /// Routes the messages of `batch` in order, moving them into their stores' queues (the reader's
    /// hand-off: no copies), blocking as needed; `batch` is empty afterwards. Consecutive messages
    /// for one store are admitted together, like ``submit(contentsOf:source:)``.
    /// - Throws: like ``submit(_:source:)``; the messages before the failing one stay admitted,
    ///   the rest are dropped.
    func submit(moving batch: inout MessageBatch, source: String) throws(IngestError) {
        defer { batch.removeAll() }
        while !batch.isEmpty {
            guard let db = try batch.withItem(0, { m throws(IngestError) in try route(m, source: source) }) else {
                _ = batch.popFirst()  // End belongs to no store
                continue
            }
            // Compared with the first message's id, not the store's: the reader gives every message
            // of a store the same id value, so this is a pointer comparison.
            let id = try batch.withItem(0) { m throws(IngestError) in m.message.storeId ?? db.core.storeId }
            var count = 1
            while count < batch.count, try batch.withItem(count, { m in m.message.belongs(to: id) }) {
                count += 1
            }
            try withUnsafeMutablePointer(to: &batch) { (batch) throws(IngestError) in
                var run = BatchPrefix(batch, count: count)
                _ = try db.core.admit(&run, source: source, wait: .block)
            }
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
        let touched = state.withLock { $0.withSource(error.source) { $0.touched } }
        // Watermarks are read outside the hub lock; the reporting thread's own earlier submits
        // are all admitted already, so each watermark covers them.
        let waitFor = touched.map { ($0, $0.admittedCount) }
        state.withLock { hub in
            hub.withSource(error.source) { source in
                let item = SourceErrorItem(source: error.source, sequence: source.nextErrorSequence, error: error)
                source.nextErrorSequence += 1
                source.pending.append((item, waitFor))
            }
        }
    }

    /// Says `source` ended: the workers of the stores it submitted to exit once their queues are
    /// empty (see ``EntityDb/releaseWorkerWhenIdle()``); they start again on the next submit.
    public func sourceEnded(_ source: String) {
        let touched = state.withLock { $0.sources[source]?.touched ?? [] }
        for core in touched { core.releaseWorkerWhenIdle() }
    }

    /// Takes the oldest ready error of `source`, if any. Never blocks.
    public func pollSourceError(from source: String) -> SourceErrorItem? {
        state.withLock { $0.sources[source]?.popReady() }
    }

    /// Takes the oldest ready error of any source (sources in first-seen order). Never blocks.
    public func pollSourceError() -> SourceErrorItem? {
        state.withLock { hub in
            for name in hub.sourceOrder {
                if let item = hub.sources[name]?.popReady() { return item }
            }
            return nil
        }
    }

    // MARK: stores

    /// The ids of every store, in first-seen order, optionally only those of one kind.
    public func storeIds(kind: StoreKind? = nil) -> [StoreId] {
        state.withLock { hub in kind.map { k in hub.order.filter { $0.kind == k } } ?? hub.order }
    }

    /// The store with `id`, if the hub holds it.
    public func store(_ id: StoreId) -> EntityDb? {
        state.withLock { $0.stores[id] }
    }

    /// Every store, in first-seen order.
    public var allStores: [EntityDb] {
        state.withLock { $0.allStores }
    }

    /// Removes a store and shuts it down (see ``EntityDb/shutdown(drain:)``). A later message
    /// for the same id creates a new, empty store.
    /// - Returns: the removed store (its remaining outputs can still be polled), or `nil`.
    @discardableResult
    public func remove(_ id: StoreId, drain: Bool) -> EntityDb? {
        let db: EntityDb? = state.withLock { hub in
            guard let db = hub.stores.removeValue(forKey: id) else { return nil }
            hub.order.removeAll { $0 == id }
            // Later errors of its sources no longer wait for it (its shutdown settles it anyway).
            for name in hub.sourceOrder { hub.sources[name]?.forget(db.core) }
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
        let (dbs, start) = state.withLock { ($0.allStores, $0.drainCursor) }
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
        state.withLock { $0.drainCursor = next }
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
        let dbs = state.withLock { hub in
            hub.isShutDown = true
            return hub.allStores
        }
        for db in dbs { db.shutdown(drain: drain) }
        outputSignal.notify()
    }

    /// Whether ``shutdown(drain:)`` was called.
    public var isShutDown: Bool { state.withLock { $0.isShutDown } }

    /// A snapshot of every store's figures and their totals (latency percentiles over all stores).
    /// Takes each store's locks briefly, one store at a time.
    public var statistics: HubStatistics {
        let dbs = allStores
        var merged = LatencyHistogram()
        for db in dbs { merged.add(db.core.latencyHistogram()) }
        return HubStatistics(stores: dbs.map(\.statistics), latency: LatencySummary(merged))
    }
}
