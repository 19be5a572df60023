import IngestCore
import IngestTestSupport
import Chunks
import Ingestion
import RRD
import Store
import Testing

@Suite("Memory budget counts the payloads waiting in the queue")
struct QueueBytesBudgetTests {
    private func payloadBytes(_ message: FramedMessage) -> Int {
        if case .arrowMsg(let arrow) = message.message { return arrow.payload.count }
        return 0
    }

    @Test(
        "messages waiting in the input queue count against the store's budget until the worker takes them",
        .enabled(if: !StoreHub.isSynchronous))
    func queuedBytesCountAgainstTheBudget() throws {
        let store = SyntheticMessages.storeId(7)
        let gate = WorkerGate()  // closed: the worker parks before decoding its first message
        let config = IngestConfiguration(chunkStore: ChunkStoreConfiguration(memoryBudget: 1 << 30))
            .gated(by: gate)
        let db = EntityDb(storeId: store, configuration: config)
        let first = SyntheticChunks.chunk(store, offset: 0, chunk: 1, rows: 4)
        try db.submit(first, source: "t")
        #expect(gate.waitForArrivals(1, timeout: .seconds(10)))
        // The worker holds the first message; the next ones wait in the queue.
        #expect(db.chunkStore.statistics.queuedBytes == 0)
        let waiting = (2...4).map { SyntheticChunks.chunk(store, offset: UInt64($0) * 100, chunk: UInt64($0), rows: 4) }
        for m in waiting { try db.submit(m, source: "t") }
        #expect(db.chunkStore.statistics.queuedBytes == waiting.map(payloadBytes).reduce(0, +))
        gate.open()
        #expect(db.flushAndPollAll(timeout: .seconds(10))?.count == 4)
        #expect(db.chunkStore.statistics.queuedBytes == 0)
        #expect(db.chunkStore.statistics.chunks == 4)
        db.shutdown(drain: true)
    }

    @Test("a budget smaller than a burst: old chunks make room for what waits, and the store ends within it")
    func burstLargerThanTheBudget() throws {
        let store = SyntheticMessages.storeId(9)
        let messages = (1...40).map {
            SyntheticChunks.chunk(store, offset: UInt64($0) * 100, chunk: UInt64($0), rows: 4)
        }
        // One store's worth without a budget, to size the budget at about a quarter of it.
        let probeStore = SyntheticMessages.storeId(10)
        let probe = EntityDb(storeId: probeStore)
        for k in UInt64(1)...4 {
            try probe.submit(SyntheticChunks.chunk(probeStore, offset: k * 100, chunk: k, rows: 4), source: "p")
        }
        #expect(probe.flushAndPollAll(timeout: .seconds(10))?.count == 4)
        let perChunk = probe.chunkStore.statistics.approximateBytes / 4
        probe.shutdown(drain: true)

        let budget = perChunk * 10
        let db = EntityDb(
            storeId: store, configuration: IngestConfiguration(chunkStore: ChunkStoreConfiguration(memoryBudget: budget)))
        try db.submit(contentsOf: messages, source: "t")
        #expect(db.flushAndPollAll(timeout: .seconds(10))?.count == 40)
        let stats = db.chunkStore.statistics
        #expect(stats.queuedBytes == 0)
        #expect(stats.approximateBytes <= budget)
        #expect(stats.chunks > 0 && stats.chunks <= 10)
        #expect(stats.chunksCollected == 40 - stats.chunks)
        // The newest chunk is always kept: nothing newer waited when it was inserted.
        #expect(db.chunkStore.allChunks().map(\.numRows).reduce(0, +) == 4 * stats.chunks)
        db.shutdown(drain: true)
    }
}
