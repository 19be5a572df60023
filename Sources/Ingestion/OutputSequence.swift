/// Where an ``OutputItems`` sequence takes its items: a store, or every store of a hub.
protocol OutputSource<Item>: Sendable {
    associatedtype Item: Sendable
    /// The next ready item, if any; never blocks.
    func pollOutput() -> Item?
    /// No item will come any more (those ready may still be polled).
    var outputsEnded: Bool { get }
    /// An item is ready, or the outputs ended.
    var hasOutputOrEnded: Bool { get }
    /// Notified by publishers and when the outputs end.
    var outputSignal: OutputSignal { get }
}

/// Output items as an `AsyncSequence`: ``EntityDb/outputs`` (a store's items) and
/// ``StoreHub/outputs`` (every store's, with the store).
///
/// Waiting for the next item suspends the task (no thread blocks); a publisher resumes it. The
/// sequence ends once its source was shut down and every handled item was taken, or when the
/// iterating task is cancelled. Items are taken from the same queues as `poll`: iterate from one
/// task, or share the items between consumers.
public struct OutputItems<Element: Sendable>: AsyncSequence, Sendable {
    /// Iterating never throws: errors are items (``IngestEvent/error(_:)``), not failures.
    public typealias Failure = Never
    let source: any OutputSource<Element>

    /// Creates the iterator.
    public func makeAsyncIterator() -> Iterator { Iterator(source: source) }

    /// Takes items as they come out.
    public struct Iterator: AsyncIteratorProtocol {
        /// ``next()`` never throws.
        public typealias Failure = Never
        let source: any OutputSource<Element>

        /// The next item, or `nil` once the source was shut down and drained (or on cancellation).
        public mutating func next() async -> Element? {
            let source = self.source
            while true {
                if let item = source.pollOutput() { return item }
                if source.outputsEnded || Task.isCancelled { return source.pollOutput() }
                await source.outputSignal.wait { source.hasOutputOrEnded }
            }
        }
    }
}

extension EntityCore: OutputSource {
    func pollOutput() -> IngestOutput? { poll() }
    var hasOutputOrEnded: Bool { hasOutput || outputsEnded }
}
