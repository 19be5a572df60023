import IngestCore
import IngestTestSupport
import Ingestion
import RRD
import Testing

/// Behaviour every build shares: order across kinds, error items in place, polling, draining,
/// flushing, statistics. Runs in the threaded and the synchronous build.
@Suite("EntityDb: order, errors, output")
struct EntityDbTests {
    let store = M.storeId(1)
    let blueprint = M.storeId(1, kind: .blueprint)

    @Test("every kind comes out in admission order, numbered 0, 1, 2, …")
    func mixedKindsInAdmissionOrder() throws {
        let db = EntityDb(storeId: blueprint)
        let input: [FramedMessage] = [
            M.storeInfo(blueprint, offset: 10), M.arrow(blueprint, offset: 20), M.arrow(blueprint, offset: 30),
            M.activation(blueprint, offset: 40), M.storeInfo(blueprint, offset: 50), M.arrow(blueprint, offset: 60),
        ]
        for (i, m) in input.enumerated() {
            let seq = try db.submit(m, source: "mixed")
            #expect(seq == UInt64(i))
        }
        let out = flushAndCollect(db)
        #expect(out.map(\.sequence) == Array(0..<UInt64(input.count)))
        #expect(out.map(\.offset) == input.map(\.offset))
        #expect(out.map { Kind(output: $0) } == input.map { Kind(input: $0.message) })
        #expect(out.allSatisfy { $0.source == "mixed" })
        db.shutdown(drain: true)
    }

    @Test("an injected decode failure sits in its place and later messages are still processed")
    func decodeErrorInPlace() throws {
        let config = IngestConfiguration().injectingFailures { $0.chunkId?.tuid.timeNs == 300 }
        let db = EntityDb(storeId: store, configuration: config)
        let offsets: [UInt64] = [100, 200, 300, 400, 500]
        try db.submit(M.storeInfo(store, offset: 100), source: "f.rrd")
        for o in offsets.dropFirst() { try db.submit(M.arrow(store, offset: o), source: "f.rrd") }
        let out = flushAndCollect(db)
        try #require(out.count == offsets.count)
        #expect(out.map(\.offset) == offsets)
        let injected = try #require(out[2].error)
        #expect(injected.code == .decode)
        #expect(injected.source == "f.rrd")
        #expect(injected.offset == 300)
        #expect(injected.message.contains("injected failure"))
        for item in [out[1], out[3], out[4]] {
            #expect(item.error?.message.contains("injected failure") != true, "only the picked message fails")
        }
        #expect(db.statistics.decodeErrors == out.filter { $0.error?.code == .decode }.count)
    }

    @Test("messages of another store, and End, are refused")
    func wrongStoreRefused() throws {
        let db = EntityDb(storeId: store)
        let other = ingestError { try db.submit(M.arrow(M.storeId(2), offset: 1), source: "s") }
        #expect(other?.code == .wrongStore)
        let end = ingestError { try db.trySubmit(M.end(offset: 2), source: "s") }
        #expect(end?.code == .wrongStore)
        let batch = ingestError {
            try db.submit(contentsOf: [M.arrow(store, offset: 3), M.arrow(blueprint, offset: 4)], source: "s")
        }
        #expect(batch?.code == .wrongStore)
        #expect(batch?.offset == 4)
        let out = flushAndCollect(db)
        #expect(out.map(\.offset) == [3], "the batch's messages before the refused one stay admitted")
    }

    @Test("moreReady says whether another item is waiting; polling an empty queue returns nil")
    func moreReady() throws {
        let db = EntityDb(storeId: store)
        #expect(db.poll() == nil)
        try db.submit(contentsOf: (0..<3).map { M.storeInfo(store, offset: UInt64($0)) }, source: "s")
        #expect(db.flush(timeout: deadline))
        #expect([db.poll()?.moreReady, db.poll()?.moreReady, db.poll()?.moreReady] == [true, true, false])
        #expect(db.poll() == nil)
    }

    @Test("drain stops at the item budget and at the time budget, keeping order")
    func budgetedDrain() throws {
        let db = EntityDb(storeId: store)
        let range = try db.submit(contentsOf: (0..<10).map { M.arrow(store, offset: UInt64($0)) }, source: "s")
        #expect(range == 0..<10)
        #expect(db.flush(timeout: deadline))
        var seen: [UInt64] = []
        #expect(db.drain(maxItems: 3) { seen.append($0.sequence) } == 3)
        #expect(seen == [0, 1, 2])
        // A spent time budget still hands out one item per call (progress is guaranteed).
        #expect(db.drain(timeBudget: .zero) { seen.append($0.sequence) } == 1)
        #expect(db.drain { seen.append($0.sequence) } == 6)
        #expect(seen == Array(0..<10))
        #expect(db.drain { _ in Issue.record("nothing left") } == 0)
    }

    @Test("statistics count admissions, outputs and the latest store info")
    func statistics() throws {
        let db = EntityDb(storeId: store)
        try db.submit(M.storeInfo(store, offset: 1), source: "s")
        try db.submit(M.arrow(store, offset: 2), source: "s")
        #expect(db.flush(timeout: deadline))
        let stats = db.statistics
        #expect(stats.admitted == 2)
        #expect(stats.handled == 2)
        #expect(stats.readyOutputs == 2)
        #expect(stats.queuedMessages == 0)
        #expect(stats.decodeErrors + stats.distinctChunks == 1)
        #expect(db.storeInfo?.rowId == RowId(timeNs: 1, inc: 1))
    }

    @Test("after shutdown, submits are refused with closed and outputs stay pollable")
    func closedAfterShutdown() throws {
        let db = EntityDb(storeId: store)
        try db.submit(M.storeInfo(store, offset: 1), source: "s")
        db.shutdown(drain: true)
        #expect(db.isShutDown)
        for attempt: (EntityDb) throws -> Void in [
            { try $0.submit(M.arrow(self.store, offset: 2), source: "s") },
            { try $0.trySubmit(M.arrow(self.store, offset: 2), source: "s") },
            { try $0.submit(M.arrow(self.store, offset: 2), source: "s", timeout: .seconds(1)) },
            { try $0.submit(contentsOf: [M.arrow(self.store, offset: 2)], source: "s") },
        ] {
            #expect(ingestError { try attempt(db) }?.code == .closed)
        }
        #expect(db.flush(timeout: deadline))
        #expect(db.poll()?.offset == 1)
        db.shutdown(drain: false)  // idempotent
    }

    @Test(
        "synchronous build: submit never blocks or reports full, outputs are ready at once",
        .enabled(if: StoreHub.isSynchronous))
    func synchronousIsInline() throws {
        let db = EntityDb(storeId: store, configuration: IngestConfiguration(queueCapacity: 1, maxQueuedBytes: 1))
        for i in 0..<50 { try db.trySubmit(M.arrow(store, offset: UInt64(i), payloadBytes: 100), source: "s") }
        #expect(db.statistics.readyOutputs == 50)
        #expect(db.poll()?.sequence == 0)
    }
}
