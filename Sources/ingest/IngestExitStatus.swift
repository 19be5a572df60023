import ArgumentParser
import Ingestion
import RRD

/// The exit statuses of every `ingest` command: the table ``table`` that `ingest help` and the
/// README show, word for word.
///
/// A command starts at ``success`` and raises its status with ``raise(_:)`` as it meets damage or
/// I/O errors; the largest status wins. It ends with ``exit()``, which returns for ``success`` and
/// throws `ExitCode` otherwise. A usage problem found while running (no recording under a
/// directory, an unknown `--store`) is one line on stderr and ``usage`` (``failUsage(_:_:)``);
/// argument-parser's own validation errors become ``usage`` in `IngestMain.main()`.
///
/// ```swift
/// var status = IngestExitStatus.success
/// for path in files {
///     guard let result = try? read(path) else { status.raise(.ioError); continue }
///     if result.damaged { status.raise(.damagedInput) }
/// }
/// try status.exit()
/// ```
enum IngestExitStatus: Int32, Comparable, Sendable, CaseIterable {
    /// Every input was read cleanly.
    case success = 0
    /// Some input was damaged; everything readable was still read (and ingested).
    case damagedInput = 1
    /// A usage error, or no input found.
    case usage = 2
    /// An I/O error: an input could not be opened, or reading it failed (the others were still read).
    case ioError = 3
    /// `replay` stopped by Ctrl-C (SIGINT), the shell's convention (128 + 2).
    case interrupted = 130

    static func < (a: IngestExitStatus, b: IngestExitStatus) -> Bool { a.rawValue < b.rawValue }

    /// The table shown by `ingest help` (the root command's discussion) and by the README, word
    /// for word (a test compares them). Lines stay under 80 columns, so help does not rewrap them.
    static let table = """
        Exit status, the same for every command:
          0    every input was read cleanly
          1    some input was damaged; everything readable was still ingested
          2    usage error, or no input found (a directory or pattern without
               recordings, a --store that no input holds)
          3    an I/O error: an input could not be opened, or reading it failed
               (the other inputs are still read)
          130  replay stopped by Ctrl-C (the summary covers what was read)
          When several apply, the largest wins: 3 over 1, 130 over all.
        """

    /// Raises the status to `other` if that is larger (the largest wins).
    mutating func raise(_ other: IngestExitStatus) { self = max(self, other) }

    /// The status an error of the stream layer calls for: ``ioError`` for ``RRD/RRDError/Code/io``,
    /// ``damagedInput`` for damage in the bytes.
    static func of(_ error: RRDError) -> IngestExitStatus { error.code == .io ? .ioError : .damagedInput }

    /// The status a replay's report calls for: ``ioError`` when an I/O error ended an input,
    /// ``damagedInput`` when an input failed otherwise, and ``interrupted`` over both when the run
    /// was cancelled (Ctrl-C).
    static func of(_ report: ReplayReport) -> IngestExitStatus {
        var status = IngestExitStatus.success
        for file in report.files where file.failed {
            status.raise(file.stoppedByIOError ? .ioError : .damagedInput)
        }
        if report.interrupted { status.raise(.interrupted) }
        return status
    }

    /// Ends a command's `run()` with this status.
    /// - Throws: `ExitCode(rawValue)` unless the status is ``success``.
    func exit() throws(ExitCode) {
        if self != .success { throw ExitCode(rawValue) }
    }

    /// Writes `ingest COMMAND: message` to stderr and ends the command with ``usage``.
    /// - Throws: `ExitCode(2)`, always.
    static func failUsage(_ command: String, _ message: String) throws(ExitCode) -> Never {
        printError("ingest \(command): \(message)")
        throw ExitCode(IngestExitStatus.usage.rawValue)
    }

    /// The status argument-parser's exit code for `error` stands for: its validation failures
    /// (`ExitCode.validationFailure`, 64: unknown options, missing arguments, `validate()`) are
    /// usage errors; everything else keeps its code.
    static func code(forParserExitCode code: ExitCode) -> Int32 {
        code == .validationFailure ? IngestExitStatus.usage.rawValue : code.rawValue
    }
}
