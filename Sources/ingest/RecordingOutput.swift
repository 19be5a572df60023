@preconcurrency import Glibc
import ArgumentParser
import IngestCore
import Ingestion
import RRD

/// Exit statuses of the commands that write recordings: 0 clean, 1 damaged input (the output holds
/// everything that could be read), 2 usage or no input, 3 I/O error (no output was published).
enum WriteExitStatus {
    static let damaged: Int32 = 1
    static let usage: Int32 = 2
    static let io: Int32 = 3
}

/// Options of the commands that write a recording (`merge`, `filter`, `route`, `optimize`).
struct RecordingOutputOptions: ParsableArguments {
    @Option(
        name: [.short, .customLong("output")],
        help: "Recording to write (through a temporary file renamed into place); '-' or none: standard output.")
    var output: String?

    @Flag(name: .long, help: "Print the summary as one JSON object (stderr when the recording goes to stdout).")
    var json = false

    @Flag(name: .shortAndLong, help: "No progress on stderr.")
    var quiet = false

    @Option(name: .long, help: "Compression of the chunks this command encodes: lz4 (default) or none.")
    var compression: String = "lz4"

    @Flag(name: .long, help: "fsync the output (and its folder) before reporting success.")
    var fsync = false

    @Flag(name: .long, help: .hidden)
    var noInputManifests = false

    @Option(name: .long, help: "Largest message payload accepted, in bytes.")
    var maxMessageSize: UInt64 = 1 << 30

    func validate() throws {
        guard compression == "lz4" || compression == "none" else {
            throw ValidationError("--compression must be lz4 or none, got \(compression)")
        }
    }

    var writesToStandardOutput: Bool { output == nil || output == "-" }

    var writerOptions: RRDWriter.Options {
        RRDWriter.Options(compression: compression == "none" ? .none : .lz4, fsync: fsync)
    }

    /// The writer for `--output`, after checking it may not clobber an input being read.
    /// - Throws: ``ArgumentParser/ExitCode`` (2) for a terminal or an input as standard output,
    ///   (3) when the output cannot be created.
    func makeWriter(command: String, inputs: [String]) throws -> RecordingWriter {
        if writesToStandardOutput {
            if isatty(1) == 1 {
                printError("ingest \(command): refusing to write a recording to a terminal; use -o FILE or a pipe")
                throw ExitCode(WriteExitStatus.usage)
            }
            if let input = RRDWriter.descriptor(1, isOneOf: inputs) {
                printError("ingest \(command): standard output is the input \(input), which is still being read; use -o")
                throw ExitCode(WriteExitStatus.usage)
            }
            return RecordingWriter(fileDescriptor: 1, options: writerOptions)
        }
        do {
            return try RecordingWriter(path: output!, options: writerOptions)
        } catch {
            printError("ingest \(command): \(error)")
            throw ExitCode(WriteExitStatus.io)
        }
    }

    func rewriteOptions(progress display: ProgressDisplay?) -> RewriteOptions {
        RewriteOptions(
            reader: ReaderOptions(maxMessageSize: maxMessageSize), usesInputManifests: !noInputManifests,
            progress: display.map { d in { p in d.show(rewrite: p) } })
    }

    /// A progress display for a large input on a terminal (`nil` when quiet, not a terminal, or small).
    func progressDisplay(inputs: [String]) -> ProgressDisplay? {
        guard !quiet, isatty(2) == 1 else { return nil }
        let total = inputs.reduce(UInt64(0)) { t, path in
            var st = stat()
            return t + (stat(path, &st) == 0 ? UInt64(st.st_size) : 0)
        }
        return total >= 64 << 20 || inputs.contains("-") ? ProgressDisplay(mode: .bar) : nil
    }

    static func counts(_ d: [String: Int]) -> JSONObject {
        var o = JSONObject()
        for (k, v) in d.sorted(by: { $0.key < $1.key }) { o.append(k, .int(Int64(v))) }
        return o
    }

