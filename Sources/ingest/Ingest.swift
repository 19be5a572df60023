import ArgumentParser

#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The root command: `ingest <subcommand>`.
struct Ingest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Read, inspect, verify and replay Rerun recordings (.rrd/.rbl).",
        discussion: """
            Every command reads recordings (.rrd, .rbl, zstd-compressed or not) and '-' for \
            standard input. 'ingest help <subcommand>' shows a command's options and examples; \
            'ingest --generate-completion-script bash' (or zsh, fish) prints a completion script.

            \(IngestExitStatus.table)
            """,
        subcommands: [
            PrintCommand.self, StatsCommand.self, VerifyCommand.self, ReplayCommand.self, QueryCommand.self,
            MergeCommand.self, FilterCommand.self, RouteCommand.self, OptimizeCommand.self, ExportCommand.self,
            ServeCommand.self, SendCommand.self,
        ]
    )
}

/// The program: parses the command line, runs the command, and exits with a status of the table
/// (``IngestExitStatus``). It replaces argument-parser's `Ingest.main()` only to turn the parser's own
/// exit status for usage errors (64, `ExitCode.validationFailure`) into 2, the table's; messages,
/// help, completion scripts and every other status are argument-parser's.
@main
enum IngestMain {
    static func main() async {
        do {
            var command = try Ingest.parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            let code = Ingest.exitCode(for: error)
            guard code == .validationFailure else { Ingest.exit(withError: error) }
            printError(Ingest.fullMessage(for: error))
            exit(IngestExitStatus.code(forParserExitCode: code))
        }
    }
}
