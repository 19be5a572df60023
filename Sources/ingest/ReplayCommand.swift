import ArgumentParser
import Chunks
import Ingestion
import RRD
import Store
import Synchronization

/// `ingest replay FILE... [--json]`: reads recordings through the store hub (one EntityDb and
/// worker per store) and reports, per store, the distinct chunks and rows received.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay recordings through the ingestion engine and report per-store chunks and rows.",
        discussion: """
            Files are read in order into one hub, so the same store id in several files is one store. \
            Exits with status 1 if a file could not be read or a chunk did not decode.
            """
    )

    @Argument(help: "Recordings to replay (.rrd/.rbl, zstd-compressed or not; - for stdin).")
    var files: [String]

    @Flag(name: .long, help: "Print one JSON document with a `stores` list.")
    var json = false

    @Option(name: .long, help: "Input-queue slots per store.")
    var queueCapacity = 2000

    @Option(
        name: .long,
        help: """
            Also bound each store's input queue by this many payload bytes (default 64 MiB; payloads the \
            reading thread decompressed count their decompressed size).
            """)
    var queueBytes: Int?

    /// The byte bound when `--queue-bytes` is not given: enough for a few large chunks in flight.
    static let defaultQueueBytes = 64 << 20

    @Flag(
        name: .long,
        help: "Keep every decoded chunk: insert it into its store's chunk index (what the benchmarks compare).")
    var keep = false

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one file") }
        guard queueCapacity > 0 && queueCapacity <= 1 << 24 else {
            throw ValidationError("--queue-capacity must be in 1...16777216, got \(queueCapacity)")
        }
        if let queueBytes, queueBytes <= 0 {
            throw ValidationError("--queue-bytes must be positive, got \(queueBytes)")
        }
    }

    func run() throws {
        let kept = keep ? KeptStores() : nil
        let hub = StoreHub(
            configuration: IngestConfiguration(
                queueCapacity: queueCapacity, maxQueuedBytes: queueBytes ?? Self.defaultQueueBytes,
                insertChunk: kept?.insertHook))
        let summary = hub.replay(files: files)
        hub.shutdown(drain: true)
        if json {
            print(summary.json)
        } else {
            for st in summary.stores {
                print(
                    "\(st.storeId): \(st.chunks) chunks, \(st.rows) rows"
                        + (st.decodeErrors > 0 ? ", \(st.decodeErrors) decode errors" : ""))
            }
            for e in summary.sourceErrors { print("error: \(e.error)") }
            if let kept {
                let st = kept.totals
                print(
                    "kept \(st.chunks) chunks, \(st.rows) rows, about \(st.approximateBytes / 1_000_000) MB in chunk stores"
                )
            }
            print(
                "\(summary.messages) messages, \(summary.stores.count) stores"
                    + (StoreHub.isSynchronous ? " (synchronous build)" : ""))
        }
        if let kept {
            // The process ends here: freeing every kept chunk one by one would only add time
            // (a third of all instructions on a store of 36,000 tiny chunks); the OS reclaims it at once.
            _ = Unmanaged.passRetained(kept)
        }
        if summary.hasErrors { throw ExitCode(1) }
    }
}

/// The chunk stores `replay --keep` inserts into, one per store id, filled on the stores' workers.
final class KeptStores: Sendable {
    private let stores = Mutex<[StoreId: ChunkStore<Chunk>]>([:])

    /// The hook for ``IngestConfiguration/insertChunk``: inserts each chunk into its store's index.
    var insertHook: ChunkInsertHook {
        { [self] id, chunk in _ = try? store(id).insertChunk(chunk) }
    }

    private func store(_ id: StoreId) -> ChunkStore<Chunk> {
        stores.withLock { stores in
            if let s = stores[id] { return s }
            let s = ChunkStore<Chunk>()
            stores[id] = s
            return s
        }
    }

    /// The sums over every store: chunks and rows held, approximate bytes.
    var totals: (chunks: Int, rows: Int, approximateBytes: Int) {
        stores.withLock { stores in
            stores.values.reduce(into: (0, 0, 0)) { sum, store in
                let st = store.statistics
                sum.0 += st.chunks
                sum.1 += st.rows
                sum.2 += st.approximateBytes
            }
        }
    }
}
