import FixtureSupport
import Foundation
import IngestCore
import IngestTestSupport
import Ingestion
import RRD
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Load and soak: 64 stores fed by several producer threads with random pacing for a bounded time
/// (`SOAK_SECONDS`, default 2; `scripts/soak.sh` runs a long one). Runs in a child process (an exit test)
/// so that parallel tests cannot disturb the thread, descriptor and allocator counts.
@Suite("Load and soak")
struct SoakTests {
    @Test("64 stores × 4 producers: no loss, no reordering; bytes, allocator, threads and fds back to baseline")
    func soak() async {
        let result = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
            SoakRun.run()
        }
        if let result {
            print(String(decoding: result.standardOutputContent, as: UTF8.self), terminator: "")
        }
    }
}

/// The soak itself (in the exit-test child). Any violated property exits with status 2 and a message on stderr.
enum SoakRun {
    static let stores = 64
    static let producers = 4
    /// Live allocator bytes allowed above the baseline after shutdown (thread caches, runtime metadata).
    static let memoryTolerance = 2 << 20

    static func fail(_ what: String) -> Never {
        FileHandle.standardError.write(Data("soak check failed: \(what)\n".utf8))
        exit(2)
    }

    static func run() {
        let seconds = Double(ProcessInfo.processInfo.environment["SOAK_SECONDS"] ?? "") ?? 2
        let pool = messagePool()
        guard !pool.isEmpty else { fail("no ArrowMsg in many_small_chunks.rrd") }
        // Warm-up: runtime metadata, lazily created caches, the first thread's stack are not leaks.
        _ = Self.cycle(pool: pool, seconds: 0.2, seed: 1)
        let threads = count("/proc/self/task")
        let fds = count("/proc/self/fd")
        let live = liveBytes()
        let stats = Self.cycle(pool: pool, seconds: seconds, seed: 42)
        let threadsAfter = waitForCount("/proc/self/task", atMost: threads)
        let fdsAfter = count("/proc/self/fd")
        let liveAfter = liveBytes()
        print(
            "soak: \(stats.seconds)s, \(stores) stores × \(producers) producers, \(stats.messages) messages "
                + "(\(stats.chunks) chunks, \(stats.blockedSubmits) submits blocked on a full queue), lost 0, reordered 0; "
                + "threads \(threads) → \(threadsAfter), fds \(fds) → \(fdsAfter), "
                + (live.total > 0
                    ? "allocator live bytes \(live.total) → \(liveAfter.total) (main arena \(live.main) → "
                        + "\(liveAfter.main); tolerance \(memoryTolerance))"
                    : "allocator live bytes not measured (a sanitizer's allocator: glibc counts nothing)"))
        if threadsAfter > threads { fail("\(threadsAfter - threads) threads left after shutdown") }
        if fdsAfter > fds { fail("\(fdsAfter - fds) file descriptors left after shutdown") }
        if live.total > 0, liveAfter.total > live.total + memoryTolerance {
            fail("allocator live bytes grew from \(live.total) to \(liveAfter.total)")
        }
    }

    struct Stats {
        var seconds: Double
        var messages = 0
        var chunks = 0
        var blockedSubmits = 0
    }

    /// Every ArrowMsg of a real recording (decodable chunks), held for the whole run.
    static func messagePool() -> [ArrowMsg] {
        guard var reader = try? RRDReader(path: Fixtures.rrdPath("many_small_chunks.rrd")) else { return [] }
        var pool: [ArrowMsg] = []
        while let event = reader.next() {
            if case .message(let m) = event, case .arrowMsg(let msg) = m.message { pool.append(msg) }
        }
        return pool
    }

