import IngestTestSupport
import Ingestion
import RRD
import Testing

@Suite("Swift concurrency: async outputs and suspending submits")
struct AsyncTests {
    @Test("a store's outputs as an AsyncSequence come in admission order and end after shutdown")
    func storeSequence() async throws {
        let store = M.storeId(3)
        let db = EntityDb(storeId: store, configuration: IngestConfiguration(queueCapacity: 4))
        let producer = Task {
            for i in 0..<200 { try await db.submitAsync(M.arrow(store, offset: UInt64(i)), source: "a") }
            try await db.submitAsync(M.storeInfo(store, offset: 200), source: "a")
        }
        var offsets: [UInt64] = []
        for await item in db.outputs {
            offsets.append(item.offset)
            if offsets.count == 201 { break }
        }
        try await producer.value
        #expect(offsets == Array(0...200))
        db.shutdown(drain: true)
        var rest = 0
        for await _ in db.outputs { rest += 1 }  // ends: shut down and drained
        #expect(rest == 0)
    }

    @Test(
        "async submits suspend on a full queue without blocking the pool, and resume in order of room",
        .enabled(if: !StoreHub.isSynchronous))
    func suspendingSubmit() async throws {
        let store = M.storeId(4)
        let gate = WorkerGate()
        let db = EntityDb(storeId: store, configuration: IngestConfiguration(queueCapacity: 1).gated(by: gate))
        try await db.submitAsync(M.arrow(store, offset: 0), source: "s")
        #expect(gate.waitForArrivals(1, timeout: deadline))
        try await db.submitAsync(M.arrow(store, offset: 1), source: "s")  // fills the one slot
        // More suspended submitters than the pool has threads: none may block one.
        let tasks = (0..<16).map { i in
            Task { try await db.submitAsync(M.arrow(store, offset: UInt64(100 + i)), source: "t\(i)") }
        }
        #expect(await eventually(timeout: deadline) { db.statistics.waitingProducers == 16 })
        // The pool is still free: a trivial task runs to completion.
        #expect(await Task { 42 }.value == 42)
        #expect(db.statistics.admitted == 2)
        gate.open()
        var seqs: [UInt64] = []
        for t in tasks { seqs.append(try await t.value) }
        #expect(Set(seqs) == Set(2..<18))
        var out: [UInt64] = []
        for await item in db.outputs {
            out.append(item.sequence)
            if out.count == 18 { break }
        }
        #expect(out == Array(0..<18))
        #expect(db.statistics.producerBlockedNanoseconds > 0)
        db.shutdown(drain: true)
    }

    @Test(
        "shutdown resumes suspended submits with closed and ends waiting iterators",
        .enabled(if: !StoreHub.isSynchronous))
    func shutdownWakes() async throws {
        let store = M.storeId(5)
        let gate = WorkerGate()
        let hub = StoreHub(configuration: IngestConfiguration(queueCapacity: 1).gated(by: gate))
        try await hub.submitAsync(M.arrow(store, offset: 0), source: "s")
        #expect(gate.waitForArrivals(1, timeout: deadline))
        try await hub.submitAsync(M.arrow(store, offset: 1), source: "s")
        let blocked = Task { () async -> IngestError.Code? in
            do {
                try await hub.submitAsync(M.arrow(store, offset: 2), source: "s")
                return nil
            } catch let error as IngestError {
                return error.code
            } catch {
                return nil
            }
        }
        let consumer = Task { () async -> Int in
            var n = 0
            for await _ in hub.outputs { n += 1 }
            return n
        }
        #expect(await eventually(timeout: deadline) { hub.statistics.waitingProducers == 1 })
        let stopper = TestThread { hub.shutdown(drain: false) }  // joins the worker: not on the pool
        // Open the gate only once the store is closed: room freed earlier would admit the submit.
        #expect(await eventually(timeout: deadline) { hub.store(store)?.isShutDown == true })
        gate.open()
        #expect(await blocked.value == .closed)
        let n = await consumer.value
        #expect(n <= 2)
        #expect(stopper.waitUntilFinished(timeout: deadline))
        stopper.join()
    }
}
