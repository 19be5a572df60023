import IngestTestSupport
import Ingestion
import RRD
import Store
import Testing

@Suite("Memory budget counts the payloads waiting in the queue")
struct QueueBytesBudgetTests {
    @Test("a batch's payload bytes count against the store's budget until it is handled", .enabled(if: !StoreHub.isSynchronous))
    func queuedBytesCountAgainstTheBudget() throws {
        let store = SyntheticMessages.storeId(7)
        let gate = WorkerGate()  // closed: the worker parks after taking its batch, before decoding
        let config = IngestConfiguration(chunkStore: ChunkStoreConfiguration(memoryBudget: 1 << 30))
            .gated(by: gate, where: { $0.storeId == store })
        let db = EntityDb(storeId: store, configuration: config)
        let message = SyntheticChunks.chunk(store, offset: 0, chunk: 1, rows: 4)
        guard case .arrowMsg(let arrow) = message.message else { Issue.record("not an ArrowMsg"); return }
        try db.submit(message, source: "t")
        #expect(gate.waitForArrivals(1, timeout: .seconds(10)))
        #expect(db.chunkStore.statistics.externalBytes == arrow.payload.count)
        gate.open()
        #expect(db.flushAndPollAll(timeout: .seconds(10))?.count == 1)
        #expect(db.chunkStore.statistics.externalBytes == 0)
        #expect(db.chunkStore.statistics.chunks == 1)
        db.shutdown(drain: true)
    }

    @Test("without a budget nothing is reserved")
    func noBudgetNoReservation() throws {
        let store = SyntheticMessages.storeId(8)
        let db = EntityDb(storeId: store)
        try db.submit(SyntheticChunks.chunk(store, offset: 0, chunk: 1, rows: 4), source: "t")
        #expect(db.flushAndPollAll(timeout: .seconds(10))?.count == 1)
        #expect(db.chunkStore.statistics.externalBytes == 0)
        db.shutdown(drain: true)
    }
}
