import Foundation
import RRD
import Store
import Synchronization
import Testing

/// Quick throughput figures. Small sizes by default (they double as a smoke test); set `STORE_BENCH=1` and
/// build in release for real figures:
/// `STORE_BENCH=1 swift test -c release --scratch-path .build-store --filter StoreBenchmarks`
@Suite("StoreBenchmarks", .serialized)
struct StoreBenchmarks {
    static let full = ProcessInfo.processInfo.environment["STORE_BENCH"] == "1"

    /// `count` one-row chunks over `entities` entities, times ascending, two components, two timelines.
    static func tinyChunks(_ count: Int, entities: Int) -> [TestChunk] {
        (0..<count).map { i in
            let t = Int64(i / entities)
            return TestChunk(
                id: Tuid(timeNs: 1, inc: UInt64(i)), entityPath: "/bench/e\(i % entities)", isStatic: false,
                rowIds: [Tuid(timeNs: 2, inc: UInt64(i))],
                timelineColumns: [
                    TestChunk.Timeline(name: "frame", times: [t]),
                    TestChunk.Timeline(name: "log_time", times: [1_700_000_000_000_000_000 + t]),
                ],
                columns: [TestChunk.Column(name: "Scalars:scalars", cells: [[i]])])
        }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    @Test("insert throughput: many tiny chunks")
    func insertThroughput() throws {
        let count = Self.full ? 400_000 : 4_000
        let chunks = Self.tinyChunks(count, entities: 100)
        let clock = ContinuousClock()

        let plain = ChunkStore<TestChunk>()
        let tPlain = try clock.measure { for c in chunks { try plain.insert(c) } }

        let batched = ChunkStore<TestChunk>()
        let tBatched = clock.measure {
            var i = 0
            while i < chunks.count {
                _ = batched.insert(contentsOf: chunks[i..<min(i + 256, chunks.count)])
                i += 256
            }
        }

        let observed = ChunkStore<TestChunk>()
        let seen = Mutex<Int>(0)
        _ = observed.subscribe { events in seen.withLock { $0 += events.count } }
        let tObserved = try clock.measure { for c in chunks { try observed.insert(c) } }

        let tDuplicates = try clock.measure { for c in chunks { try plain.insert(c) } }

        #expect(plain.statistics.chunks == count && batched.statistics.chunks == count)
        #expect(seen.withLock { $0 } == count)
        #expect(plain.statistics.duplicatesSkipped == count)
        let rate = { (d: Duration) in Int(Double(count) / Self.seconds(d)) }
        print(
            "STORE_BENCH insert \(count) one-row chunks: one by one \(rate(tPlain))/s, batches of 256 \(rate(tBatched))/s, "
                + "with 1 subscriber \(rate(tObserved))/s, all duplicates \(rate(tDuplicates))/s")
    }

    @Test("latest-at and range latency on a large store")
    func queryLatency() throws {
        // One entity, `chunkCount` chunks of 10 rows (time-sorted), like a long scalar recording.
        let chunkCount = Self.full ? 100_000 : 1_000
        let store = ChunkStore<TestChunk>()
        for i in 0..<chunkCount {
            let base = 10 * i
            try store.insert(
                TestChunk(
                    id: Tuid(timeNs: 1, inc: UInt64(i)), entityPath: "/plot", isStatic: false,
                    rowIds: (0..<10).map { Tuid(timeNs: 2, inc: UInt64(base + $0)) },
                    timelineColumns: [TestChunk.Timeline(name: "frame", times: (0..<10).map { Int64(base + $0) })],
                    columns: [TestChunk.Column(name: "Scalars:scalars", cells: (0..<10).map { [base + $0] })]))
        }
        let rows = Int64(10 * chunkCount)
        var rng = SplitMix64(seed: 1)
        let queries = 20_000
        let times = (0..<queries).map { _ in Int64.random(in: 0..<rows, using: &rng) }
        let clock = ContinuousClock()
        var found = 0
        let tLatest = clock.measure {
            for t in times {
                if store.latestAt(entity: "/plot", component: "Scalars:scalars", timeline: "frame", at: t)?.time == t {
                    found += 1
                }
            }
        }
        var rangeRows = 0
        let tRange = clock.measure {
            for t in times.prefix(queries / 10) {
                rangeRows +=
                    store.range(
                        entity: "/plot", component: "Scalars:scalars", timeline: "frame", from: t, through: t + 99
                    ).count
            }
        }
        #expect(found == queries)
        #expect(rangeRows > 0)
        let us = { (d: Duration, n: Int) in String(Int(Self.seconds(d) / Double(n) * 1e9)) + " ns" }
        print(
            "STORE_BENCH \(rows) rows in \(chunkCount) chunks: latest-at \(us(tLatest, queries)) each, "
                + "range of 100 rows \(us(tRange, queries / 10)) each")
    }
}