    /// Prints the summary (stdout, or stderr when the recording went to stdout) and returns the status.
    func finish(command: String, report: RewriteReport, extra: [String: JSONValue] = [:]) -> Int32 {
        var object: JSONObject = [
            "command": .string(command), "output": .string(output ?? "-"),
            "inputs": .array(
                report.inputs.map { i in
                    .object([
                        "file": .string(i.path), "bytes_read": .uint(i.bytesRead), "messages": .int(Int64(i.messages)),
                        "used_manifest": .bool(i.usedManifest), "errors": .array(i.errors.map { .string($0) }),
                    ])
                }),
            "chunks_read": .int(Int64(report.chunksRead)), "chunks_written": .int(Int64(report.chunksWritten)),
            "rows_written": .int(Int64(report.rowsWritten)), "chunks_reencoded": .int(Int64(report.chunksReencoded)),
            "chunks_copied": .int(Int64(report.chunksCopied)), "chunks_released": .int(Int64(report.chunksReleased)),
            "chunks_filtered": .int(Int64(report.chunksFiltered)), "duplicate_chunks": .int(Int64(report.duplicateChunks)),
            "damaged_chunks": .int(Int64(report.damagedChunks)), "activations_dropped": .int(Int64(report.activationsDropped)),
            "summaries_from_manifests": .int(Int64(report.summariesFromManifests)),
            "messages_written": .object(Self.counts(report.messagesWritten)),
            "bytes_written": .uint(report.bytesWritten),
            "stores": .array(report.stores.map { $0.json }),
            "seconds": .double(Double(report.wallNanoseconds) / 1e9),
        ]
        for (k, v) in extra.sorted(by: { $0.key < $1.key }) { object[k] = v }
        for i in report.inputs { for e in i.errors { printError(e) } }
        let text: String
        if json {
            text = JSONValue.object(object).serialized()
        } else {
            var t = "ingest \(command): \(report.chunksWritten) chunks (\(report.rowsWritten) rows) written to \(output ?? "stdout")"
            t += ", \(report.bytesWritten) bytes, \(report.stores.count) store(s)"
            if report.chunksReencoded > 0 { t += ", \(report.chunksReencoded) encoded again" }
            if report.chunksFiltered > 0 { t += ", \(report.chunksFiltered) filtered out" }
            if report.duplicateChunks > 0 { t += ", \(report.duplicateChunks) duplicates dropped" }
            if report.damagedChunks > 0 { t += ", \(report.damagedChunks) damaged chunks left out" }
            if report.activationsDropped > 0 { t += ", \(report.activationsDropped) blueprint activations dropped" }
            t += " in " + JSONText.fixed(Double(report.wallNanoseconds) / 1e9, digits: 2) + " s"
            text = t
        }
        if writesToStandardOutput || !json {
            printError(text)
        } else {
            print(text)
        }
        return report.hasDamage ? WriteExitStatus.damaged : 0
    }
}

extension ProgressDisplay {
    /// Shows a rewrite's progress.
    func show(rewrite p: RewriteProgress) {
        show(
            ReplayProgress(
                filesTotal: p.inputsTotal, filesDone: p.inputsDone, filesFailed: 0, bytesRead: p.bytesRead,
                bytesTotal: p.bytesTotal, messages: 0, elapsedNanoseconds: MonotonicClock.now() &- Self.start,
                isFinal: p.isFinal))
    }

    /// When the process started showing progress.
    nonisolated(unsafe) static var start: UInt64 = MonotonicClock.now()
}

/// Runs a rewrite and turns its failure into the exit status.
func runRewrite(command: String, _ body: () throws(RRDError) -> RewriteReport) throws -> RewriteReport {
    do {
        return try body()
    } catch {
        printError("ingest \(command): \(error)")
        throw ExitCode(WriteExitStatus.io)
    }
}
