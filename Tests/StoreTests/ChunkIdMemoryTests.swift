import FixtureSupport
import IngestCore
import RRD
import Store
import Testing

/// The store remembers every chunk id it was offered (``InsertReport``,
/// ``ChunkStoreStatistics/distinctChunkIds``), so the engine can count distinct chunks and flag a store's
/// first data without a set of its own; dedupe stays against what the store holds now
/// (`engine-semantics.md` §3.1).
@Suite("ChunkStore remembers the chunk ids it was offered")
struct ChunkIdMemoryTests {
    /// One temporal 2-row chunk of 96 bytes on `/e`, first RowId `firstRow`.
    static func chunk(_ k: UInt64, firstRow: UInt64, time: Int64, entity: String = "/e") -> TestChunk {
        TestChunk(
            id: ChunkId(timeNs: 800, inc: k), entityPath: entity, isStatic: false,
            rowIds: [RowId(timeNs: 3_000, inc: firstRow), RowId(timeNs: 3_000, inc: firstRow + 1)],
            timelineColumns: [TestChunk.Timeline(name: "frame", times: [time, time + 1])],
            columns: [TestChunk.Column(name: "X:x", cells: [[Int(k)], [Int(k) + 1]])])
    }

    static func report(_ outcome: InsertOutcome, new: Bool, first: Bool = false) -> InsertReport {
        InsertReport(outcome: outcome, isNewChunkId: new, isFirstChunkWithRows: first)
    }

    @Test("a new id is reported new once; a duplicate is neither new nor inserted")
    func insertAndDuplicate() throws {
        let store = ChunkStore<TestChunk>()
        let a = Self.chunk(1, firstRow: 10, time: 0)
        let b = Self.chunk(2, firstRow: 20, time: 5)
        #expect(try store.insertReporting(a) == Self.report(.inserted, new: true, first: true))
        #expect(try store.insertReporting(a) == Self.report(.duplicate, new: false))
        #expect(try store.insertReporting(b) == Self.report(.inserted, new: true))
        #expect(try store.insert(b) == .duplicate)
        let s = store.statistics
        #expect(s.distinctChunkIds == 2)
        #expect(s.duplicatesSkipped == 2)
        #expect(s.chunks == 2)
    }

    @Test("a collected chunk can be inserted again, and its id stays counted once")
    func collectedThenReinserted() throws {
        let store = ChunkStore<TestChunk>(configuration: ChunkStoreConfiguration(memoryBudget: 96 * 2))
        let old = Self.chunk(1, firstRow: 10, time: 0)
        #expect(try store.insertReporting(old).isNewChunkId)
        #expect(try store.insertReporting(Self.chunk(2, firstRow: 20, time: 2)).isNewChunkId)
        #expect(try store.insertReporting(Self.chunk(3, firstRow: 30, time: 4)).isNewChunkId)
        // The third chunk went over the budget: the oldest was collected.
        #expect(!store.contains(chunkId: old.id))
        #expect(store.statistics.chunksCollected == 1)
        #expect(store.statistics.distinctChunkIds == 3)
        // Offered again: inserted (dedupe is against what is held), but not new; being the oldest, it
        // is collected again at once.
        #expect(try store.insertReporting(old) == Self.report(.inserted, new: false))
        #expect(store.statistics.chunksCollected == 2)
        #expect(store.statistics.distinctChunkIds == 3)
        #expect(store.statistics.chunksInserted == 4)
    }

    @Test("a removed chunk can be inserted again without being new")
    func removedThenReinserted() throws {
        let store = ChunkStore<TestChunk>()
        let a = Self.chunk(1, firstRow: 10, time: 0)
        _ = try store.insert(a)
        #expect(store.remove(chunkId: a.id) != nil)
        #expect(try store.insertReporting(a) == Self.report(.inserted, new: false))
        #expect(try store.insertReporting(a) == Self.report(.duplicate, new: false))
        // Removed and offered again, twice over: still one id.
        #expect(store.remove(chunkId: a.id) != nil)
        #expect(try store.insertReporting(a) == Self.report(.inserted, new: false))
        #expect(store.statistics.distinctChunkIds == 1)
        #expect(store.latestAt(entity: "/e", component: "X:x", timeline: "frame", at: 9)?.rowId == a.rowIds[1])
    }