    /// One hub, `stores` stores, `producers` threads submitting for `seconds`, the test thread draining meanwhile.
    /// Each message's offset tags it with its producer and sequence number: per store and producer the outputs must
    /// come out exactly once, in submission order.
    static func cycle(pool: [ArrowMsg], seconds: Double, seed: UInt64) -> Stats {
        let ids = (0..<stores).map { SyntheticMessages.storeId($0) }
        let hub = StoreHub(configuration: IngestConfiguration(queueCapacity: 32))
        let submitted = Counts(stores: stores, producers: producers)
        let blocked = Counts(stores: 1, producers: producers)
        let end = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        var threads: [TestThread] = []
        for p in 0..<producers {
            threads.append(
                TestThread(name: "soak-producer") {
                    var rng = SplitMix64(seed: seed &+ UInt64(p))
                    var seq: UInt64 = 0
                    while ContinuousClock.now < end {
                        // Bursts of 1...64 messages, then a pause of 0...500 µs.
                        for _ in 0..<(1 + rng.below(64)) {
                            let s = rng.below(stores)
                            var msg = pool[rng.below(pool.count)]
                            msg.storeId = ids[s]
                            seq += 1
                            let framed = FramedMessage(
                                offset: UInt64(p) << 48 | seq, length: UInt64(msg.payload.count),
                                message: .arrowMsg(msg))
                            do {
                                if (try? hub.trySubmit(framed, source: "soak-\(p)")) == nil {
                                    blocked.add(0, p)
                                    try hub.submit(framed, source: "soak-\(p)")
                                }
                            } catch {
                                fail("submit failed: \(error)")
                            }
                            submitted.add(s, p)
                        }
                        let pause = rng.below(500)
                        if pause > 0 { usleep(UInt32(pause)) }
                    }
                })
        }
        // Drain while the producers run (a viewer's loop), then after they are done.
        var last = [[UInt64]](repeating: [UInt64](repeating: 0, count: producers), count: stores)
        var received = [[Int]](repeating: [Int](repeating: 0, count: producers), count: stores)
        var stats = Stats(seconds: seconds)
        let index = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($1, $0) })
        func take(_ db: EntityDb, _ item: IngestOutput) {
            guard let s = index[db.storeId] else { fail("output from an unknown store \(db.storeId)") }
            let p = Int(item.offset >> 48)
            let seq = item.offset & 0xFFFF_FFFF_FFFF
            guard p < producers else { fail("output with a bad tag \(item.offset)") }
            if seq <= last[s][p] { fail("store \(s), producer \(p): sequence \(seq) after \(last[s][p])") }
            last[s][p] = seq
            received[s][p] += 1
            stats.messages += 1
            switch item.event {
            case .chunk: stats.chunks += 1
            case .error(let e): fail("store \(s): \(e)")
            default: break
            }
        }
        while !threads.allSatisfy(\.isFinished) {
            if hub.drain(take) == 0 { usleep(200) }
        }
        for t in threads { t.join() }
        if !hub.flush(timeout: .seconds(60)) { fail("flush did not finish within 60 s") }
        hub.drain(take)
        for s in 0..<stores {
            for p in 0..<producers where received[s][p] != submitted.get(s, p) {
                fail("store \(s), producer \(p): \(submitted.get(s, p)) submitted, \(received[s][p]) came out")
            }
        }
        hub.shutdown(drain: true)
        for db in hub.allStores {
            let st = db.statistics
            if st.queuedBytes != 0 || st.queuedMessages != 0 || st.readyOutputs != 0 || st.admitted != st.handled {
                fail("store \(db.storeId) after shutdown: \(st)")
            }
        }
        stats.blockedSubmits = (0..<producers).reduce(0) { $0 + blocked.get(0, $1) }
        return stats
    }

    /// Per store and producer counters written by the producers (one lock; the counts are read after joining).
    final class Counts: @unchecked Sendable {
        // @unchecked: `values` is guarded by `lock`.
        private let lock = NSLock()
        private var values: [Int]
        private let producers: Int
        init(stores: Int, producers: Int) {
            self.producers = producers
            values = [Int](repeating: 0, count: stores * producers)
        }
        func add(_ s: Int, _ p: Int) { lock.withLock { values[s * producers + p] += 1 } }
        func get(_ s: Int, _ p: Int) -> Int { lock.withLock { values[s * producers + p] } }
    }

    static func count(_ dir: String) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).count
    }

    /// Joined threads leave `/proc/self/task` a moment after `join` returns: wait for that, with a deadline.
    static func waitForCount(_ dir: String, atMost n: Int) -> Int {
        _ = waitUntil(timeout: .seconds(5)) { count(dir) <= n }
        return count(dir)
    }

    /// Live heap bytes as glibc counts them for `mallinfo2()` (`uordblks + hblkhd`): for the main arena and in total
    /// over every arena (the workers allocate in their own arenas, which `mallinfo2` does not see). Swift's Glibc
    /// module does not export `<malloc.h>`, so the counters are read from `malloc_stats()`, which prints the same
    /// per-arena figures to stderr; stderr goes to an unlinked temporary file for the call. Under a sanitizer's
    /// allocator glibc counts nothing and both are 0 (the check is skipped).
    static func liveBytes() -> (main: Int, total: Int) {
        var template = Array("/tmp/soak-malloc-stats-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { fail("mkstemp failed: errno \(errno)") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        defer { close(fd) }
        fflush(nil)
        let saved = dup(2)
        dup2(fd, 2)
        glibcMallocStats()
        fflush(nil)
        dup2(saved, 2)
        close(saved)
        var text: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        lseek(fd, 0, SEEK_SET)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            text += buffer[0..<n]
        }
        // "Arena 0:\nsystem bytes = N\nin use bytes = M\n…Total (incl. mmap):\nsystem bytes = N\nin use bytes = M"
        let lines = String(decoding: text, as: UTF8.self).split(separator: "\n")
        func inUse(after header: String) -> Int? {
            guard let h = lines.firstIndex(where: { $0.hasPrefix(header) }),
                let line = lines[h...].first(where: { $0.contains("in use bytes") })
            else { return nil }
            return line.split(separator: "=").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        }
        return (inUse(after: "Arena 0") ?? 0, inUse(after: "Total") ?? 0)
    }
}

/// glibc's `malloc_stats(void)` (declared in `<malloc.h>`, which Swift's Glibc module does not include).
@_silgen_name("malloc_stats")
private func glibcMallocStats()
