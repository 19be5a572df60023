import IngestTestSupport
import Ingestion
import RRD
import Testing

@Suite("Statistics per store and for the hub")
struct StatisticsTests {
    @Test("messages and bytes in/out, latency and processing time add up", arguments: [1, 7, 100])
    func countsAddUp(count: Int) throws {
        let hub = StoreHub()
        let stores = (0..<3).map { M.storeId($0) }
        var payload = [0, 0, 0]
        for i in 0..<count {
            for (s, id) in stores.enumerated() {
                try hub.submit(M.arrow(id, offset: UInt64(i), payloadBytes: 10 + i + s), source: "st")
                payload[s] += 10 + i + s
            }
        }
        #expect(hub.flush(timeout: deadline))
        let st = hub.statistics
        #expect(st.stores.map(\.storeId) == stores)
        for (s, one) in st.stores.enumerated() {
            #expect(one.admitted == UInt64(count))
            #expect(one.messagesOut == UInt64(count))
            #expect(one.bytesIn == UInt64(payload[s]))
            #expect(one.latency.count == UInt64(count))
            #expect(one.latency.p50Nanoseconds <= one.latency.p99Nanoseconds)
            #expect(one.latency.p99Nanoseconds <= one.latency.maxNanoseconds)
            #expect(one.latency.maxNanoseconds > 0)
            #expect(one.processNanoseconds > 0)
            #expect(one.queueHighWater >= 1 && one.queueHighWater <= count)
        }
        #expect(st.messagesIn == UInt64(3 * count))
        #expect(st.messagesOut == UInt64(3 * count))
        #expect(st.bytesIn == UInt64(payload.reduce(0, +)))
        #expect(st.latency.count == UInt64(3 * count))
        #expect(st.latency.maxNanoseconds == st.stores.map(\.latency.maxNanoseconds).max())
        hub.shutdown(drain: true)
    }

    @Test("queue depth and its high-water mark follow a parked worker exactly", .enabled(if: !StoreHub.isSynchronous))
    func highWater() throws {
        let store = M.storeId(1)
        let gate = WorkerGate()
        let db = EntityDb(storeId: store, configuration: IngestConfiguration(queueCapacity: 10).gated(by: gate))
        try db.submit(M.arrow(store, offset: 0), source: "hw")
        #expect(gate.waitForArrivals(1, timeout: deadline))
        for i in 1...6 { try db.trySubmit(M.arrow(store, offset: UInt64(i)), source: "hw") }
        var st = db.statistics
        #expect(st.queuedMessages == 6)
        #expect(st.queueHighWater == 6)
        #expect(st.messagesOut == 0)
        gate.open()
        #expect(db.flush(timeout: deadline))
        st = db.statistics
        #expect(st.queuedMessages == 0)
        #expect(st.queueHighWater == 6)
        #expect(st.messagesOut == 7)
        // The first message waited at the gate at least as long as the test took to fill the queue.
        #expect(st.latency.maxNanoseconds > 0)
        db.shutdown(drain: true)
    }
}
