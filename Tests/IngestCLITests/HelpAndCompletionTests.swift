import FixtureSupport
import Foundation
import Testing

@testable import ingest

/// argument-parser's machinery as `ingest` uses it: help with the exit-status table and examples,
/// completion scripts, the help dump the man page is generated from.
@Suite("ingest: help, the exit-status table, completion scripts")
struct HelpAndCompletionTests {
    static let subcommands = ["print", "stats", "verify", "replay", "query", "export", "send"]
    static let tableHeader = "Exit status, the same for every command:"

    /// The table's lines in `text`: from the header line through the line after it that starts
    /// with "  When several apply" (nil when the header is missing).
    static func table(in text: String) -> [String]? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(of: tableHeader),
            let end = lines[start...].firstIndex(where: { $0.hasPrefix("  When several apply") })
        else { return nil }
        return Array(lines[start...end])
    }

    @Test("the exit-status table of `ingest help` and of the README agree word for word")
    func tableInHelpAndReadme() throws {
        let (status, help, _) = try runIngest(["help"])
        #expect(status == 0)
        let fromHelp = try #require(Self.table(in: help), "no table in `ingest help`:\n\(help)")
        let readmeURL = Fixtures.rrd.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("README.md")
        let readme = try String(contentsOf: readmeURL, encoding: .utf8)
        let fromReadme = try #require(Self.table(in: readme), "no table in README.md")
        #expect(fromHelp == fromReadme)
        // In the README it is a fenced block of its own: the line before is its fence.
        let lines = readme.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let at = try #require(lines.firstIndex(of: Self.tableHeader))
        #expect(lines[at - 1] == "```text" && lines[at + fromReadme.count] == "```")
        // And it is the table the code states, with a row for every status.
        #expect(fromHelp == IngestExitStatus.table.split(separator: "\n").map(String.init))
        for s in IngestExitStatus.allCases {
            #expect(fromHelp.contains { $0.hasPrefix("  \(s.rawValue) ") }, "row \(s.rawValue)")
        }
        // `--help` shows the same help.
        let (_, dashHelp, _) = try runIngest(["--help"])
        #expect(dashHelp == help)
    }

    @Test("every subcommand's help has a discussion with examples and names the exit statuses", arguments: subcommands)
    func subcommandHelp(command: String) throws {
        let (status, help, _) = try runIngest(["help", command])
        #expect(status == 0)
        #expect(help.contains("\nExamples:\n  ingest \(command) "), "\(help)")
        // Help wraps the discussion at 80 columns: compare words.
        let words = help.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(words.contains("Exit status: 0 "))
        #expect(words.contains("3 I/O error") || words.contains("3 when a file could not be opened or read"))
        #expect(words.contains("('ingest help')"))
        let examples = help.components(separatedBy: "\nExamples:\n")[1].components(separatedBy: "\n\n")[0]
        #expect(examples.split(separator: "\n").count >= 3, "at least three examples")
        for line in help.split(separator: "\n") where !line.hasPrefix("USAGE:") {
            #expect(line.count <= 80, "fits 80 columns: \(line)")
        }
    }

    @Test(
        "completion scripts for bash, zsh and fish name every subcommand; bash's parses",
        arguments: ["bash", "zsh", "fish"])
    func completionScript(shell: String) throws {
        let (status, script, err) = try runIngest(["--generate-completion-script", shell])
        #expect(status == 0, "\(err)")
        #expect(script.count > 500)
        for command in Self.subcommands { #expect(script.contains(command), "\(shell): \(command)") }
        // Options of the subcommands are completed too.
        for option in ["--json", "--reader-threads", "--entity", "--migrated"] {
            #expect(script.contains(option.dropFirst(2)), "\(shell): \(option)")
        }
        let checker: String? =
            switch shell {
            case "bash": "/bin/bash"
            case "zsh": ["/usr/bin/zsh", "/bin/zsh"].first { FileManager.default.isExecutableFile(atPath: $0) }
            default: ["/usr/bin/fish"].first { FileManager.default.isExecutableFile(atPath: $0) }
            }
        if shell == "bash" { try #require(checker != nil && FileManager.default.isExecutableFile(atPath: checker!)) }
        guard let checker else { return }  // zsh and fish are checked where installed
        let path = NSTemporaryDirectory() + "ingest-completion-\(getpid()).\(shell)"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: checker)
        p.arguments = ["-n", path]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(checker) -n rejects the \(shell) script")
    }

    @Test("the help dump the man page is generated from holds every command and the table")
    func helpDump() throws {
        let (status, dump, _) = try runIngest(["--experimental-dump-help"])
        #expect(status == 0)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(dump.utf8)) as? [String: Any])
        let command = try #require(doc["command"] as? [String: Any])
        #expect((command["discussion"] as? String)?.contains(Self.tableHeader) == true)
        let names = (command["subcommands"] as? [[String: Any]])?.compactMap { $0["commandName"] as? String }
        #expect(Set(names ?? []).isSuperset(of: Self.subcommands))
    }
}
