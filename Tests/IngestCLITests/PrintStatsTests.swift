import CZstd
import FixtureSupport
import IngestCore
import Foundation
import RRD
import Testing

@testable import ingest

/// Parses one JSON line (key order is checked separately, on the raw text).
private func parse(_ line: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
}

private func u64(_ any: Any?) -> UInt64? { (any as? NSNumber)?.uint64Value }

/// `print --json` lines of a fixture, and the exit status it calls for.
private func printJSON(_ name: String) -> (lines: [String], status: IngestExitStatus) {
    var lines: [String] = []
    let status = PrintCommand.lines(path: Fixtures.rrdPath(name), json: true) { lines.append($0) }
    return (lines, status)
}

private func storeMatches(_ json: Any?, _ expected: [String: Any]) -> Bool {
    guard let s = json as? [String: Any] else { return false }
    return s["kind"] as? String == expected["kind"] as? String
        && s["application_id"] as? String == expected["application_id"] as? String
        && s["recording_id"] as? String == expected["recording_id"] as? String
}

@Suite("ingest print / stats against EXPECTED.json")
struct PrintStatsTests {
    static let names = Fixtures.rrdNames

    @Test("print --json: stream headers, offsets, kinds, lengths, chunk ids, stores, errors", arguments: names)
    func printMatches(name: String) throws {
        let expected = Fixtures.expectation(name)
        let (lines, status) = printJSON(name)
        let objects = try lines.map(parse)
        let streams = try #require(expected["streams"] as? [[String: Any]])
        let stores = try #require(expected["stores"] as? [[String: Any]])
        let chunks = try #require(expected["chunks"] as? [[String: Any]])

        // Every line starts with "offset", then "kind" (the contract's key order).
        for l in lines { #expect(l.hasPrefix("{\"offset\": ") && l.contains(", \"kind\": ")) }

        let headers = objects.filter { $0["kind"] as? String == "StreamHeader" }
        #expect(headers.map { u64($0["offset"]) } == streams.map { u64($0["offset"]) })
        #expect(headers.map { $0["version"] as? String } == streams.map { $0["version"] as? String })

        let messageKinds: Set<String> = ["SetStoreInfo", "ArrowMsg", "BlueprintActivationCommand", "End"]
        let ours = objects.filter { messageKinds.contains($0["kind"] as? String ?? "") }
        let theirs = streams.flatMap { ($0["messages"] as? [[String: Any]]) ?? [] }
        try #require(ours.count == theirs.count)
        for (o, e) in zip(ours, theirs) {
            #expect(u64(o["offset"]) == u64(e["offset"]))
            #expect(o["kind"] as? String == e["kind"] as? String)
            #expect(u64(o["len"]) == u64(e["len"]))
            if let cid = e["chunk_id"] as? String { #expect(o["chunk_id"] as? String == cid) }
            switch o["kind"] as? String {
            case "ArrowMsg":
                // The store: from the chunk at this offset ("kind:recording_id"), or the only store.
                let chunk = chunks.first { u64($0["message_offset"]) == u64(o["offset"]) }
                let store: [String: Any]? =
                    if let key = chunk?["store"] as? String {
                        stores.first { "\($0["kind"] as? String ?? ""):\($0["recording_id"] as? String ?? "")" == key }
                    } else { stores.count == 1 ? stores[0] : nil }
                let s = try #require(store, "\(name): no expected store for the chunk at \(o["offset"] ?? "?")")
                #expect(storeMatches(o["store"], s))
                if let rows = u64(chunk?["num_rows"]) { #expect(u64(o["rows"]) == rows) }
            case "SetStoreInfo":
                #expect(stores.contains { storeMatches(o["store"], $0) })
            default:
                break
            }
        }

        // Errors: at the reference reader's offsets, in file order.
        let errors = objects.filter { $0["kind"] as? String == "Error" }
        let refErrors = try #require((expected["reference_reader"] as? [String: Any])?["errors"] as? [[String: Any]])
        #expect(errors.map { u64($0["offset"]) } == refErrors.map { u64($0["offset"]) })
        for e in errors { #expect(!(e["error"] as? String ?? "").isEmpty) }
        #expect(status == ((expected["expect_valid"] as? Bool ?? true) ? .success : .damagedInput))
        let offsets = objects.compactMap { u64($0["offset"]) }
        #expect(offsets == offsets.sorted(), "file order")
    }

    @Test("stats --json: totals, stores, activations, validity", arguments: names)
    func statsMatch(name: String) throws {
        let expected = Fixtures.expectation(name)
        let stats = try StatsCommand.collect(path: Fixtures.rrdPath(name))
        let o = try parse(stats.json.serialized())
        let totals = try #require(expected["totals"] as? [String: Any])
        let ours = try #require(o["totals"] as? [String: Any])
        for key in ["streams", "chunks", "rows", "static_chunks"] {
            #expect(u64(ours[key]) == u64(totals[key]), "\(key)")
        }
        let messages = try #require(totals["messages"] as? [String: Any])
        let ourMessages = try #require(ours["messages"] as? [String: Any])
        for (k, v) in messages { #expect(u64(ourMessages[k]) == u64(v), "\(k)") }

        let stores = try #require(expected["stores"] as? [[String: Any]])
        let ourStores = try #require(o["stores"] as? [[String: Any]])
        #expect(ourStores.count == stores.count)
        for s in stores {
            let mine = try #require(
                ourStores.first { storeMatches($0, s) }, "\(name): store \(s["recording_id"] ?? "?")")
            for key in ["set_store_info_messages", "num_chunks", "num_rows", "num_static_chunks"] {
                #expect(u64(mine[key]) == u64(s[key]), "\(key)")
            }
        }
        let activations = try #require(expected["blueprint_activations"] as? [[String: Any]])
        let ourActivations = try #require(o["blueprint_activations"] as? [[String: Any]])
        try #require(ourActivations.count == activations.count)
        for (a, e) in zip(ourActivations, activations) {
            #expect(storeMatches(a["blueprint_id"], try #require(e["blueprint_id"] as? [String: Any])))
            #expect(a["make_active"] as? Bool == e["make_active"] as? Bool)
            #expect(a["make_default"] as? Bool == e["make_default"] as? Bool)
        }
        #expect(o["valid"] as? Bool == expected["expect_valid"] as? Bool)
        // Footer status per stream.
        let streams = try #require(expected["streams"] as? [[String: Any]])
        let ourStreams = try #require(o["streams"] as? [[String: Any]])
        try #require(ourStreams.count == streams.count)
        for (m, e) in zip(ourStreams, streams) {
            let footer = e["stream_footer"] as? [String: Any]
            #expect(m["footer"] as? String == (footer == nil ? "none" : "ok"))
            #expect(u64(m["offset"]) == u64(e["offset"]))
        }
    }
}

@Suite("ingest binary: exit status, stdin, zstd")
struct IngestBinaryTests {
    /// The `ingest` executable next to the test bundle (both live in the build products folder).
    static func binary() throws -> URL {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let url = exe.deletingLastPathComponent().appendingPathComponent("ingest")
        try #require(
            FileManager.default.isExecutableFile(atPath: url.path), "build the ingest product first: \(url.path)")
        return url
    }

    /// Runs `ingest args`, optionally with a file as stdin; returns (status, stdout, stderr).
    static func run(_ args: [String], stdin: String? = nil) throws -> (Int32, String, String) {
        let p = Process()
        p.executableURL = try binary()
        p.arguments = args
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        if let stdin { p.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: stdin)) }
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// `stats --json` output without the `file` key.
    static func withoutFile(_ json: String) throws -> NSDictionary {
        var d = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        d["file"] = nil
        return d as NSDictionary
    }

    @Test("exit status: 0 for valid fixtures, 1 for damaged ones", arguments: Fixtures.rrdNames)
    func exitStatus(name: String) throws {
        let valid = Fixtures.expectation(name)["expect_valid"] as? Bool ?? false
        for command in ["print", "stats"] {
            let (status, out, _) = try Self.run([command, "--json", Fixtures.rrdPath(name)])
            #expect(status == (valid ? 0 : 1), "\(command)")
            #expect(!out.isEmpty)
        }
    }

    @Test("stdin and zstd input give the same stats as the plain file")
    func stdinAndZstd() throws {
        let path = Fixtures.rrdPath("points3d.rrd")
        let (s0, plain, _) = try Self.run(["stats", "--json", path])
        #expect(s0 == 0)
        let (s1, piped, _) = try Self.run(["stats", "--json", "-"], stdin: path)
        #expect(s1 == 0)
        #expect(try Self.withoutFile(piped) == Self.withoutFile(plain))

        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var compressed = [UInt8](repeating: 0, count: ZSTD_compressBound(bytes.count))
        let n = compressed.withUnsafeMutableBytes { dst in
            bytes.withUnsafeBytes { src in ZSTD_compress(dst.baseAddress, dst.count, src.baseAddress, src.count, 3) }
        }
        try #require(ZSTD_isError(n) == 0)
        let zpath = NSTemporaryDirectory() + "ingest-cli-\(getpid()).rrd.zst"
        try Data(compressed[..<n]).write(to: URL(fileURLWithPath: zpath))
        defer { try? FileManager.default.removeItem(atPath: zpath) }
        let (s2, z, _) = try Self.run(["stats", "--json", zpath])
        #expect(s2 == 0)
        #expect(try Self.withoutFile(z) == Self.withoutFile(plain))
        // print too: identical lines.
        let (_, p1, _) = try Self.run(["print", "--json", path])
        let (_, p2, _) = try Self.run(["print", "--json", zpath])
        #expect(p1 == p2)
    }

    @Test("several inputs: every JSON line names its file; text mode has one line per JSON line")
    func severalInputs() throws {
        let a = Fixtures.rrdPath("no_footer.rrd")
        let b = Fixtures.rrdPath("corrupt_truncated.rrd")
        let (status, out, err) = try Self.run(["print", "--json", a, b])
        #expect(status == 1)
        #expect(err.contains("corrupt_truncated.rrd"))
        let lines = out.split(separator: "\n").map(String.init)
        let files = try lines.map { try #require(try parse($0)["file"] as? String) }
        #expect(Set(files) == [a, b])
        #expect(files == files.sorted { ($0 == a ? 0 : 1) < ($1 == a ? 0 : 1) }, "inputs in argument order")
        let (_, text, _) = try Self.run(["print", a, b])
        #expect(text.split(separator: "\n").count == lines.count)
        #expect(text.contains("truncated ArrowMsg payload"))
        let (statsStatus, statsOut, _) = try Self.run(["stats", "--json", a, b])
        #expect(statsStatus == 1)
        #expect(statsOut.split(separator: "\n").count == 2)
        let (_, statsText, _) = try Self.run(["stats", a])
        #expect(statsText.contains("footer none"))
        #expect(statsText.contains("errors: none"))
    }

    @Test("usage errors: no file, stdin twice")
    func usage() throws {
        let (s1, _, e1) = try Self.run(["print"])
        #expect(s1 != 0 && !e1.isEmpty)
        let (s2, _, _) = try Self.run(["stats", "-", "-"])
        #expect(s2 != 0)
    }
}
