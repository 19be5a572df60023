import ArgumentParser
import Chunks
import Ingestion
import RRD

/// `ingest filter FILES... --drop-entity PATH --drop-timeline NAME`: the inputs without some data.
struct FilterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "filter",
        abstract: "Copy recordings without some entities or timelines (chunking unchanged).",
        discussion: """
            Like `rerun rrd filter`: every message is copied in order, except the chunks of dropped entities; \
            a chunk with a dropped timeline is written again without it (static when no timeline is left), \
            the others as they are. --drop-entity takes an entity path (that entity only, as Rerun's) or a \
            pattern: /camera/* (direct children), /camera/** (/camera and everything below). Both options \
            repeat. Exit status: 0 clean, 1 damaged input, 2 usage, 3 I/O error.
            """
    )

    @Argument(help: "Recordings to read (.rrd/.rbl, zstd-compressed or not; '-' reads stdin).")
    var files: [String] = []

    @Option(name: .customLong("drop-entity"), help: "Entity path or pattern to leave out (repeatable).")
    var dropEntities: [String] = []

    @Option(name: .customLong("drop-timeline"), help: "Timeline to leave out (repeatable).")
    var dropTimelines: [String] = []

    @OptionGroup var output: RecordingOutputOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("Give at least one FILE ('-' for stdin).") }
        if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("stdin ('-') can be read only once.") }
    }

    func run() throws {
        let writer = try output.makeWriter(command: "filter", inputs: files)
        let display = output.progressDisplay(inputs: files)
        let options = output.rewriteOptions(progress: display)
        let entities = dropEntities.map(EntityPathPattern.init)
        let timelines = Set(dropTimelines)
        let report = try runRewrite(command: "filter") { () throws(RRDError) in
            try RecordingRewrite.filter(
                files, droppingEntities: entities, droppingTimelines: timelines, into: writer, options: options)
        }
        let status = output.finish(command: "filter", report: report)
        if status != 0 { throw ExitCode(status) }
    }
}
