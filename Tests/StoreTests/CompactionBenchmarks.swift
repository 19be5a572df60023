import Chunks
import Foundation
import IngestTestSupport
import Ingestion
import RRD
import Store
import Testing

/// Load figures for one `.rrd` with compaction off, on (batched) or reference (a merge per insert), loaded
/// through the ingestion pipeline (a reader thread, and the store's worker decoding and inserting): wall
/// and process CPU time (every thread), chunk count, and the process's peak RSS. Skipped
/// unless `COMPACT_BENCH_RRD` names a file; run once per mode so each peak RSS is its own process's:
/// `COMPACT_BENCH_RRD=/work/bench/rrd/scalars_50mb.rrd COMPACT_BENCH_MODE=on swift test -c release
/// --scratch-path .build-compact-rel --filter CompactionBenchmarks`
@Suite("CompactionBenchmarks")
struct CompactionBenchmarks {
    static let path = ProcessInfo.processInfo.environment["COMPACT_BENCH_RRD"]
    static let mode = ProcessInfo.processInfo.environment["COMPACT_BENCH_MODE"] ?? "off"

    /// `VmHWM` of /proc/self/status in MB.
    static func peakRSSMegabytes() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kb = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return -1 }
        return kb / 1024
    }

    /// CPU time of every thread of the process so far (user + system).
    static func processCPU() -> Duration {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let total = { (t: timeval) in Duration.seconds(t.tv_sec) + .microseconds(t.tv_usec) }
        return total(usage.ru_utime) + total(usage.ru_stime)
    }

    @Test("load one recording, compaction off, on or reference", .enabled(if: path != nil))
    func load() throws {
        // "on": batched merges, as `ingest --compact`; "reference": a merge on every insert.
        let configuration =
            switch Self.mode {
            case "on": ChunkStoreConfiguration(compaction: .batched)
            case "reference": ChunkStoreConfiguration(compaction: .reference)
            default: ChunkStoreConfiguration.default
            }
        let stores = PipelineStores(configuration: configuration)
        let cpuStart = Self.processCPU()
        let wallStart = ContinuousClock.now
        let summary = stores.load(paths: [Self.path!])
        let wall = ContinuousClock.now - wallStart
        let cpu = Self.processCPU() - cpuStart
        #expect(summary.errors.isEmpty)
        var chunks = 0
        var rows = 0
        var compactions = 0
        var bytes = 0
        for (_, store) in stores.stores {
            let s = store.statistics
            chunks += s.chunks
            rows += s.rows
            compactions += s.compactions
            bytes += s.approximateBytes
        }
        print(
            "compaction \(Self.mode): \((Self.path! as NSString).lastPathComponent) load wall \(StoreBenchmarks.seconds(wall)) s, "
                + "process CPU \(StoreBenchmarks.seconds(cpu)) s, inserted \(summary.insert.inserted), chunks held \(chunks), "
                + "rows \(rows), compactions \(compactions), chunk bytes \(bytes / 1_000_000) MB, "
                + "peak RSS \(Int(Self.peakRSSMegabytes())) MB")
        #expect(chunks > 0)
    }
}
