import ArgumentParser
import Ingestion
import RRD

/// `ingest route FILES... --application-id A --recording-id R`: the inputs re-identified.
struct RouteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route",
        abstract: "Copy recordings with their store ids re-identified (payloads not decoded).",
        discussion: """
            Like `rerun rrd route`: every message is copied in order with its store id's application id \
            and/or recording id replaced (blueprint stores too). With --recording-id and several inputs, \
            blueprint activation commands are dropped. Chunk payloads are copied as they are; a chunk the \
            input's footer manifest does not list is decoded only to write the output's manifest. \
            Exit status: 0 clean, 1 damaged input, 2 usage, 3 I/O error.
            """
    )

    @Argument(help: "Recordings to read (.rrd/.rbl, zstd-compressed or not; '-' reads stdin).")
    var files: [String] = []

    @Option(name: .customLong("application-id"), help: "Application id of the output's stores.")
    var applicationId: String?

    @Option(name: .customLong("recording-id"), help: "Recording id of the output's stores.")
    var recordingId: String?

    @OptionGroup var output: RecordingOutputOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("Give at least one FILE ('-' for stdin).") }
        if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("stdin ('-') can be read only once.") }
    }

    func run() throws {
        let writer = try output.makeWriter(command: "route", inputs: files)
        let display = output.progressDisplay(inputs: files)
        let options = output.rewriteOptions(progress: display)
        let report = try runRewrite(command: "route") { () throws(RRDError) in
            try RecordingRewrite.route(
                files, applicationId: applicationId, recordingId: recordingId, into: writer, options: options)
        }
        let status = output.finish(command: "route", report: report)
        if status != 0 { throw ExitCode(status) }
    }
}
