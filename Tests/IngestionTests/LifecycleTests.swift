import Foundation
import IngestTestSupport
import Ingestion
import RRD
import Testing

/// Names of this process's threads that are ingestion workers (`ingest-w-<n>`), from
/// `/proc/self/task/*/comm`.
func workerThreadNames() -> [String] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.compactMap { tid in
        guard let comm = try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8) else { return nil }
        let name = comm.trimmingCharacters(in: .whitespacesAndNewlines)
        return name.hasPrefix("ingest-w-") ? name : nil
    }
}

/// Exits the (exit-test child) process with status 2 and a message if `ok` is false.
func check(_ ok: Bool, _ what: String) {
    if !ok {
        FileHandle.standardError.write(Data("thread-count check failed: \(what)\n".utf8))
        exit(2)
    }
}

@Suite("Lifecycle: drain or discard, join, thread count")
struct LifecycleTests {
    let store = M.storeId(3)

    @Test("shutdown(drain: true) processes everything queued before joining", .enabled(if: !StoreHub.isSynchronous))
    func drainOnShutdown() throws {
        let gate = WorkerGate()
        let db = EntityDb(storeId: store, configuration: IngestConfiguration().gated(by: gate))
        try db.submit(M.arrow(store, offset: 0), source: "l")
        #expect(gate.waitForArrivals(1, timeout: deadline))
        for i in 1...5 { try db.submit(M.arrow(store, offset: UInt64(i)), source: "l") }
        let closer = TestThread { db.shutdown(drain: true) }
        gate.open()
        #expect(closer.waitUntilFinished(timeout: deadline))
        closer.join()
        var out: [UInt64] = []
        while let item = db.poll() { out.append(item.offset) }
        #expect(out == [0, 1, 2, 3, 4, 5], "outputs are ready when shutdown returns: no flush needed")
        #expect(db.statistics.discarded == 0)
    }

    @Test("shutdown(drain: false) discards what the worker has not started", .enabled(if: !StoreHub.isSynchronous))
    func discardOnShutdown() throws {
        let gate = WorkerGate()
        let db = EntityDb(storeId: store, configuration: IngestConfiguration().gated(by: gate))
        try db.submit(M.arrow(store, offset: 0), source: "l")
        #expect(gate.waitForArrivals(1, timeout: deadline))
        for i in 1...5 { try db.submit(M.arrow(store, offset: UInt64(i)), source: "l") }
        let closer = TestThread { db.shutdown(drain: false) }
        #expect(waitUntil(timeout: deadline) { db.isShutDown })
        gate.open()
        #expect(closer.waitUntilFinished(timeout: deadline))
        closer.join()
        #expect(db.poll()?.offset == 0)
        #expect(db.poll() == nil)
        let stats = db.statistics
        #expect(stats.discarded == 5)
        #expect(stats.handled == 6)
        #expect(db.flush(timeout: deadline), "a flush after a discarding shutdown returns")
    }

    @Test("flush waits for exactly the messages submitted before it", .enabled(if: !StoreHub.isSynchronous))
    func flushIsABarrier() throws {
        let gate = WorkerGate()
        let db = EntityDb(storeId: store, configuration: IngestConfiguration().gated(by: gate))
        try db.submit(M.arrow(store, offset: 0), source: "l")
        #expect(gate.waitForArrivals(1, timeout: deadline))
        #expect(!db.flush(timeout: .milliseconds(30)), "the parked message has not come out")
        let flusher = TestThread { db.flush() }
        pauseToShowBlocking()
        #expect(!flusher.isFinished)
        gate.open()
        #expect(flusher.waitUntilFinished(timeout: deadline))
        flusher.join()
        #expect(db.statistics.readyOutputs == 1)
        db.shutdown(drain: true)
    }

    @Test(
        "workers are named, one per store, and joined by remove, shutdown and release",
        .enabled(if: !StoreHub.isSynchronous))
    func threadCount() async {
        // In a child process, so that parallel tests' workers cannot disturb the count.
        await #expect(processExitsWith: .success) {
            check(workerThreadNames().isEmpty, "no worker before the first submit")
            let hub = StoreHub()
            for n in 0..<3 { _ = try? hub.submit(M.storeInfo(M.storeId(n), offset: 0), source: "t") }
            hub.flush()
            check(workerThreadNames().count == 3, "one worker per store, got \(workerThreadNames())")
            hub.remove(M.storeId(0), drain: true)
            check(workerThreadNames().count == 2, "remove joins the worker, got \(workerThreadNames())")
            hub.shutdown(drain: false)
            check(workerThreadNames().isEmpty, "shutdown joins every worker, got \(workerThreadNames())")

            do {
                let db = EntityDb(storeId: M.storeId(9))
                _ = try? db.submit(M.storeInfo(M.storeId(9), offset: 0), source: "t")
                db.flush()
                withExtendedLifetime(db) { check(workerThreadNames().count == 1, "lazily started") }
            }
            check(workerThreadNames().isEmpty, "releasing the last reference joins the worker")

            do {
                let hub = StoreHub()
                _ = try? hub.submit(M.storeInfo(M.storeId(1), offset: 0), source: "t")
                hub.flush()
                withExtendedLifetime(hub) { check(workerThreadNames().count == 1, "hub-owned worker") }
            }
            check(workerThreadNames().isEmpty, "releasing the hub joins its workers")
        }
    }

    @Test("the synchronous build starts no thread at all", .enabled(if: StoreHub.isSynchronous))
    func noThreadsWhenSynchronous() async {
        await #expect(processExitsWith: .success) {
            let hub = StoreHub()
            for n in 0..<3 { _ = try? hub.submit(M.arrow(M.storeId(n), offset: 0), source: "t") }
            check(workerThreadNames().isEmpty, "no worker threads")
            check(hub.allStores.allSatisfy { $0.statistics.readyOutputs == 1 }, "outputs ready at once")
        }
    }
}
