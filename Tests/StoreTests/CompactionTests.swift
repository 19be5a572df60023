import FixtureSupport
import IngestCore
import RRD
import Store
import Synchronization
import Testing

/// Compaction on insert (`engine-semantics.md` §3.2) checked against the brute-force ``Oracle``: merging
/// must never change an answer, whatever the insertion order, and duplicates of absorbed chunks stay no-ops.
@Suite("ChunkStore compaction")
struct CompactionTests {
    /// Small limits so that the generator's 1–4-row chunks merge often and also hit every limit.
    static let limits = ChunkStoreConfiguration.Compaction(maxBytes: 64 + 16 * 14, maxRows: 9, maxRowsIfUnsorted: 6)

    @Test(
        "permuted insertion orders with compaction on give the oracle's answers, merging on insert or in batches",
        arguments: Array(UInt64(1)...40), [1, 4])
    func permutations(seed: UInt64, mergeBatch: Int) throws {
        var limits = Self.limits
        limits.mergeBatch = mergeBatch
        var generator = ChunkGenerator(seed: seed)
        let chunks = generator.chunks(Int(seed % 30) + 10)
        let oracle = Oracle(chunks)
        var rng = SplitMix64(seed: seed &* 31)
        var merged = 0
        for round in 0..<3 {
            var order = chunks
            order.shuffle(using: &rng)
            let store = ChunkStore<TestChunk>(configuration: ChunkStoreConfiguration(compaction: limits))
            if round == 2 {
                let (summary, errors) = store.insert(contentsOf: order)
                #expect(errors.isEmpty)
                #expect(summary.inserted == oracle.chunks.count)
            } else {
                for c in order { _ = try store.insert(c) }
            }
            if mergeBatch > 1 {
                // Waiting merges change no answer, before or after they are made.
                let waiting = store.statistics
                #expect(waiting.chunks == oracle.chunks.count - waiting.compactions, "seed \(seed)")
                ChunkStorePropertyTests.checkAgainstOracle(store, oracle, seed: seed)
                store.compactPending()
                #expect(store.compactPending() == 0)
                #expect(store.statistics.compactions >= waiting.compactions)
            }
            let statistics = store.statistics
            merged += statistics.compactions
            #expect(statistics.chunks == oracle.chunks.count - statistics.compactions, "seed \(seed)")
            #expect(statistics.rows == oracle.chunks.reduce(0) { $0 + $1.numRows })
            #expect(statistics.chunksInserted == oracle.chunks.count)
            for chunk in store.allChunks() {
                #expect(chunk.numRows <= limits.maxRows)
                #expect(chunk.approximateByteSize <= limits.maxBytes || !chunk.id.isCompacted)
            }
            ChunkStorePropertyTests.checkAgainstOracle(store, oracle, seed: seed)

            // Every input again, absorbed or not: all duplicates, nothing changes.
            for c in order.shuffled(using: &rng) where oracle.chunks.contains(where: { $0.id == c.id }) {
                #expect(try store.insert(c) == .duplicate, "seed \(seed): \(c.id)")
            }
            #expect(store.statistics.chunks == statistics.chunks)
            ChunkStorePropertyTests.checkAgainstOracle(store, oracle, seed: seed)
        }
        if seed == 1 { #expect(merged > 0) }
    }

    @Test("compaction merges across the seeds (the property tests exercise merges)")
    func mergesHappen() throws {
        var total = 0
        for seed in UInt64(1)...10 {
            var generator = ChunkGenerator(seed: seed)
            let store = ChunkStore<TestChunk>(configuration: ChunkStoreConfiguration(compaction: Self.limits))
            _ = store.insert(contentsOf: generator.chunks(30))
            total += store.statistics.compactions
        }
        #expect(total > 20)
    }

    @Test(
        "a chunk over a limit by itself (neverMerges) stays as inserted, whatever the order, while others merge",
        arguments: [1, 4])
    func overLimitChunksStay(mergeBatch: Int) throws {
        // The generator's chunks have 1-4 rows: its 4-row chunks are over a 3-row limit.
        let limits = ChunkStoreConfiguration.Compaction(
            maxBytes: 10_000, maxRows: 3, maxRowsIfUnsorted: 3, mergeBatch: mergeBatch)
        var overLimit = 0
        var merges = 0
        for seed in UInt64(1)...20 {
            var generator = ChunkGenerator(seed: seed)
            var chunks = generator.chunks(30)
            var rng = SplitMix64(seed: seed)
            chunks.shuffle(using: &rng)
            let store = ChunkStore<TestChunk>(configuration: ChunkStoreConfiguration(compaction: limits))
            for c in chunks { _ = try store.insert(c) }
            store.compactPending()
            merges += store.statistics.compactions
            for c in chunks {
                #expect(limits.neverMerges(c) == (c.numRows > limits.maxRows || c.approximateByteSize > limits.maxBytes))
                // Static chunks and chunks without components are never merged anyway.
                guard limits.neverMerges(c), !c.isStaticData, c.componentCount > 0 else { continue }
                overLimit += 1
                let kept = store.chunk(id: c.id)
                #expect(kept?.rowIds == c.rowIds, "seed \(seed): \(c.id) was merged")
            }
        }
        #expect(overLimit > 0)
        #expect(merges > 0)
    }

    @Test("a merge emits the neighbour's deletion and the merged chunk's addition; nulls fill missing columns")
    func events() throws {
        let store = ChunkStore<TestChunk>(configuration: ChunkStoreConfiguration(compaction: .reference))
        let log = RecordedEvents()
        _ = store.subscribe { log.append($0) }
        let a = Self.chunk(1, rows: [1, 2], times: [10, 11], column: "X:x")
        // Neighbours are found per shared component: `b` logs X:x as nulls and adds X:y.
        var b = Self.chunk(2, rows: [3, 4], times: [12, 13], column: "X:y")
        b.columns.insert(TestChunk.Column(name: "X:x", cells: [nil, nil]), at: 0)
        #expect(try store.insert(a) == .inserted)
        #expect(try store.insert(b) == .inserted)
        #expect(store.statistics.chunks == 1)
        #expect(store.statistics.compactions == 1)
        let events = log.events
        try #require(events.count == 3)
        #expect(events.map(\.id) == [1, 2, 3])
        guard case .addition(let first) = events[0].kind, first.id == a.id else {
            Issue.record("first event: \(events[0].kind)")
            return
        }
        guard case .deletion(let gone, .compacted(let into)) = events[1].kind, gone.id == a.id,
            case .addition(let merged) = events[2].kind, merged.id == into
        else {
            Issue.record("merge events: \(events.map(\.kind))")
            return
        }
        #expect(merged.rowIds == a.rowIds + b.rowIds)
        #expect(merged.columns.map(\.name) == ["X:x", "X:y"])
        #expect(merged.columns[0].cells == [[1], [2], nil, nil])
        #expect(merged.columns[1].cells == [nil, nil, [3], [4]])
        #expect(store.contains(chunkId: merged.id))
        #expect(!store.contains(chunkId: a.id))
        #expect(try store.insert(a) == .duplicate)
        #expect(try store.insert(b) == .duplicate)
        // Once the compacted chunk is gone, its sources can come back.
        #expect(store.remove(chunkId: merged.id) != nil)
        #expect(try store.insert(a) == .inserted)
        #expect(store.latestAt(entity: "/e", component: "X:x", timeline: "frame", at: 100)?.rowId == a.rowIds[1])
    }

    @Test("batched merges: waiting chunks are announced, then merged in one step with their neighbour")
    func batchedEvents() throws {
        var limits = ChunkStoreConfiguration.Compaction.reference
        limits.mergeBatch = 2
        let store = ChunkStore<TestChunk>(configuration: ChunkStoreConfiguration(compaction: limits))
        let log = RecordedEvents()
        _ = store.subscribe { log.append($0) }
        let a = Self.chunk(1, rows: [1, 2], times: [10, 11], column: "X:x")
        let b = Self.chunk(2, rows: [3], times: [12], column: "X:x")
        let c = Self.chunk(3, rows: [4, 5], times: [13, 14], column: "X:x")
        #expect(try store.insert(a) == .inserted)
        #expect(try store.insert(b) == .inserted)
        // `b` waits, indexed as it is.
        #expect(store.statistics.chunks == 2)
        #expect(store.statistics.compactions == 0)
        #expect(store.contains(chunkId: b.id))
        #expect(store.latestAt(entity: "/e", component: "X:x", timeline: "frame", at: 12)?.rowId == b.rowIds[0])
        #expect(try store.insert(b) == .duplicate)
        // The second waiting chunk fills the batch: one merge of all three.
        #expect(try store.insert(c) == .inserted)
        #expect(store.statistics.chunks == 1)
        #expect(store.statistics.compactions == 2)
        let merged = try #require(store.allChunks().first)
        #expect(merged.id.isCompacted)
        #expect(merged.rowIds == a.rowIds + b.rowIds + c.rowIds)
        #expect(merged.columns[0].cells == [[1], [2], [3], [4], [5]])
        let kinds = log.events.map(\.kind)
        try #require(kinds.count == 7)
        #expect(log.events.map(\.id) == Array(1...7))
        for (k, source) in [a, b, c].enumerated() {
            guard case .addition(let added) = kinds[k], added.id == source.id else {
                Issue.record("event \(k): \(kinds[k])")
                return
            }
            guard case .deletion(let gone, .compacted(let into)) = kinds[3 + k], gone.id == source.id, into == merged.id
            else {
                Issue.record("event \(3 + k): \(kinds[3 + k])")
                return
            }
        }
        guard case .addition(let added) = kinds[6], added.id == merged.id else {
            Issue.record("last event: \(kinds[6])")
            return
        }
        for source in [a, b, c] { #expect(try store.insert(source) == .duplicate) }

        // A waiting chunk is merged on demand; the merged chunk is absorbed in turn.
        let d = Self.chunk(4, rows: [6], times: [15], column: "X:x")
        #expect(try store.insert(d) == .inserted)
        #expect(store.statistics.chunks == 2)
        #expect(store.compactPending() == 1)
        #expect(store.compactPending() == 0)
        #expect(store.statistics.chunks == 1)
        #expect(store.statistics.compactions == 3)
        #expect(!store.contains(chunkId: merged.id))
        #expect(try store.insert(a) == .duplicate)
        #expect(try store.insert(d) == .duplicate)
        #expect(store.allChunks().first?.rowIds == a.rowIds + b.rowIds + c.rowIds + d.rowIds)
        #expect(store.latestAt(entity: "/e", component: "X:x", timeline: "frame", at: 100)?.rowId == d.rowIds[0])
    }

    @Test("batched merges: removing a chunk of a waiting group leaves the others as they are")
    func batchedRemoval() throws {
        var limits = ChunkStoreConfiguration.Compaction.reference
        limits.mergeBatch = 8
        let store = ChunkStore<TestChunk>(configuration: ChunkStoreConfiguration(compaction: limits))
        let a = Self.chunk(1, rows: [1], times: [1], column: "X:x")
        let b = Self.chunk(2, rows: [2], times: [2], column: "X:x")
        let c = Self.chunk(3, rows: [3], times: [3], column: "X:x")
        _ = store.insert(contentsOf: [a, b, c])
        #expect(store.statistics.chunks == 3)
        #expect(store.remove(chunkId: b.id) != nil)
        #expect(store.compactPending() == 0)
        #expect(Set(store.allChunks().map(\.id)) == [a.id, c.id])
        // A later chunk starts a new group.
        let d = Self.chunk(4, rows: [4], times: [4], column: "X:x")
        #expect(try store.insert(d) == .inserted)
        #expect(store.compactPending() == 1)
        #expect(store.statistics.chunks == 2)
        #expect(store.statistics.rows == 3)
        #expect(try store.insert(b) == .inserted)
    }

    @Test("batched merges respect the unsorted row limit across the whole group")
    func batchedUnsortedLimit() throws {
        let limits = ChunkStoreConfiguration.Compaction(
            maxBytes: 1 << 20, maxRows: 8, maxRowsIfUnsorted: 3, mergeBatch: 16)
        let store = ChunkStore<TestChunk>(configuration: ChunkStoreConfiguration(compaction: limits))
        for k in 0..<7 {
            _ = try store.insert(
                Self.chunk(UInt64(k + 1), rows: [UInt64(k + 1)], times: [Int64(100 - k)], column: "X:x"))
        }
        store.compactPending()
        #expect(store.allChunks().allSatisfy { $0.numRows <= 3 })
        #expect(store.statistics.rows == 7)
        let sorted = ChunkStore<TestChunk>(configuration: ChunkStoreConfiguration(compaction: limits))
        for k in 0..<10 {
            _ = try sorted.insert(Self.chunk(UInt64(k + 1), rows: [UInt64(k + 1)], times: [Int64(k)], column: "X:x"))
        }
        sorted.compactPending()
        #expect(sorted.allChunks().map(\.numRows).sorted() == [2, 8])
    }

    @Test("static chunks and chunks with other timelines are never merged")
    func notMerged() throws {
        let store = ChunkStore<TestChunk>(configuration: ChunkStoreConfiguration(compaction: .reference))
        var s1 = Self.chunk(1, rows: [1], times: [1], column: "X:x")
        s1.isStatic = true
        var s2 = Self.chunk(2, rows: [2], times: [2], column: "X:x")
        s2.isStatic = true
        var other = Self.chunk(3, rows: [3], times: [3], column: "X:x")
        other.timelineColumns[0].name = "log_time"
        let plain = Self.chunk(4, rows: [4], times: [4], column: "X:x")
        _ = store.insert(contentsOf: [s1, s2, other, plain])
        #expect(store.statistics.chunks == 4)
        #expect(store.statistics.compactions == 0)
        #expect(store.staticCell(entity: "/e", component: "X:x")?.rowId == s2.rowIds[0])
    }

    @Test("the unsorted row limit applies when merged times would not be sorted")
    func unsortedLimit() throws {
        let limits = ChunkStoreConfiguration.Compaction(maxBytes: 1 << 20, maxRows: 8, maxRowsIfUnsorted: 3)
        let store = ChunkStore<TestChunk>(configuration: ChunkStoreConfiguration(compaction: limits))
        // Later RowIds at earlier times: every merge is unsorted.
        for k in 0..<6 {
            _ = try store.insert(
                Self.chunk(UInt64(k + 1), rows: [UInt64(k + 1)], times: [Int64(100 - k)], column: "X:x"))
        }
        #expect(store.allChunks().allSatisfy { $0.numRows <= 3 })
        #expect(store.statistics.rows == 6)
        let sorted = ChunkStore<TestChunk>(configuration: ChunkStoreConfiguration(compaction: limits))
        for k in 0..<6 {
            _ = try sorted.insert(Self.chunk(UInt64(k + 1), rows: [UInt64(k + 1)], times: [Int64(k)], column: "X:x"))
        }
        #expect(sorted.statistics.chunks == 1)
    }

    static func chunk(_ id: UInt64, rows: [UInt64], times: [Int64], column: String) -> TestChunk {
        TestChunk(
            id: ChunkId(timeNs: 500, inc: id), entityPath: "/e", isStatic: false,
            rowIds: rows.map { RowId(timeNs: 1_000, inc: $0) },
            timelineColumns: [TestChunk.Timeline(name: "frame", times: times)],
            columns: [TestChunk.Column(name: column, cells: rows.map { [Int($0)] })])
    }
}

extension ChunkId {
    /// Ids the store gives compacted chunks (time half all ones).
    var isCompacted: Bool { tuid.timeNs == .max }
}

/// Collects events delivered on the mutating thread.
final class RecordedEvents: Sendable {
    private let stored = Mutex<[StoreEvent<TestChunk>]>([])
    func append(_ events: [StoreEvent<TestChunk>]) { stored.withLock { $0 += events } }
    var events: [StoreEvent<TestChunk>] { stored.withLock { $0 } }
}
