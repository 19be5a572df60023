import IngestCore
import IngestTestSupport
import Ingestion
import RRD
import Testing

/// Exact backpressure of the threaded build. A closed ``WorkerGate`` parks the worker inside its
/// first decode, so the queue contents are known exactly while the test fills it.
@Suite("Backpressure (threaded build)", .enabled(if: !StoreHub.isSynchronous))
struct BackpressureTests {
    let store = M.storeId(7)

    /// A store whose worker is parked at a closed gate, holding message `offset` 0, with an
    /// empty input queue.
    func parkedStore(capacity: Int = 2000, maxBytes: Int? = nil) throws -> (EntityDb, WorkerGate) {
        let gate = WorkerGate()
        let db = EntityDb(
            storeId: store,
            configuration: IngestConfiguration(queueCapacity: capacity, maxQueuedBytes: maxBytes).gated(by: gate))
        try db.submit(M.arrow(store, offset: 0), source: "bp")
        #expect(gate.waitForArrivals(1, timeout: deadline))
        #expect(db.statistics.queuedMessages == 0)
        return (db, gate)
    }

    @Test("with capacity N, submission N+1 blocks until the worker dequeues, and not before", arguments: [1, 3, 16])
    func slotBound(capacity: Int) throws {
        let (db, gate) = try parkedStore(capacity: capacity)
        for i in 1...capacity { try db.trySubmit(M.arrow(store, offset: UInt64(i)), source: "bp") }
        #expect(db.statistics.queuedMessages == capacity)
        #expect(ingestError { try db.trySubmit(M.arrow(store, offset: 999), source: "bp") }?.code == .full)

        let extra = UInt64(capacity + 1)
        let producer = TestThread { _ = try? db.submit(M.arrow(store, offset: extra), source: "bp") }
        #expect(waitUntil(timeout: deadline) { db.statistics.waitingProducers == 1 })
        pauseToShowBlocking()
        #expect(!producer.isFinished, "N+1 must stay blocked while nothing is dequeued")
        #expect(db.statistics.admitted == UInt64(capacity + 1))

        gate.open()
        #expect(producer.waitUntilFinished(timeout: deadline))
        producer.join()
        let out = flushAndCollect(db)
        #expect(out.map(\.offset) == Array(0...extra))
        #expect(db.statistics.producerBlockedNanoseconds > 0)
        db.shutdown(drain: true)
    }

    @Test("the byte bound blocks like the slot bound; bytes-free control messages still pass")
    func byteBound() throws {
        let (db, gate) = try parkedStore(maxBytes: 100)
        try db.trySubmit(M.arrow(store, offset: 1, payloadBytes: 60), source: "bp")
        try db.trySubmit(M.arrow(store, offset: 2, payloadBytes: 40), source: "bp")
        #expect(db.statistics.queuedBytes == 100)
        #expect(
            ingestError { try db.trySubmit(M.arrow(store, offset: 3, payloadBytes: 1), source: "bp") }?.code == .full)
        try db.trySubmit(M.storeInfo(store, offset: 4), source: "bp")

