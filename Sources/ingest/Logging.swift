import ArgumentParser
import Logging

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// The CLI's logger: swift-log's stderr stream handler at the chosen level (no global bootstrap,
/// so tests can make several).
func makeLogger(label: String, level: Logger.Level) -> Logger {
    var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = level
    return logger
}
