import ArgumentParser
import Ingestion
import RRD
import Store

/// `ingest optimize FILES... -o OUT [--max-rows N] [--max-bytes N]`: the inputs compacted.
struct OptimizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "optimize",
        abstract: "Compact the chunks of recordings through the chunk store's compaction.",
        discussion: """
            The inputs are loaded into one chunk store per store id (as `ingest replay --compact` does, with \
            the thresholds below; defaults are `rerun rrd optimize`'s object-store profile: 2 MiB, 65536 rows, \
            8192 rows when unsorted), then each store is written: its SetStoreInfo, its chunks (merged ones \
            with fresh chunk ids), its blueprint activations, and a footer manifest per store. Chunking may \
            differ from Rerun's; the data does not. Exit status: 0 clean, 1 damaged input, 2 usage, 3 I/O error.
            """
    )

    @Argument(help: "Recordings to read (.rrd/.rbl, zstd-compressed or not; '-' reads stdin).")
    var files: [String] = []

    @Option(name: .customLong("max-rows"), help: "Largest row count of a compacted, time-sorted chunk.")
    var maxRows: Int = RecordingRewrite.optimizeDefaults.maxRows

    @Option(name: .customLong("max-rows-if-unsorted"), help: "Largest row count of a compacted, unsorted chunk.")
    var maxRowsIfUnsorted: Int = RecordingRewrite.optimizeDefaults.maxRowsIfUnsorted

    @Option(
        name: [.customLong("max-bytes"), .customLong("max-size")],
        help: "Largest size of a compacted chunk: bytes, or with a unit (2MiB, 512KiB, 1GB).")
    var maxBytes: String = "2MiB"

    @OptionGroup var output: RecordingOutputOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("Give at least one FILE ('-' for stdin).") }
        if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("stdin ('-') can be read only once.") }
        guard maxRows > 0, maxRowsIfUnsorted > 0 else { throw ValidationError("row limits must be positive") }
        guard let b = Self.parseSize(maxBytes), b > 0 else {
            throw ValidationError("--max-bytes must be a positive size such as 2097152, 2MiB or 512KiB (got \(maxBytes))")
        }
        _ = b
    }

    /// `123`, `2MiB`, `512KiB`, `1GB`, `3kB`, `10B`.
    static func parseSize(_ text: String) -> Int? {
        let units: [(String, Int)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40), ("kB", 1000), ("KB", 1000),
            ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000), ("B", 1),
        ]
        let t = text.trimmingCharacters(in: " ")
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            let number = t.dropLast(suffix.count).trimmingCharacters(in: " ")
            if let n = Int(number) { return n.multipliedReportingOverflow(by: scale).overflow ? nil : n * scale }
            if let d = Double(number), d.isFinite, d >= 0 { return Int(d * Double(scale)) }
            return nil
        }
        return Int(t)
    }

    func run() throws {
        ReplayCommand.setEncodingAllocatorPolicy()
        let writer = try output.makeWriter(command: "optimize", inputs: files)
        let display = output.progressDisplay(inputs: files)
        let options = output.rewriteOptions(progress: display)
        let compaction = ChunkStoreConfiguration.Compaction(
            maxBytes: Self.parseSize(maxBytes)!, maxRows: maxRows, maxRowsIfUnsorted: maxRowsIfUnsorted,
            mergeBatch: RecordingRewrite.optimizeDefaults.mergeBatch)
        let report = try runRewrite(command: "optimize") { () throws(RRDError) in
            try RecordingRewrite.optimize(files, compaction: compaction, into: writer, options: options)
        }
        let status = output.finish(command: "optimize", report: report)
        if status != 0 { throw ExitCode(status) }
    }
}

extension String {
    /// The string without leading and trailing `c`.
    fileprivate func trimmingCharacters(in c: Character) -> String {
        String(drop { $0 == c }.reversed().drop { $0 == c }.reversed())
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in c: Character) -> String { String(self).trimmingCharacters(in: c) }
}
