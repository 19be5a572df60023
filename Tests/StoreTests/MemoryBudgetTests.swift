import IngestCore
import RRD
import Store
import Testing

/// The memory budget and its collector (`engine-semantics.md` §3.3): whole temporal chunks go, smallest
/// first RowId first; static chunks stay; what remains answers like a store that only ever had it.
@Suite("ChunkStore memory budget")
struct MemoryBudgetTests {
    /// One 2-row chunk; `TestChunk.approximateByteSize` is 64 + 16 per row = 96 bytes.
    static func chunk(_ k: UInt64, firstRow: UInt64, time: Int64, isStatic: Bool = false) -> TestChunk {
        TestChunk(
            id: ChunkId(timeNs: 700, inc: k), entityPath: k % 2 == 0 ? "/a" : "/c", isStatic: isStatic,
            rowIds: [RowId(timeNs: 2_000, inc: firstRow), RowId(timeNs: 2_000, inc: firstRow + 1)],
            timelineColumns: [TestChunk.Timeline(name: "frame", times: [time, time + 2])],
            columns: [TestChunk.Column(name: "X:x", cells: [[Int(k)], [Int(k) + 1000]])])
    }

    @Test("filling past the budget drops the oldest temporal chunks first and keeps static data")
    func dropsOldestFirst() throws {
        let store = ChunkStore<TestChunk>(configuration: ChunkStoreConfiguration(memoryBudget: 96 * 6))
        let log = RecordedEvents()
        _ = store.subscribe { log.append($0) }
        // Inserted out of RowId order: first RowIds are 100 - 10k, so later inserts are older.
        let statics = [Self.chunk(100, firstRow: 1, time: 0, isStatic: true)]
        var temporal: [TestChunk] = []
        for k in UInt64(1)...10 {
            let rowBase: UInt64 = k % 3 == 0 ? 500 + k * 10 : 200 - k * 10
            temporal.append(Self.chunk(k, firstRow: rowBase, time: Int64(k)))
        }
        for c in statics + temporal { #expect(try store.insert(c) == .inserted) }

        let statistics = store.statistics
        #expect(statistics.approximateBytes <= 96 * 6)
        #expect(statistics.staticChunks == 1)
        #expect(statistics.chunks == 6)
        #expect(statistics.chunksCollected == 5)
        #expect(statistics.bytesCollected == 5 * 96)
        #expect(statistics.rowsCollected == 10)

        // What remains: the static chunk and the 5 temporal chunks with the largest first RowIds.
        let byAge = temporal.sorted { $0.rowIds[0] > $1.rowIds[0] }
        let kept = Array(byAge.prefix(5))
        let dropped = Set(byAge.dropFirst(5).map(\.id))
        #expect(Set(store.allChunks().map(\.id)) == Set((statics + kept).map(\.id)))
        let collected = log.events.compactMap { event -> TestChunk? in
            if case .deletion(let c, .garbageCollected) = event.kind { return c }
            return nil
        }
        #expect(Set(collected.map(\.id)) == dropped)
        // Each collection dropped its oldest candidate: within a run and across runs, ascending.
        let runs = store.garbageCollections()
        #expect(runs.reduce(0) { $0 + $1.chunksDropped } == 5)
        #expect(runs.allSatisfy { $0.bytesAfter <= $0.budget && $0.bytesBefore > $0.budget })
        #expect(runs.allSatisfy { $0.firstEventId > 0 })
        let youngestKept = kept.map { $0.rowIds[0] }.min()!
        #expect(runs.allSatisfy { $0.newestDroppedRowId! < youngestKept })

        // Queries answer from what remains, exactly as a store that only had it.
        ChunkStorePropertyTestsShim.check(store, Oracle(statics + kept))

        // A dropped chunk can be inserted again (and then, being old, is collected again at once).
        let again = try #require(temporal.first { dropped.contains($0.id) })
        #expect(try store.insert(again) == .inserted)
        #expect(store.statistics.chunksCollected == 6)
        #expect(!store.contains(chunkId: again.id))
    }

    @Test("external bytes count against the budget; static chunks are never collected")
    func externalBytes() throws {
        let store = ChunkStore<TestChunk>(configuration: ChunkStoreConfiguration(memoryBudget: 96 * 4))
        let s = Self.chunk(2, firstRow: 1, time: 0, isStatic: true)
        let t1 = Self.chunk(1, firstRow: 10, time: 5)
        let t2 = Self.chunk(3, firstRow: 20, time: 7)
        _ = store.insert(contentsOf: [s, t1, t2])
        #expect(store.statistics.chunks == 3)
        #expect(store.reserveExternalBytes(96) == 96)
        #expect(store.statistics.chunks == 3)
        store.reserveExternalBytes(96)
        #expect(store.statistics.externalBytes == 192)
        #expect(Set(store.allChunks().map(\.id)) == [s.id, t2.id])
        store.reserveExternalBytes(10_000)
        #expect(store.allChunks().map(\.id) == [s.id])
        #expect(store.staticCell(entity: "/a", component: "X:x") != nil)
        #expect(store.reserveExternalBytes(-1_000_000) == 0)
        #expect(try store.insert(t1) == .inserted)
        #expect(store.latestAt(entity: "/c", component: "X:x", timeline: "frame", at: 100)?.rowId == t1.rowIds[1])
    }

    @Test("queued bytes count against the budget from the next insert on, without the store lock")
    func queuedBytes() throws {
        let store = ChunkStore<TestChunk>(configuration: ChunkStoreConfiguration(memoryBudget: 96 * 4))
        let t1 = Self.chunk(1, firstRow: 10, time: 5)
        let t2 = Self.chunk(3, firstRow: 20, time: 7)
        let t3 = Self.chunk(4, firstRow: 30, time: 9)
        _ = store.insert(contentsOf: [t1, t2])
        // Two chunks' worth is about to arrive: accounted at once, acted on at the next insert.
        store.addQueuedBytes(2 * 96)
        #expect(store.queuedBytes == 2 * 96)
        #expect(store.statistics.queuedBytes == 2 * 96)
        #expect(store.statistics.chunks == 2)
        // One of the two arrives (it leaves the queue, then is inserted): 3 × 96 held + 96 queued
        // fit; the second then arrives too and the oldest chunk makes room for it.
        store.addQueuedBytes(-96)
        #expect(try store.insert(t3) == .inserted)
        #expect(store.statistics.chunks == 3)
        store.addQueuedBytes(-96)
        #expect(store.queuedBytes == 0)
        let t4 = Self.chunk(5, firstRow: 40, time: 11)
        #expect(try store.insert(t4) == .inserted)
        #expect(Set(store.allChunks().map(\.id)) == [t1.id, t2.id, t3.id, t4.id])
        // A burst larger than the budget: every temporal chunk but the newest goes at the next insert,
        // and the record shows the queued bytes in its before/after figures.
        store.addQueuedBytes(10 * 96)
        let t5 = Self.chunk(6, firstRow: 50, time: 13)
        #expect(try store.insert(t5) == .inserted)
        #expect(store.allChunks().isEmpty)
        let last = try #require(store.garbageCollections().last)
        #expect(last.bytesBefore == 5 * 96 + 10 * 96)
        #expect(last.bytesAfter == 10 * 96)
        #expect(last.chunksDropped == 5)
        store.addQueuedBytes(-10 * 96)
        #expect(store.statistics.queuedBytes == 0)
        #expect(try store.insert(t1) == .inserted)
        #expect(store.allChunks().map(\.id) == [t1.id])
    }

    @Test(
        "budget and compaction together: random stores answer like the oracle over what remains",
        arguments: Array(UInt64(1)...20), [1, 4])
    func withCompaction(seed: UInt64, mergeBatch: Int) throws {
        var generator = ChunkGenerator(seed: seed)
        let chunks = generator.chunks(30)
        let budget = 64 * 8 + 16 * 20
        var limits = CompactionTests.limits
        limits.mergeBatch = mergeBatch
        let store = ChunkStore<TestChunk>(
            configuration: ChunkStoreConfiguration(compaction: limits, memoryBudget: budget))
        let log = RecordedEvents()
        _ = store.subscribe { log.append($0) }
        for (k, c) in chunks.enumerated() {
            _ = try store.insert(c)
            if k % 7 == 6 { store.compactPending() }
        }
        #expect(store.statistics.approximateBytes <= budget || store.allChunks().allSatisfy(\.isStaticData))
        // Rebuild the surviving rows: the chunks held now are exactly what the store answers from.
        ChunkStorePropertyTestsShim.check(store, Oracle(store.allChunks()), seed: seed)
        // No static chunk was ever collected.
        for event in log.events {
            if case .deletion(let c, .garbageCollected) = event.kind { #expect(!c.isStaticData) }
        }
        #expect(store.statistics.chunks == store.allChunks().count)
    }
}

/// The property suite's oracle check, callable with a default seed.
enum ChunkStorePropertyTestsShim {
    static func check(_ store: ChunkStore<TestChunk>, _ oracle: Oracle, seed: UInt64 = 0) {
        ChunkStorePropertyTests.checkAgainstOracle(store, oracle, seed: seed)
    }
}
