import Chunks
import Foundation
import Ingestion
import RRD
import Store
import Testing

/// Load figures for one `.rrd` with compaction off, on (batched) or reference (a merge per insert): wall and thread-CPU time of decode + insert
/// (one thread, like the reference's `py_load.py`), chunk count, and the process's peak RSS. Skipped
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

    @Test("load one recording, compaction off, on or reference", .enabled(if: path != nil))
    func load() throws {
        // "on": batched merges, as `ingest --compact`; "reference": a merge on every insert.
        let configuration =
            switch Self.mode {
            case "on": ChunkStoreConfiguration(compaction: .batched)
            case "reference": ChunkStoreConfiguration(compaction: .reference)
            default: ChunkStoreConfiguration.default
            }
        let stores = RecordingStores(configuration: configuration)
        let cpuStart = ThreadCPUClock.now()
        let wallStart = ContinuousClock.now
        let summary = stores.load(path: Self.path!)
        let wall = ContinuousClock.now - wallStart
        let cpu = ThreadCPUClock.now() - cpuStart
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
                + "thread CPU \(StoreBenchmarks.seconds(cpu)) s, inserted \(summary.insert.inserted), chunks held \(chunks), "
                + "rows \(rows), compactions \(compactions), chunk bytes \(bytes / 1_000_000) MB, "
                + "peak RSS \(Int(Self.peakRSSMegabytes())) MB")
        #expect(chunks > 0)
    }
}
