import Chunks
import FixtureSupport
import Foundation
import IngestCore
import Ingestion
import RRD
import Store
import Synchronization
import Testing

/// Measures the calling thread's CPU time: stable figures on a shared, oversubscribed machine, where
/// wall-clock time mostly measures the other processes. Every benchmark here is single-threaded.
struct ThreadCPUClock {
    static func now() -> Duration {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return .seconds(ts.tv_sec) + .nanoseconds(ts.tv_nsec)
    }

    func measure(_ body: () throws -> Void) rethrows -> Duration {
        let start = Self.now()
        try body()
        return Self.now() - start
    }
}

/// Quick throughput figures (thread CPU time). Small sizes by default (they double as a smoke test); set `STORE_BENCH=1` and
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
                id: ChunkId(timeNs: 1, inc: UInt64(i)), entityPath: "/bench/e\(i % entities)", isStatic: false,
                rowIds: [RowId(timeNs: 2, inc: UInt64(i))],
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
        let clock = ThreadCPUClock()

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
            "STORE_BENCH (CPU time) insert \(count) one-row chunks: one by one \(rate(tPlain))/s, batches of 256 \(rate(tBatched))/s, "
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
                    id: ChunkId(timeNs: 1, inc: UInt64(i)), entityPath: "/plot", isStatic: false,
                    rowIds: (0..<10).map { RowId(timeNs: 2, inc: UInt64(base + $0)) },
                    timelineColumns: [TestChunk.Timeline(name: "frame", times: (0..<10).map { Int64(base + $0) })],
                    columns: [TestChunk.Column(name: "Scalars:scalars", cells: (0..<10).map { [base + $0] })]))
        }
        let rows = Int64(10 * chunkCount)
        var rng = SplitMix64(seed: 1)
        let queries = 20_000
        let times = (0..<queries).map { _ in Int64.random(in: 0..<rows, using: &rng) }
        let clock = ThreadCPUClock()
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
            "STORE_BENCH (CPU time) \(rows) rows in \(chunkCount) chunks: latest-at \(us(tLatest, queries)) each, "
                + "range of 100 rows \(us(tRange, queries / 10)) each")
    }
}

/// The same figures on real decoded chunks: every chunk of a recording (`STORE_BENCH_RRD`, default the
/// `many_small_chunks.rrd` fixture) is decoded first, then inserted and queried; only the store is timed.
@Suite("StoreBenchmarks on a recording", .serialized)
struct StoreRecordingBenchmarks {
    static let path =
        ProcessInfo.processInfo.environment["STORE_BENCH_RRD"] ?? Fixtures.rrdPath("many_small_chunks.rrd")

    @Test("insert and query real chunks")
    func recording() throws {
        var reader = try RRDReader(path: Self.path)
        let decoder = ChunkDecoder()
        var chunks: [Chunk] = []
        while let event = reader.next() {
            if case .message(let framed) = event, case .arrowMsg(let msg) = framed.message {
                chunks.append(try decoder.decode(msg))
            }
        }
        try #require(!chunks.isEmpty)
        let clock = ThreadCPUClock()
        let store = ChunkStore<Chunk>()
        let tInsert = try clock.measure { for c in chunks { try store.insert(c) } }
        let tDuplicates = try clock.measure { for c in chunks { try store.insert(c) } }
        #expect(store.statistics.chunks == chunks.count)
        #expect(store.statistics.duplicatesSkipped == chunks.count)

        let batched = ChunkStore<Chunk>()
        let tBatched = clock.measure {
            var i = 0
            while i < chunks.count {
                _ = batched.insert(contentsOf: chunks[i..<min(i + 256, chunks.count)])
                i += 256
            }
        }
        #expect(batched.statistics.chunks == chunks.count)

        // Queries: per temporal (entity, component, timeline), latest-at at random times and ranges of
        // about a tenth of the timeline's extent.
        var targets: [(entity: String, component: String, timeline: String, range: ClosedRange<Int64>)] = []
        for entity in store.entityPaths() {
            for timeline in store.timelines(of: entity) {
                guard let range = store.timeRange(of: entity, timeline: timeline) else { continue }
                for component in store.components(of: entity) { targets.append((entity, component, timeline, range)) }
            }
        }
        try #require(!targets.isEmpty)
        var rng = SplitMix64(seed: 3)
        let queries = 50_000
        let plan = (0..<queries).map { _ -> (Int, Int64) in
            let i = Int.random(in: 0..<targets.count, using: &rng)
            return (i, Int64.random(in: targets[i].range, using: &rng))
        }
        var found = 0
        let tLatest = clock.measure {
            for (i, t) in plan {
                let q = targets[i]
                if store.latestAt(entity: q.entity, component: q.component, timeline: q.timeline, at: t) != nil {
                    found += 1
                }
            }
        }
        var rows = 0
        let rangeQueries = queries / 10
        let tRange = clock.measure {
            for (i, t) in plan.prefix(rangeQueries) {
                let q = targets[i]
                let width = (q.range.upperBound &- q.range.lowerBound) / 10
                rows +=
                    store.range(
                        entity: q.entity, component: q.component, timeline: q.timeline, from: t, through: t &+ width
                    )
                    .count
            }
        }
        #expect(found > 0)
        let rate = { (d: Duration) in Int(Double(chunks.count) / StoreBenchmarks.seconds(d)) }
        let ns = { (d: Duration, n: Int) in Int(StoreBenchmarks.seconds(d) / Double(n) * 1e9) }
        print(
            "STORE_BENCH (CPU time) \((Self.path as NSString).lastPathComponent): \(chunks.count) chunks, "
                + "\(store.statistics.rows) rows, \(store.entityPaths().count) entities; insert one by one \(rate(tInsert))/s, "
                + "batches of 256 \(rate(tBatched))/s, duplicates \(rate(tDuplicates))/s; latest-at \(ns(tLatest, queries)) ns, "
                + "range (~1/10 of the extent, \(rows / max(rangeQueries, 1)) rows avg) \(ns(tRange, rangeQueries)) ns")
    }
}
