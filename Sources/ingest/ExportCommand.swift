import ArgumentParser
import Chunks
import Dataframe
import Dispatch
@preconcurrency import Glibc
import IngestCore
import Ingestion
import Parquet
import Store
import Synchronization

/// `ingest export FILES... --to DIR`: every recording store as a Hive-partitioned dataset of Parquet
/// (or Arrow IPC) files that DuckDB, Polars, pyarrow and Spark query directly.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export recordings as a columnar dataset (Parquet or Arrow IPC files, Hive-partitioned).",
        discussion: """
            Reads the inputs in parallel (as replay does) and writes each recording store as \
            DIR/application_id=A/recording_id=R/part-0.parquet: the store's dataframe with the Rerun \
            SDK's ChunkStore.reader semantics (one row per distinct value of the index timeline, one \
            column per /entity:Component, static data repeated in every row), each file written through a \
            temporary file renamed into place. --timeline picks the index (a store without it is \
            skipped); without it each store uses its first timeline by name, or its static view when it \
            has none. Blueprints are not exported. Parquet files carry ARROW:schema, so Arrow readers \
            restore the exact Arrow types; ids are escaped as Hive does. Exit status: 0 clean, 1 damaged \
            input or a store whose data cannot be exported (the others are still written), 2 usage or no \
            recording found, 3 I/O error (an input could not be read or a file not written) ('ingest help').

            Examples:
              ingest export recording.rrd --to dataset                 Parquet, first timeline
              ingest export 'logs/**/*.rrd' --to ds --timeline frame   every match, index 'frame'
              ingest export a.rrd --to ds --entity '/world/**' --fill-latest-at
              ingest export a.rrd --to ds --format arrow               Arrow IPC files for Polars
              ingest export a.rrd --to ds --row-group-bytes 67108864 --compression none --json
            """
    )

    @Argument(help: "Recordings, directories or glob patterns (.rrd, zstd-compressed or not; - for stdin).")
    var inputs: [String] = []

    @Option(name: .long, help: "The dataset's folder (created when missing).")
    var to: String

    @Option(name: .long, help: "File format: parquet (default) or arrow (Arrow IPC file format).")
    var format: String = "parquet"

    @Option(name: .long, help: "Index timeline (default: each store's first timeline by name).")
    var timeline: String?

    @Option(name: .long, help: "Entities to export (a path or a pattern like /camera/**; repeatable).")
    var entity: [String] = []

    @Flag(name: .long, help: "Fill null cells with the latest value at or before the row's time.")
    var fillLatestAt = false

    @Option(name: .long, help: "Arrow buffer bytes per Parquet row group (default 128 MiB).")
    var rowGroupBytes: Int = 128 << 20

    @Option(name: .long, help: "Parquet page compression: zstd (default), zstd:LEVEL or none.")
    var compression: String = "zstd"

    @Option(name: .long, help: "Files read at once, and stores written at once (default: the number of cores).")
    var threads: Int = ReplayOptions.onlineCores

    @Flag(name: .long, help: "Print the summary as one JSON object.")
    var json = false

    @Flag(name: .shortAndLong, help: "No progress on stderr.")
    var quiet = false

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one file, directory or pattern") }
        guard format == "parquet" || format == "arrow" else {
            throw ValidationError("--format must be parquet or arrow, got \(format)")
        }
        guard rowGroupBytes > 0 else {
            throw ValidationError("--row-group-bytes must be positive, got \(rowGroupBytes)")
        }
        guard threads > 0 && threads <= 1024 else {
            throw ValidationError("--threads must be in 1...1024, got \(threads)")
        }
        guard parquetCompression != nil else {
            throw ValidationError("--compression must be zstd, zstd:LEVEL (1...22) or none, got \(compression)")
        }
        guard !to.isEmpty else { throw ValidationError("--to needs a folder") }
    }

    var parquetCompression: ParquetCompression? {
        if compression == "none" { return ParquetCompression.none }
        if compression == "zstd" { return .zstd(level: 1) }
        if compression.hasPrefix("zstd:"), let level = Int32(compression.dropFirst(5)), (1...22).contains(level) {
            return .zstd(level: level)
        }
        return nil
    }

    var exportOptions: DatasetExport.Options {
        DatasetExport.Options(
            format: format == "arrow" ? .arrow : .parquet, timeline: timeline,
            contents: entity.isEmpty ? nil : entity.map(EntityPathPattern.init), fillLatestAt: fillLatestAt,
            rowGroupBytes: rowGroupBytes,
            parquet: ParquetWriterOptions(compression: parquetCompression ?? .zstd(level: 1)))
    }

    /// One store's outcome.
    enum Outcome: Sendable {
        case written(StoreId, DatasetExport.WrittenFile)
        case skipped(StoreId, String)
        case failed(StoreId, DatasetExport.ExportError)
    }

    /// Runs the export; `output` defaults to stdout (tests capture it).
    func execute(
        progressMode: ProgressDisplay.Mode? = nil, output: (String) -> Void = { print($0) }
    ) throws
        -> Int32
    {
        let started = MonotonicClock.now()
        let expanded = try ReplayInput.expand(inputs)
        let pipeline = ReplayPipeline(
            inputs: expanded, configuration: IngestConfiguration(),
            options: ReplayOptions(readerThreads: threads, cancellation: replayInterrupt))
        let display = ProgressDisplay(mode: quiet ? .off : progressMode)
        let report = pipeline.run(progress: { display.show($0) })
        display.finish()
        var status = IngestExitStatus.of(report)
        let ids = pipeline.hub.storeIds(kind: .recording).filter {
            (pipeline.hub.store($0)?.chunkStore.statistics.chunks ?? 0) > 0
        }
        let options = exportOptions
        let outcomes = Self.exportAll(ids, hub: pipeline.hub, to: to, options: options, threads: threads)
        var files: [JSONValue] = []
        var skipped: [JSONValue] = []
        var errors: [JSONValue] = []
        var rows = 0
        var bytes = 0
        for f in report.files { for e in f.errors { printError("ingest export: \(e)") } }
        for outcome in outcomes {
            switch outcome {
            case .written(let id, let file):
                rows += file.rows
                bytes += file.bytes
                files.append(
                    .object([
                        "path": .string(file.path), "application_id": .string(id.applicationId),
                        "recording_id": .string(id.recordingId), "timeline": file.timeline.map { .string($0) } ?? .null,
                        "rows": .int(Int64(file.rows)), "columns": .int(Int64(file.columns)),
                        "row_groups": .int(Int64(file.rowGroups)), "bytes": .int(Int64(file.bytes)),
                    ]))
            case .skipped(let id, let why):
                skipped.append(.object(["recording_id": .string(id.recordingId), "reason": .string(why)]))
            case .failed(let id, let error):
                status.raise(error.isIO ? .ioError : .damagedInput)
                printError("ingest export: \(error.message)")
                errors.append(.object(["recording_id": .string(id.recordingId), "error": .string(error.message)]))
            }
        }
        let seconds = Double(MonotonicClock.now() &- started) / 1e9
        if json {
            let object: JSONObject = [
                "command": .string("export"), "format": .string(format), "to": .string(to),
                "inputs": .array(
                    report.files.map { f in
                        .object([
                            "file": .string(f.input.description), "bytes_read": .uint(f.bytesRead),
                            "messages": .uint(f.messages), "errors": .array(f.errors.map { .string($0) }),
                        ])
                    }),
                "files": .array(files), "skipped": .array(skipped), "errors": .array(errors),
                "rows": .int(Int64(rows)), "bytes_written": .int(Int64(bytes)), "seconds": .double(seconds),
                "exit_status": .int(Int64(status.rawValue)),
            ]
            output(JSONValue.object(object).serialized())
        } else {
            var text = "ingest export: \(files.count) file(s), \(rows) rows, \(bytes) bytes written to \(to)"
            if !skipped.isEmpty { text += ", \(skipped.count) store(s) without timeline \(timeline ?? "")" }
            if !errors.isEmpty { text += ", \(errors.count) store(s) failed" }
            text += " from \(report.files.count) input(s) in " + JSONText.fixed(seconds, digits: 2) + " s"
            output(text)
        }
        pipeline.hub.shutdown(drain: false)
        return status.rawValue
    }

    /// Writes every store of `ids`, `threads` at a time (one after the other in the synchronous build).
    static func exportAll(
        _ ids: [StoreId], hub: StoreHub, to directory: String, options: DatasetExport.Options, threads: Int
    ) -> [Outcome] {
        let results = Mutex<[Outcome?]>([Outcome?](repeating: nil, count: ids.count))
        #if SYNCHRONOUS_INGESTION
        let parallelFor: ParquetParallelFor? = nil
        #else
        // Within a store, its columns are shredded and encoded on every core (one store is the common case).
        let parallelFor: ParquetParallelFor? = { count, body in
            DispatchQueue.concurrentPerform(iterations: count, execute: body)
        }
        #endif
        let body: @Sendable (Int) -> Void = { i in
            let id = ids[i]
            let outcome: Outcome
            guard let store = hub.store(id)?.chunkStore else { return }
            do throws(DatasetExport.ExportError) {
                if let file = try DatasetExport.write(
                    store, id: id, to: directory, options: options, parallelFor: parallelFor)
                {
                    outcome = .written(id, file)
                } else {
                    outcome = .skipped(id, "no timeline \(options.timeline ?? "")")
                }
            } catch {
                outcome = .failed(id, error)
            }
            results.withLock { $0[i] = outcome }
        }
        #if SYNCHRONOUS_INGESTION
        for i in ids.indices { body(i) }
        #else
        // Stores are independent: write `threads` of them at once.
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: min(threads, max(ids.count, 1))) { _ in
            while true {
                let i = next.add(1, ordering: .relaxed).oldValue
                guard i < ids.count else { return }
                body(i)
            }
        }
        #endif
        return results.withLock { $0.compactMap { $0 } }
    }

    func run() throws {
        // Columns are encoded in batches of a few megabytes (ArrowParquetWriter.batchBytes): the
        // encoding policy keeps them on the heap instead of an mmap, fault-in and munmap each.
        ReplayCommand.setEncodingAllocatorPolicy()
        let status: Int32
        do {
            status = try execute()
        } catch let error as ReplayInputError {
            try IngestExitStatus.failUsage("export", error.description)
        }
        if status != 0 { throw ExitCode(status) }
    }
}
