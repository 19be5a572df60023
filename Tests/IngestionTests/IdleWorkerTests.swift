import Foundation
import IngestCore
import IngestTestSupport
import Ingestion
import RRD
import Testing

@Suite("Idle workers exit and come back on demand")
struct IdleWorkerTests {
    @Test(
        "64 stores idle out and come back on demand, nothing lost or reordered", .enabled(if: !StoreHub.isSynchronous))
    func sixtyFourStores() async {
        // In a child process, so that parallel tests' workers cannot disturb the thread count.
        await #expect(processExitsWith: .success) {
            let stores = (0..<64).map { M.storeId($0) }
            let hub = StoreHub(
                configuration: IngestConfiguration(queueCapacity: 4, workerIdleTimeout: .milliseconds(20)))
            var expected: [StoreId: [UInt64]] = [:]
            var got: [StoreId: [UInt64]] = [:]
            var offset: UInt64 = 0
            for round in 0..<3 {
                // Interleaved across stores, more per store than its queue holds.
                for _ in 0..<10 {
                    for id in stores {
                        offset += 1
                        _ = try? hub.submit(M.arrow(id, offset: offset), source: "r\(round)")
                        expected[id, default: []].append(offset)
                    }
                }
                check(hub.flush(timeout: .seconds(30)), "flush in round \(round)")
                hub.drain { db, item in got[db.storeId, default: []].append(item.offset) }
                let idle = waitUntil(timeout: .seconds(30)) {
                    workerThreadNames().isEmpty && hub.statistics.runningWorkers == 0
                }
                check(idle, "round \(round): workers left: \(workerThreadNames().count)")
            }
            check(got == expected, "every store's outputs, in submission order")
            let st = hub.statistics
            check(st.messagesIn == 64 * 30 && st.messagesOut == 64 * 30, "counts \(st.messagesIn) \(st.messagesOut)")
            for s in st.stores { check(s.admitted == 30 && s.handled == 30, "\(s.storeId): \(s.admitted)") }
            hub.shutdown(drain: true)
            check(workerThreadNames().isEmpty, "no worker after shutdown")
        }
    }

    @Test("a store's worker exits when its source ends, and restarts in order", .enabled(if: !StoreHub.isSynchronous))
    func exitsWhenSourceEnds() async {
        await #expect(processExitsWith: .success) {
            let hub = StoreHub()
            let a = M.storeId(1)
            let b = M.storeId(2)
            for i in 0..<5 { _ = try? hub.submit(M.arrow(a, offset: UInt64(i)), source: "fileA") }
            for i in 0..<5 { _ = try? hub.submit(M.arrow(b, offset: UInt64(i)), source: "fileB") }
            hub.flush()
            check(workerThreadNames().count == 2, "two workers")
            hub.sourceEnded("fileA")
            check(waitUntil(timeout: .seconds(30)) { workerThreadNames().count == 1 }, "A's worker exits")
            check(hub.store(a)?.statistics.hasWorker == false, "A has no worker")
            for i in 5..<8 { _ = try? hub.submit(M.arrow(a, offset: UInt64(i)), source: "fileA") }
            hub.flush()
            var offsets: [UInt64] = []
            while let item = hub.store(a)?.poll() { offsets.append(item.offset) }
            check(offsets == Array(0..<8), "A in order: \(offsets)")
            hub.shutdown(drain: true)
            check(workerThreadNames().isEmpty, "joined")
        }
    }

    @Test("an idle timeout changes nothing about order under a steady stream (both builds)")
    func steadyStream() throws {
        let id = M.storeId(8)
        let db = EntityDb(storeId: id, configuration: IngestConfiguration(queueCapacity: 2, workerIdleTimeout: .zero))
        for i in 0..<500 { try db.submit(M.arrow(id, offset: UInt64(i)), source: "s") }
        let out = flushAndCollect(db)
        #expect(out.map(\.offset) == Array(0..<500))
        #expect(out.map(\.sequence) == Array(0..<500))
        db.shutdown(drain: true)
    }
}