    @Test(
        "absorbed ids are duplicates while the compacted chunk is held, then insertable again, never new",
        arguments: [1, 4])
    func compactionAbsorbedIds(mergeBatch: Int) throws {
        var limits = ChunkStoreConfiguration.Compaction.reference
        limits.mergeBatch = mergeBatch
        let store = ChunkStore<TestChunk>(configuration: ChunkStoreConfiguration(compaction: limits))
        let a = Self.chunk(1, firstRow: 10, time: 0)
        let b = Self.chunk(2, firstRow: 20, time: 2)
        let c = Self.chunk(3, firstRow: 30, time: 4)
        for chunk in [a, b, c] { #expect(try store.insertReporting(chunk).isNewChunkId) }
        store.compactPending()
        let held = store.allChunks()
        try #require(held.count == 1)
        let merged = held[0]
        #expect(merged.id.isCompacted)
        #expect(merged.numRows == 6)
        // Every source id again: duplicates of the compacted chunk, not new.
        for chunk in [a, b, c] { #expect(try store.insertReporting(chunk) == Self.report(.duplicate, new: false)) }
        #expect(store.statistics.distinctChunkIds == 3)
        // The compacted chunk goes: the sources' rows are no longer held, so they may come back.
        #expect(store.remove(chunkId: merged.id) != nil)
        #expect(try store.insertReporting(b) == Self.report(.inserted, new: false))
        #expect(store.statistics.distinctChunkIds == 3)
        #expect(store.statistics.rows == 2)
        #expect(store.latestAt(entity: "/e", component: "X:x", timeline: "frame", at: 100)?.rowId == b.rowIds[1])
    }

    @Test("an id absorbed by a chunk that was absorbed in turn stays a duplicate while the last one is held")
    func chainsOfCompactedChunks() throws {
        let store = ChunkStore<TestChunk>(configuration: ChunkStoreConfiguration(compaction: .reference))
        let chunks = (UInt64(1)...5).map { Self.chunk($0, firstRow: $0 * 10, time: Int64($0) * 2) }
        for chunk in chunks { _ = try store.insert(chunk) }
        // Merging on insert: each new chunk merged into the previous compacted chunk.
        #expect(store.statistics.chunks == 1)
        #expect(store.statistics.compactions == 4)
        for chunk in chunks.shuffled() {
            #expect(try store.insertReporting(chunk) == Self.report(.duplicate, new: false))
        }
        #expect(store.statistics.distinctChunkIds == 5)
        #expect(store.statistics.chunks == 1)
    }

    @Test("a chunk dropped as empty counts its id; one rejected for its row order leaves nothing behind")
    func droppedAndRejected() throws {
        let store = ChunkStore<TestChunk>()
        var empty = Self.chunk(1, firstRow: 10, time: 0)
        empty.columns = []
        // Rows but no component column: dropped; its id is new and it is the first chunk with rows.
        #expect(try store.insertReporting(empty) == Self.report(.droppedEmpty, new: true, first: true))
        #expect(try store.insertReporting(empty) == Self.report(.droppedEmpty, new: false))
        var unsorted = Self.chunk(2, firstRow: 20, time: 0)
        unsorted.rowIds.reverse()
        #expect(throws: StoreError.self) { try store.insertReporting(unsorted) }
        #expect(store.statistics.distinctChunkIds == 1)
        // The same id, sorted: still new to the store.
        #expect(try store.insertReporting(Self.chunk(2, firstRow: 20, time: 0)) == Self.report(.inserted, new: true))
        #expect(store.statistics.distinctChunkIds == 2)
        #expect(store.statistics.droppedEmpty == 2)
    }

    @Test("the first chunk with rows is flagged once, also when empty chunks came first")
    func firstChunkWithRows() throws {
        let store = ChunkStore<TestChunk>()
        var noRows = Self.chunk(1, firstRow: 10, time: 0)
        noRows.rowIds = []
        noRows.timelineColumns[0].times = []
        noRows.columns[0].cells = []
        #expect(try store.insertReporting(noRows) == Self.report(.droppedEmpty, new: true, first: false))
        let a = Self.chunk(2, firstRow: 20, time: 0)
        #expect(try store.insertReporting(a) == Self.report(.inserted, new: true, first: true))
        _ = store.remove(chunkId: a.id)
        // Empty again, but not for the first time: never flagged twice.
        #expect(try store.insertReporting(a) == Self.report(.inserted, new: false, first: false))
        #expect(try store.insertReporting(Self.chunk(3, firstRow: 30, time: 1)).isFirstChunkWithRows == false)
    }

    @Test("a batch counts its new ids")
    func batchSummary() throws {
        let store = ChunkStore<TestChunk>(configuration: ChunkStoreConfiguration(memoryBudget: 96 * 2))
        let chunks = (UInt64(1)...4).map { Self.chunk($0, firstRow: $0 * 10, time: Int64($0)) }
        let (summary, errors) = store.insert(contentsOf: chunks + [chunks[3]])
        #expect(errors.isEmpty)
        #expect(summary.inserted == 4 && summary.duplicates == 1 && summary.newChunkIds == 4)
        // The two oldest were collected: offered again they are inserted, not new.
        let again = store.insert(contentsOf: chunks.prefix(2)).summary
        #expect(again.inserted == 2 && again.newChunkIds == 0)
        #expect(store.statistics.distinctChunkIds == 4)
    }

    @Test(
        "random offers under compaction and a budget: distinct ids are exactly the ids offered, each once",
        arguments: Array(UInt64(1)...12), [1, 4])
    func randomOffers(seed: UInt64, mergeBatch: Int) throws {
        var limits = CompactionTests.limits
        limits.mergeBatch = mergeBatch
        var generator = ChunkGenerator(seed: seed)
        let chunks = generator.chunks(25)
        let store = ChunkStore<TestChunk>(
            configuration: ChunkStoreConfiguration(compaction: limits, memoryBudget: 64 * 6 + 16 * 12))
        var rng = SplitMix64(seed: seed &* 7)
        var offered = Set<ChunkId>()
        for _ in 0..<80 {
            let chunk = chunks.randomElement(using: &rng)!
            let wasHeldOrAbsorbed = store.contains(chunkId: chunk.id)
            let report = try store.insertReporting(chunk)
            #expect(report.isNewChunkId == !offered.contains(chunk.id), "seed \(seed): \(chunk.id)")
            offered.insert(chunk.id)
            if wasHeldOrAbsorbed { #expect(report.outcome == .duplicate) }
            if Int.random(in: 0..<8, using: &rng) == 0, let victim = store.allChunks().randomElement(using: &rng) {
                _ = store.remove(chunkId: victim.id)
            }
            if Int.random(in: 0..<6, using: &rng) == 0 { store.compactPending() }
        }
        #expect(store.statistics.distinctChunkIds == offered.count)
    }
}
