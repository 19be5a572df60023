import IngestCore
import IngestTestSupport
import Ingestion
import RRD
import Testing

// The README's backpressure test: written against IngestTestSupport only (under 30 lines).
@Test("exact backpressure and per-store order", .enabled(if: !StoreHub.isSynchronous))
func exactBackpressureAndOrder() throws {
    let (a, b) = (SyntheticMessages.storeId(1), SyntheticMessages.storeId(2))
    let gate = WorkerGate()  // closed: a's worker parks before decoding
    let hub = StoreHub(configuration: .init(queueCapacity: 3).gated(by: gate, where: { $0.storeId == a }))
    let chunk = { @Sendable (s: StoreId, n: UInt64) in SyntheticChunks.chunk(s, offset: n, chunk: n, rows: 2) }
    try hub.submit(chunk(a, 0), source: "t")
    #expect(gate.waitForArrivals(1, timeout: .seconds(10)))  // chunk 0 is out of the queue, at the gate
    for n: UInt64 in 1...3 { try hub.trySubmit(chunk(a, n), source: "t") }  // fills exactly 3 slots
    #expect(throws: IngestError.self) { try hub.trySubmit(chunk(a, 99), source: "t") }
    let producer = TestThread { _ = try? hub.submit(chunk(a, 4), source: "t") }
    let storeA = try #require(hub.store(a))
    #expect(storeA.waitForBlockedProducers(1, timeout: .seconds(10)))
    #expect(storeA.statistics.queuedMessages == 3 && !producer.isFinished)
    for n: UInt64 in 0..<10 { try hub.submit(chunk(b, n), source: "t") }  // b is not held up by a
    #expect(hub.store(b)?.flushAndPollAll(timeout: .seconds(10))?.map(\.offset) == Array(0..<10))
    gate.open()
    #expect(producer.waitUntilFinished(timeout: .seconds(10)))
    producer.join()
    #expect(storeA.flushAndPollAll(timeout: .seconds(10))?.map(\.offset) == [0, 1, 2, 3, 4])
    #expect(storeA.statistics.queueHighWater == 3 && storeA.statistics.producerBlockedNanoseconds > 0)
    hub.shutdown(drain: true)
}
