import IngestCore
import IngestTestSupport
import Ingestion
import RRD
import Testing

@Suite("StoreHub: routing, stores, per-source errors")
struct StoreHubTests {
    @Test("stores are keyed by kind, application id and recording id, listed in first-seen order")
    func routing() throws {
        let hub = StoreHub()
        let rec = M.storeId(1)
        let bp = M.storeId(1, kind: .blueprint)
        let otherApp = M.storeId(1, app: "other")
        try hub.submit(M.arrow(rec, offset: 1), source: "s")
        try hub.submit(M.storeInfo(bp, offset: 2), source: "s")
        try hub.submit(M.activation(bp, offset: 3), source: "s")
        try hub.submit(M.arrow(otherApp, offset: 4), source: "s")
        try hub.submit(M.arrow(rec, offset: 5), source: "s")
        #expect(hub.storeIds() == [rec, bp, otherApp])
        #expect(hub.storeIds(kind: .blueprint) == [bp])
        #expect(hub.storeIds(kind: .recording) == [rec, otherApp])
        hub.flush()
        #expect(flushAndCollect(try #require(hub.store(rec))).map(\.offset) == [1, 5])
        let bpOut = flushAndCollect(try #require(hub.store(bp)))
        #expect(bpOut.map { Kind(output: $0) } == [.info, .activation], "the activation goes to its blueprint store")
        #expect(hub.store(M.storeId(2)) == nil)
        hub.shutdown(drain: true)
    }

    @Test("End belongs to no store; a shut-down hub refuses messages")
    func endAndClosed() throws {
        let hub = StoreHub()
        #expect(try hub.submit(M.end(offset: 9), source: "s") == nil)
        #expect(hub.storeIds().isEmpty)
        hub.shutdown(drain: true)
        #expect(hub.isShutDown)
        #expect(ingestError { try hub.submit(M.arrow(M.storeId(1), offset: 1), source: "s") }?.code == .closed)
    }

    @Test("removing a store shuts it down; the next message for its id starts a fresh store")
    func removeAndRecreate() throws {
        let hub = StoreHub()
        let id = M.storeId(4)
        try hub.submit(M.storeInfo(id, offset: 1), source: "s")
        let removed = try #require(hub.remove(id, drain: true))
        #expect(removed.isShutDown)
        #expect(removed.poll()?.offset == 1, "a removed store's outputs stay pollable")
        #expect(hub.storeIds().isEmpty)
        #expect(try hub.submit(M.storeInfo(id, offset: 2), source: "s") == 0, "numbering restarts")
        #expect(hub.remove(M.storeId(99), drain: false) == nil)
        hub.shutdown(drain: true)
    }

    @Test("a source's error comes out only after everything it submitted before has come out")
    func sourceErrorOrder() throws {
        let gate = WorkerGate(open: StoreHub.isSynchronous)
        let a = M.storeId(1)
        let b = M.storeId(2)
        let hub = StoreHub(configuration: IngestConfiguration().gated(by: gate) { $0.storeId == a })
        try hub.submit(M.arrow(b, offset: 5), source: "x.rrd")
        try hub.submit(M.arrow(a, offset: 10), source: "x.rrd")
        try hub.submit(M.arrow(b, offset: 15), source: "y.rrd")
        hub.report(RRDError(.truncated, source: "x.rrd", offset: 20, "message header needs 16 bytes, found 3"))
        hub.report(RRDError(.notRRD, source: "y.rrd", offset: 0, "expected RRF2, found RIFF"))
        if !StoreHub.isSynchronous {
            #expect(gate.waitForArrivals(1, timeout: deadline))
            #expect(hub.store(b)?.flush(timeout: deadline) == true)
            #expect(hub.pollSourceError(from: "x.rrd") == nil, "store a still holds x.rrd's message at offset 10")
            // y.rrd only touched store b, which is done: its error does not wait for store a.
            #expect(hub.pollSourceError()?.source == "y.rrd")
            gate.open()
            hub.flush()
        }
        let x = try #require(hub.pollSourceError(from: "x.rrd"))
        #expect(x.sequence == 0)
        #expect(x.error.code == .stream)
        #expect(x.error.offset == 20)
        #expect(x.error.underlying?.code == .truncated)
        if StoreHub.isSynchronous { #expect(hub.pollSourceError(from: "y.rrd")?.error.underlying?.code == .notRRD) }
        #expect(hub.pollSourceError() == nil)
        hub.shutdown(drain: true)
    }

    @Test("a batch spanning stores keeps each store's order and skips End")
    func batchAcrossStores() throws {
        let hub = StoreHub(configuration: IngestConfiguration(queueCapacity: 2))
        let a = M.storeId(1)
        let b = M.storeId(2)
        let batch = [
            M.arrow(a, offset: 0), M.arrow(a, offset: 1), M.arrow(a, offset: 2), M.arrow(b, offset: 3),
            M.end(offset: 4),
            M.arrow(a, offset: 5), M.storeInfo(b, offset: 6), M.arrow(b, offset: 7), M.arrow(b, offset: 8),
        ]
        try hub.submit(contentsOf: batch, source: "s")
        hub.flush()
        #expect(flushAndCollect(try #require(hub.store(a))).map(\.offset) == [0, 1, 2, 5])
        #expect(flushAndCollect(try #require(hub.store(b))).map(\.offset) == [3, 6, 7, 8])
        hub.shutdown(drain: true)
    }

    @Test("errors of one source keep their order")
    func sourceErrorSequence() {
        let hub = StoreHub()
        for i in 0..<5 { hub.report(IngestError(.stream, source: "s", offset: UInt64(i), "e\(i)")) }
        var offsets: [UInt64] = []
        while let e = hub.pollSourceError(from: "s") {
            #expect(e.sequence == UInt64(offsets.count))
            offsets.append(e.error.offset)
        }
        #expect(offsets == [0, 1, 2, 3, 4])
    }

    @Test("hub drain visits every store, keeps each store's order and honours the item budget")
    func hubDrain() throws {
        let hub = StoreHub()
        let ids = (0..<3).map { M.storeId($0) }
        for i in 0..<12 { try hub.submit(M.arrow(ids[i % 3], offset: UInt64(i)), source: "s") }
        hub.flush()
        var seen: [StoreId: [UInt64]] = [:]
        #expect(hub.drain(maxItems: 5) { db, item in seen[db.storeId, default: []].append(item.sequence) } == 5)
        #expect(Set(seen.keys) == Set(ids), "round-robin reaches every store")
        #expect(hub.drain { db, item in seen[db.storeId, default: []].append(item.sequence) } == 7)
        for id in ids { #expect(seen[id] == [0, 1, 2, 3]) }
        hub.shutdown(drain: true)
    }

    @Test("many producer threads and a polling consumer: per store, output = admission order, nothing lost")
    func concurrentProducers() throws {
        let hub = StoreHub(configuration: IngestConfiguration(queueCapacity: 8))
        let producers = 4
        let perProducer = 300
        let ids = (0..<3).map { M.storeId($0) }
        let threads = (0..<producers).map { p in
            TestThread {
                for i in 0..<perProducer {
                    let tag = UInt64(p * 1_000_000 + i)
                    let id = ids[(p + i) % ids.count]
                    let m = i % 7 == 0 ? M.storeInfo(id, offset: tag) : M.arrow(id, offset: tag)
                    try! hub.submit(m, source: "p\(p)")
                }
            }
        }
        var got: [StoreId: [IngestOutput]] = [:]
        while !threads.allSatisfy(\.isFinished) {
            hub.drain(maxItems: 17) { db, item in got[db.storeId, default: []].append(item) }
        }
        for t in threads { t.join() }
        hub.flush()
        hub.drain { db, item in got[db.storeId, default: []].append(item) }
        var total = 0
        for id in ids {
            let items = got[id] ?? []
            total += items.count
            #expect(items.map(\.sequence) == Array(0..<UInt64(items.count)))
            for p in 0..<producers {
                let mine = items.filter { $0.source == "p\(p)" }.map(\.offset)
                #expect(mine == mine.sorted(), "producer \(p)'s order is kept in \(id)")
            }
        }
        #expect(total == producers * perProducer)
        hub.shutdown(drain: true)
    }
}
