import RRD

/// One output item of a hub's ``StoreHub/outputs`` sequence: the store it came from and the item.
public struct StoreOutput: Sendable {
    /// The store the item came out of.
    public let store: EntityDb
    /// The item (per store, in admission order).
    public let output: IngestOutput
}

extension EntityDb {
    /// The store's output items as an `AsyncSequence`, in admission order, for an `async` loop.
    ///
    /// Waiting for the next item suspends the task (no thread blocks); the worker resumes it when
    /// it publishes. The sequence ends once the store is shut down and every handled item was
    /// taken, or when the iterating task is cancelled. Items are taken from the same queue as
    /// ``poll()``: iterate from one task, or share the items between consumers.
    ///
    /// ```swift
    /// for await item in db.outputs { handle(item) }   // ends after db.shutdown(drain:)
    /// ```
    public var outputs: OutputSequence { OutputItems(source: core) }

    /// The `AsyncSequence` of ``EntityDb/outputs``.
    public typealias OutputSequence = OutputItems<IngestOutput>

    /// Admits `message`, suspending the task (not blocking its thread) while the input queue is
    /// full; the worker resumes it when it frees room. Safe on the cooperative pool.
    /// - Returns: its sequence number in this store.
    /// - Throws: ``IngestError/Code/closed`` if the store is (or, while suspended, gets) shut down;
    ///   ``IngestError/Code/wrongStore``.
    /// - Note: a suspended submit waits for room or a shutdown even if its task is cancelled.
    @discardableResult
    public func submitAsync(_ message: FramedMessage, source: String) async throws(IngestError) -> UInt64 {
        try checkStore(message, source: source)
        return try await core.admitAsync(message.message, source: source, offset: message.offset)
    }
}

extension StoreHub: OutputSource {
    /// Every store's output items as one `AsyncSequence` (round-robin across stores, per store in
    /// admission order), including stores created while it runs.
    ///
    /// Waiting suspends the task; any store's worker resumes it when it publishes. The sequence
    /// ends once the hub is shut down and every store's items were taken, or on cancellation.
    public var outputs: OutputSequence { OutputItems(source: self) }

    /// The `AsyncSequence` of ``StoreHub/outputs``.
    public typealias OutputSequence = OutputItems<StoreOutput>

    /// Routes `message` to its store, suspending the task (not blocking its thread) while that
    /// store's queue is full.
    /// - Returns: its sequence number in its store, or `nil` for `End`.
    /// - Throws: ``IngestError/Code/closed`` when the hub or the store is shut down.
    @discardableResult
    public func submitAsync(_ message: FramedMessage, source: String) async throws(IngestError) -> UInt64? {
        guard let db = try route(message, source: source) else { return nil }
        return try await db.core.admitAsync(message.message, source: source, offset: message.offset)
    }

    /// One ready item of any store (round-robin), if any.
    func pollOutput() -> StoreOutput? {
        var result: StoreOutput?
        drain(maxItems: 1) { db, item in result = StoreOutput(store: db, output: item) }
        return result
    }

    /// The hub is shut down and every store's outputs ended and were taken.
    var outputsEnded: Bool {
        isShutDown && allStores.allSatisfy { $0.core.outputsEnded && !$0.core.hasOutput }
    }

    /// Some store has output ready, or the outputs ended.
    var hasOutputOrEnded: Bool {
        allStores.contains { $0.core.hasOutput } || outputsEnded
    }
}
