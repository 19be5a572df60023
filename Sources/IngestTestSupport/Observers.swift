import Ingestion

extension EntityDb {
    /// Waits until at least `count` producers are blocked (threads) or suspended (tasks) on this
    /// store's full input queue; `false` if `timeout` passed first. Looks every millisecond:
    /// the deadline only bounds a failing test.
    public func waitForBlockedProducers(_ count: Int, timeout: Duration) -> Bool {
        waitUntil(timeout: timeout) { statistics.waitingProducers >= count }
    }

    /// Waits until exactly `depth` messages wait in the input queue; `false` on timeout.
    public func waitForQueueDepth(_ depth: Int, timeout: Duration) -> Bool {
        waitUntil(timeout: timeout) { statistics.queuedMessages == depth }
    }

    /// Flushes (with a deadline) and polls every ready output.
    /// - Returns: the outputs, or `nil` if the flush did not finish in time.
    public func flushAndPollAll(timeout: Duration) -> [IngestOutput]? {
        guard flush(timeout: timeout) else { return nil }
        var out: [IngestOutput] = []
        while let item = poll() { out.append(item) }
        return out
    }
}
