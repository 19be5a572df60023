import ArgumentParser

@main
struct Ingest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Read, inspect, verify and replay Rerun recordings (.rrd/.rbl).",
        subcommands: [
            PrintCommand.self, StatsCommand.self, VerifyCommand.self, ReplayCommand.self, QueryCommand.self,
            MergeCommand.self, FilterCommand.self, RouteCommand.self, OptimizeCommand.self,
        ]
    )
}