        let producer = TestThread { _ = try? db.submit(M.arrow(store, offset: 5, payloadBytes: 10), source: "bp") }
        #expect(waitUntil(timeout: deadline) { db.statistics.waitingProducers == 1 })
        pauseToShowBlocking()
        #expect(!producer.isFinished)
        gate.open()
        #expect(producer.waitUntilFinished(timeout: deadline))
        producer.join()
        #expect(flushAndCollect(db).map(\.offset) == [0, 1, 2, 4, 5])
        db.shutdown(drain: true)
    }

    @Test("a message larger than the byte bound is admitted alone into an empty queue")
    func oversizedMessageAlone() throws {
        let (db, gate) = try parkedStore(maxBytes: 100)
        try db.trySubmit(M.arrow(store, offset: 1, payloadBytes: 500), source: "bp")
        #expect(
            ingestError { try db.trySubmit(M.arrow(store, offset: 2, payloadBytes: 1), source: "bp") }?.code == .full)
        gate.open()
        #expect(flushAndCollect(db).map(\.offset) == [0, 1])
        db.shutdown(drain: true)
    }

    @Test("a timed submit gives up with timedOut after its timeout, not before")
    func timeout() throws {
        let (db, gate) = try parkedStore(capacity: 1)
        try db.trySubmit(M.arrow(store, offset: 1), source: "bp")
        let clock = ContinuousClock()
        let start = clock.now
        let error = ingestError { try db.submit(M.arrow(store, offset: 2), source: "bp", timeout: .milliseconds(80)) }
        #expect(error?.code == .timedOut)
        #expect(error?.offset == 2)
        #expect(clock.now - start >= .milliseconds(80))
        gate.open()
        #expect(flushAndCollect(db).map(\.offset) == [0, 1], "the timed-out message was not admitted")
        db.shutdown(drain: true)
    }

    @Test("shutdown wakes every blocked producer with closed, even while the worker is busy")
    func shutdownWakesProducers() throws {
        let (db, gate) = try parkedStore(capacity: 1)
        try db.trySubmit(M.arrow(store, offset: 1), source: "bp")
        let results = ResultBox()
        let producers = (0..<3).map { i in
            TestThread {
                results.append(ingestError { try db.submit(M.arrow(store, offset: UInt64(10 + i)), source: "bp") })
            }
        }
        #expect(waitUntil(timeout: deadline) { db.statistics.waitingProducers == 3 })
        let closer = TestThread { db.shutdown(drain: false) }
        for p in producers {
            #expect(p.waitUntilFinished(timeout: deadline), "woken before the worker finished its decode")
        }
        #expect(!closer.isFinished, "shutdown joins the worker, which is still parked at the gate")
        gate.open()
        #expect(closer.waitUntilFinished(timeout: deadline))
        closer.join()
        for p in producers { p.join() }
        #expect(results.codes == [.closed, .closed, .closed])
        let stats = db.statistics
        #expect(stats.handled == 2)
        #expect(stats.discarded == 1, "the queued message was discarded, the parked one finished")
    }

    @Test("a full, stuck store delays no other store (through the hub)")
    func noHeadOfLineBlocking() throws {
        let gate = WorkerGate()
        let stuck = M.storeId(1)
        let free = M.storeId(2)
        let hub = StoreHub(
            configuration: IngestConfiguration(queueCapacity: 2).gated(by: gate) { $0.storeId == stuck })
        try hub.submit(M.arrow(stuck, offset: 0), source: "a")
        #expect(gate.waitForArrivals(1, timeout: deadline))
        try hub.submit(M.arrow(stuck, offset: 1), source: "a")
        try hub.submit(M.arrow(stuck, offset: 2), source: "a")
        let blocked = TestThread { _ = try? hub.submit(M.arrow(stuck, offset: 3), source: "a") }
        #expect(waitUntil(timeout: deadline) { hub.store(stuck)?.statistics.waitingProducers == 1 })

        for i in 0..<50 { try hub.submit(M.arrow(free, offset: UInt64(i)), source: "b") }
        let freeDb = try #require(hub.store(free))
        #expect(freeDb.flush(timeout: deadline))
        #expect(flushAndCollect(freeDb).count == 50)
        #expect(hub.store(stuck)?.flush(timeout: .milliseconds(20)) == false)
        #expect(!blocked.isFinished)

        gate.open()
        #expect(blocked.waitUntilFinished(timeout: deadline))
        blocked.join()
        #expect(flushAndCollect(try #require(hub.store(stuck))).map(\.offset) == [0, 1, 2, 3])
        hub.shutdown(drain: true)
    }
}

/// Collects results from test threads.
final class ResultBox: Sendable {
    private let errors = Locked([IngestError?]())
    func append(_ e: IngestError?) { errors.withLock { $0.append(e) } }
    var codes: [IngestError.Code?] { errors.withLock { $0.map { $0?.code } } }
}
