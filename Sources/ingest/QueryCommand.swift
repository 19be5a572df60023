import ArgumentParser
import Chunks
import IngestCore
import Ingestion
import RRD
import Store

#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `ingest query FILE... --entity PATH --component COLUMN (--timeline NAME (--at T | --range T0..T1) | --static)`
struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Load recordings into chunk stores and answer one latest-at, range or static query.",
        discussion: """
            One file with a valid footer manifest (an uncompressed single-stream .rrd, as the SDK and \
            'ingest merge' write) is answered from its manifest: only the chunks that can change the \
            answer are read (checked against the manifest: ids, offsets, ranges). Otherwise, or with \
            --full-read, or when any check fails, every input is replayed through the ingestion pipeline \
            (as `ingest replay` does) into one chunk store per store id (the same id in several files is \
            one store; repeated chunks are duplicates); the answer is the same either way, but damage in \
            chunks the manifest skips goes unseen (exit status 0: check files with --full-read or \
            'ingest verify'). --plan says \
            which way was taken, on stderr (with --json one object {"plan": "manifest", "chunks_read", \
            "chunks_total", "bytes_read", "file_size"} or {"plan": "full-read", "reason"}). The query goes \
            to --store if given, else to the first store (in order of appearance) holding data for the entity. Negative times are \
            written --at=-1 and --range=-5..3. With --json: latest-at and static print one object \
            {"found", "time", "row_id", "value"}; a range prints one object {"time", "row_id", "value"} \
            per row in (time, RowId) order, and nothing when no row matches. The answer is printed even \
            when an input was damaged or could not be opened (one line on stderr each). Exit status: 0 \
            clean, 1 damaged, 2 usage error or a --store no input holds, 3 I/O error ('ingest help').

            Examples:
              ingest query scalars.rrd --entity /plot/sin --component Scalars:scalars \\
                  --timeline frame --at 10
              ingest query scalars.rrd --entity /plot/sin --component Scalars:scalars \\
                  --timeline frame --range=15..44 --json
              ingest query text_logs.rrd --entity /docs/readme \\
                  --component TextDocument:text --static
              ingest query a.rrd b.rrd --store fixture-points3d --entity /world/points \\
                  --component Points3D:positions --timeline frame --at=-1
            """
    )

    @Argument(help: "Recordings (.rrd/.rbl, zstd-compressed or not; '-' reads stdin).")
    var files: [String]

    @Option(help: "Entity path as the recording writes it (escapes included).")
    var entity: String

    @Option(help: "Component column name, e.g. Points3D:positions.")
    var component: String

    @Option(help: "Timeline name (required unless --static).")
    var timeline: String?

    @Option(help: "Latest-at time: a sequence number, or nanoseconds for timestamp/duration timelines.")
    var at: Int64?

    @Option(help: "Inclusive time range T0..T1.")
    var range: String?

    @Flag(name: .customLong("static"), help: "Query static data (no timeline).")
    var staticData = false

    @Option(help: "Store to query: its recording id, or kind:application:recording.")
    var store: String?

    @Flag(help: "Compact small chunks on insert (answers never change; for checking that they do not).")
    var compact = false

    @Flag(help: "Print the stable JSON form.")
    var json = false

    @Flag(name: .customLong("full-read"), help: "Replay every input in full even when a footer manifest could answer.")
    var fullRead = false

    @Flag(help: "Say on stderr whether the footer manifest or a full read answered (JSON with --json).")
    var plan = false

    @Flag(
        name: .customLong("no-migrate"),
        help: """
            Query recordings from older SDKs under the names their bytes hold (e.g. Scalar, \
            /__properties/recording) instead of today's (Scalars:scalars, /__properties).
            """)
    var noMigrate = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("Give at least one FILE ('-' for stdin).") }
        if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("stdin ('-') can be read only once.") }
        let modes = [at != nil, range != nil, staticData].filter { $0 }.count
        guard modes == 1 else { throw ValidationError("Give exactly one of --at, --range, --static.") }
        if !staticData && timeline == nil { throw ValidationError("--at and --range need --timeline.") }
        if staticData && timeline != nil { throw ValidationError("--static takes no --timeline.") }
        if let range, StoreQuery.parseRange(range) == nil {
            throw ValidationError("--range must be T0..T1 with integers, e.g. --range=-5..3 (got \(range)).")
        }
    }

    func run() throws {
        let mode: StoreQuery.Mode
        if let at, let timeline {
            mode = .latestAt(timeline: timeline, time: at)
        } else if let range, let timeline, let (lo, hi) = StoreQuery.parseRange(range) {
            mode = .range(timeline: timeline, from: lo, through: hi)
        } else {
            mode = .staticData
        }
        let query = StoreQuery(entity: entity, component: component, mode: mode)
        let reason: String
        if fullRead {
            reason = "--full-read"
        } else if files.count != 1 || files[0] == "-" {
            reason = files.count != 1 ? "several inputs" : "standard input"
        } else {
            do {
                let index = try RecordingIndex(path: files[0])
                let loaded = try index.load(
                    query, store: store,
                    configuration: ChunkStoreConfiguration(compaction: compact ? .batched : nil),
                    migratesSchemas: !noMigrate)
                // The process ends next: freeing every stored chunk one by one would only cost time.
                defer { _ = loaded.chunkStore.map { Unmanaged.passRetained($0) } }
                if plan {
                    printPlan(
                        json
                            ? #"{"plan": "manifest", "chunks_read": \#(loaded.chunksRead), "chunks_total": \#(loaded.chunksTotal), "bytes_read": \#(loaded.bytesRead), "file_size": \#(loaded.fileSize)}"#
                            : "plan: manifest, \(loaded.chunksRead) of \(loaded.chunksTotal) chunks, \(loaded.bytesRead) of \(loaded.fileSize) bytes read")
                }
                for line in json ? query.jsonLines(in: loaded.chunkStore) : query.textLines(in: loaded.chunkStore) {
                    print(line)
                }
                return
            } catch {
                reason = error.reason
            }
        }
        if plan {
            printPlan(json ? #"{"plan": "full-read", "reason": \#(JSONText.quoted(reason))}"# : "plan: full read (\(reason))")
        }

        // Loaded through the pipeline `replay` runs (one reader, so stores are first seen in file order).
        let pipeline = ReplayPipeline(
            inputs: files.map { $0 == "-" ? .standardInput : .file($0) },
            configuration: IngestConfiguration(
                chunkStore: ChunkStoreConfiguration(compaction: compact ? .batched : nil),
                migratesSchemas: !noMigrate),
            options: ReplayOptions(readerThreads: 1))
        let report = pipeline.run()
        // The process ends next: freeing every stored chunk one by one would only cost time.
        defer { _ = Unmanaged.passRetained(pipeline) }
        for file in report.files {
            for error in file.errors { printError(error) }
        }
        var status = IngestExitStatus.of(report)
        let stores = pipeline.hub.allStores
        let target: ChunkStore<Chunk>?
        if let store {
            guard
                let match = stores.first(where: { $0.storeId.description == store || $0.storeId.recordingId == store })
            else {
                let known = stores.map(\.storeId.description).joined(separator: ", ")
                status.raise(.usage)
                printError("no store \(store) in the input; stores: \(known)")
                throw ExitCode(status.rawValue)
            }
            target = match.chunkStore
        } else {
            target = pipeline.hub.store(holding: entity)?.chunkStore
        }
        for line in json ? query.jsonLines(in: target) : query.textLines(in: target) { print(line) }
        // The answer is printed either way; damaged or unreadable input is reported on stderr and in the status.
        try status.exit()
    }

    private func printPlan(_ line: String) {
        fputs(line + "\n", stderr)
    }

    private func printError(_ message: String) {
        fputs("ingest query: \(message)\n", stderr)
    }
}
