import ArgumentParser
import Ingestion
import RRD

/// `ingest merge FILES... -o OUT`: every store of every input in one recording.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge recordings into one (every store of every input, each store's messages in input order).",
        discussion: """
            Like `rerun rrd merge`: one SetStoreInfo per store, a chunk id already written for its store is \
            dropped, chunks are copied as they are (payload bytes are not decoded again when the input's footer \
            manifest lists them), and the output ends with a footer manifest per store. The output is written \
            through a temporary file and renamed into place, so it never clobbers an input being read. Exit \
            status: 0 clean, 1 damaged input (what could be read is written), 2 usage, 3 I/O error.
            """
    )

    @Argument(help: "Recordings to read (.rrd/.rbl, zstd-compressed or not; '-' reads stdin).")
    var files: [String] = []

    @OptionGroup var output: RecordingOutputOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("Give at least one FILE ('-' for stdin).") }
        if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("stdin ('-') can be read only once.") }
    }

    func run() throws {
        let writer = try output.makeWriter(command: "merge", inputs: files)
        let display = output.progressDisplay(inputs: files)
        let options = output.rewriteOptions(progress: display)
        let report = try runRewrite(command: "merge") { () throws(RRDError) in
            try RecordingRewrite.merge(files, into: writer, options: options)
        }
        let status = output.finish(command: "merge", report: report)
        if status != 0 { throw ExitCode(status) }
    }
}
