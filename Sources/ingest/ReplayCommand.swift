import ArgumentParser
import Ingestion
import RRD

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

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one file") }
        guard queueCapacity > 0 else { throw ValidationError("--queue-capacity must be positive") }
    }

    func run() throws {
        let hub = StoreHub(configuration: IngestConfiguration(queueCapacity: queueCapacity))
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
            print(
                "\(summary.messages) messages, \(summary.stores.count) stores"
                    + (StoreHub.isSynchronous ? " (synchronous build)" : ""))
        }
        if summary.hasErrors { throw ExitCode(1) }
    }
}
