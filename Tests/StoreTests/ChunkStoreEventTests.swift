import Foundation
import IngestCore
import RRD
import Store
import Synchronization
import Testing

/// Collects events delivered to a subscriber, with the thread each delivery ran on.
private final class EventLog: Sendable {
    struct Entry: Sendable {
        var id: UInt64
        var isAddition: Bool
        var chunkId: ChunkId
        var onCallerThread: Bool
    }
    let entries = Mutex<[Entry]>([])
}

/// A flag shared between tasks (an `Atomic` cannot be captured by an escaping closure).
private final class DoneFlag: Sendable {
    let value = Atomic<Bool>(false)
}

@Suite("ChunkStore events and threads")
struct ChunkStoreEventTests {
    @Test("subscribers see additions and deletions in id order, on the mutating thread")
    func eventsInOrder() throws {
        var generator = ChunkGenerator(seed: 99)
        let chunks = Oracle(generator.chunks(40)).chunks.prefix(30).map { $0 }  // none dropped as empty
        try #require(chunks.count == 30)
        let store = ChunkStore<TestChunk>()
        let log = EventLog()
        let callerThread = pthread_self()
        let subscription = store.subscribe { events in
            let here = pthread_equal(pthread_self(), callerThread) != 0
            log.entries.withLock { entries in
                for e in events {
                    switch e.kind {
                    case .addition(let c):
                        entries.append(.init(id: e.id, isAddition: true, chunkId: c.id, onCallerThread: here))
                    case .deletion(let c, _):
                        entries.append(.init(id: e.id, isAddition: false, chunkId: c.id, onCallerThread: here))
                    }
                }
            }
        }
        for c in chunks.prefix(10) { try store.insert(c) }
        try store.insert(chunks[0])  // a duplicate emits nothing
        _ = store.insert(contentsOf: chunks.dropFirst(10))
        store.remove(chunkId: chunks[3].id)
        store.unsubscribe(subscription)
        try store.insert(chunks[3])  // after unsubscribing: not delivered
        let entries = log.entries.withLock { $0 }
        #expect(entries.map(\.id) == Array(1...31))
        #expect(entries.map(\.chunkId) == chunks.map(\.id) + [chunks[3].id])
        #expect(entries.map(\.isAddition) == Array(repeating: true, count: 30) + [false])
        #expect(entries.allSatisfy { $0.onCallerThread })
        #expect(store.statistics.eventsEmitted == 32)
    }

    @Test("a subscriber may query the store it is notified by")
    func subscriberQueries() throws {
        let store = ChunkStore<TestChunk>()
        let seen = Mutex<[Int]>([])
        let subscription = store.subscribe { events in
            let count = store.statistics.chunks
            seen.withLock { $0.append(count + 0 * events.count) }
        }
        // The subscriber holds the store: unsubscribing breaks the cycle (LeakSanitizer).
        defer { store.unsubscribe(subscription) }
        var generator = ChunkGenerator(seed: 5)
        for c in Oracle(generator.chunks(6)).chunks.prefix(3) { try store.insert(c) }
        #expect(seen.withLock { $0 } == [1, 2, 3])
    }

    /// Chunk i: rows at times 3i, 3i+1, 3i+2, value i in components `A:a` and `B:b`.
    static func threeRowChunk(_ i: Int) -> TestChunk {
        let base = 3 * i
        let rowIds: [RowId] = (0..<3).map { (k: Int) -> RowId in RowId(timeNs: 2, inc: UInt64(base + k)) }
        let times: [Int64] = (0..<3).map { (k: Int) -> Int64 in Int64(base + k) }
        let cells: [[Int]?] = [[i], [i], [i]]
        return TestChunk(
            id: ChunkId(timeNs: 1, inc: UInt64(i)), entityPath: "/e", isStatic: false, rowIds: rowIds,
            timelineColumns: [TestChunk.Timeline(name: "frame", times: times)],
            columns: [TestChunk.Column(name: "A:a", cells: cells), TestChunk.Column(name: "B:b", cells: cells)])
    }

    @Test("queries on other threads during inserts see whole chunks only")
    func concurrentQueries() async throws {
        let store = ChunkStore<TestChunk>()
        // Chunk i holds rows at times 3i, 3i+1, 3i+2 on two components; inserted in time order.
        let chunkCount = 3_000
        let chunks = (0..<chunkCount).map { i in Self.threeRowChunk(i) }
        let done = DoneFlag()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for (n, c) in chunks.enumerated() {
                    if n % 2 == 0 { try store.insert(c) } else { _ = store.insert(contentsOf: [c]) }
                }
                done.value.store(true, ordering: .releasing)
            }
            for _ in 0..<2 {
                group.addTask {
                    var lastCount = 0
                    while true {
                        let finished = done.value.load(ordering: .acquiring)
                        let rows = store.range(
                            entity: "/e", component: "B:b", timeline: "frame", from: 0, through: Int64.max)
                        // Whole chunks only, a prefix of the insertion order, never shrinking.
                        #expect(rows.count % 3 == 0)
                        #expect(rows.count >= lastCount)
                        #expect(rows.enumerated().allSatisfy { $0.offset == Int($0.element.time!) })
                        lastCount = rows.count
                        if let hit = store.latestAt(entity: "/e", component: "A:a", timeline: "frame", at: Int64.max) {
                            #expect(Int(hit.time!) % 3 == 2)
                        }
                        if finished { break }
                    }
                    #expect(lastCount == 3 * chunkCount)
                }
            }
            try await group.waitForAll()
        }
        #expect(store.statistics.chunks == chunkCount)
    }
}
