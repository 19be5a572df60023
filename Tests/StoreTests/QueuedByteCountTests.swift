import IngestCore
import RRD
import Store
import Testing

/// The one count of bytes waiting for a store in the engine's queue (``QueuedByteCount``): the engine
/// updates the store's ``ChunkStore/queuedByteCount``, and the store reads that same count for its
/// memory budget (`engine-semantics.md` §3.3: bytes in queues count against the budget).
@Suite("ChunkStore reads the engine's queued-bytes count")
struct QueuedByteCountTests {
    @Test("one count: the engine's updates are what the store and its statistics show")
    func oneCount() {
        let store = ChunkStore<TestChunk>()
        let queued = store.queuedByteCount
        queued.add(300)
        #expect(store.queuedBytes == 300)
        #expect(store.statistics.queuedBytes == 300)
        // The store's own entry point updates the same count.
        store.addQueuedBytes(-100)
        #expect(queued.value == 200)
        // The worker takes the whole queue at once.
        queued.set(0)
        #expect(store.queuedBytes == 0)
        // Updates landing out of order never show a negative count.
        queued.add(-50)
        #expect(queued.value == 0 && store.statistics.queuedBytes == 0)
        queued.add(50)
        #expect(queued.value == 0)
    }

    @Test("the budget counts the engine's bytes at the next insert and at collectGarbage(), not before")
    func budgetReadsTheCount() throws {
        let store = ChunkStore<TestChunk>(configuration: ChunkStoreConfiguration(memoryBudget: 96 * 4))
        let queued = store.queuedByteCount
        let chunks = (UInt64(1)...3).map { MemoryBudgetTests.chunk($0 * 2, firstRow: $0 * 10, time: Int64($0)) }
        for c in chunks { #expect(try store.insert(c) == .inserted) }
        // Two chunks' worth admitted by the engine: nothing happens until the store next looks.
        queued.add(2 * 96)
        #expect(store.statistics.chunks == 3)
        store.collectGarbage()
        // 3 × 96 held + 2 × 96 queued > 4 × 96: the oldest goes.
        #expect(Set(store.allChunks().map(\.id)) == Set(chunks.dropFirst().map(\.id)))
        let run = try #require(store.garbageCollections().last)
        #expect(run.bytesBefore == 5 * 96 && run.bytesAfter == 4 * 96 && run.chunksDropped == 1)
        // The worker takes both, inserts one: 3 × 96, within the budget.
        queued.set(0)
        let fourth = MemoryBudgetTests.chunk(8, firstRow: 40, time: 4)
        #expect(try store.insert(fourth) == .inserted)
        #expect(store.statistics.chunks == 3 && store.statistics.chunksCollected == 1)
        // A burst: the next insert makes room for it, down to the newest chunk.
        queued.add(3 * 96)
        #expect(try store.insert(MemoryBudgetTests.chunk(10, firstRow: 50, time: 5)) == .inserted)
        #expect(store.statistics.chunks == 1)
        #expect(try #require(store.garbageCollections().last).bytesAfter == 4 * 96)
    }

    @Test("without a budget the count is kept but never acted on")
    func noBudget() throws {
        let store = ChunkStore<TestChunk>()
        store.queuedByteCount.add(1 << 40)
        for k in UInt64(1)...4 {
            #expect(try store.insert(MemoryBudgetTests.chunk(k * 2, firstRow: k * 10, time: Int64(k))) == .inserted)
        }
        #expect(store.statistics.chunks == 4 && store.statistics.garbageCollections == 0)
        #expect(store.statistics.queuedBytes == 1 << 40)
    }

    @Test("updates from several threads while another inserts: the count ends exact")
    func concurrentUpdates() async throws {
        let store = ChunkStore<TestChunk>(configuration: ChunkStoreConfiguration(memoryBudget: 1 << 30))
        let queued = store.queuedByteCount
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 0..<3 {
                group.addTask {
                    for k in 0..<20_000 {
                        queued.add(k % 2 == 0 ? 7 + t : -(7 + t))
                    }
                    queued.add(100 * (t + 1))
                }
            }
            group.addTask {
                for k in UInt64(1)...500 {
                    _ = try store.insert(MemoryBudgetTests.chunk(k * 2, firstRow: k * 10, time: Int64(k)))
                }
            }
            try await group.waitForAll()
        }
        #expect(queued.value == 600)
        #expect(store.statistics.queuedBytes == 600)
        #expect(store.statistics.chunks == 500 && store.statistics.chunksCollected == 0)
    }
}
