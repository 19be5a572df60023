import FixtureSupport
import Foundation
import Testing

/// Runs `ingest args` with `stdin` bytes written into a pipe (not a file: a pipe cannot grow or seek);
/// returns (status, stdout, stderr, seconds).
private func runPiped(_ args: [String], stdin: [UInt8]) throws -> (Int32, String, String, Double) {
    let p = Process()
    p.executableURL = try IngestBinaryTests.binary()
    p.arguments = args
    let input = Pipe()
    let out = Pipe()
    let err = Pipe()
    p.standardInput = input
    p.standardOutput = out
    p.standardError = err
    let start = Date()
    try p.run()
    let writer = Thread {
        input.fileHandleForWriting.write(Data(stdin))
        try? input.fileHandleForWriting.close()
    }
    writer.start()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (
        p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self),
        Date().timeIntervalSince(start)
    )
}

/// The lines of a `--json` answer, parsed.
private func parsedLines(_ out: String) throws -> [Any] {
    try out.split(separator: "\n").map {
        try JSONSerialization.jsonObject(with: Data($0.utf8), options: [.fragmentsAllowed])
    }
}

@Suite("ingest query / replay: every input kind through the pipeline")
struct QueryCommandTests {
    nonisolated(unsafe) static let questions: [[String: Any]] = {
        let data = try! Data(contentsOf: Fixtures.rrd.appendingPathComponent("QUERIES.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [[String: Any]]
    }()

    /// Per fixture, its first question of each kind (latest-at, range, static).
    static var sample: [[String: Any]] {
        var seen = Set<String>()
        return questions.filter { q in
            let mode = q["static"] as? Bool == true ? "static" : (q["range"] != nil ? "range" : "at")
            return seen.insert("\(q["file"]!) \(mode)").inserted
        }
    }

    static var sampleFiles: [String] {
        var seen = Set<String>()
        return sample.map { $0["file"] as! String }.filter { seen.insert($0).inserted }
    }

    @Test(
        "a file, its zstd copy, stdin and zstd on stdin answer QUERIES.json alike (compaction off and on)",
        arguments: sampleFiles)
    func inputKinds(file: String) throws {
        let path = Fixtures.rrdPath(file)
        let zpath = try Fixtures.zstdCopy(file)
        defer { try? FileManager.default.removeItem(atPath: (zpath as NSString).deletingLastPathComponent) }
        let plainBytes = try Fixtures.bytes(URL(fileURLWithPath: path))
        let zstdBytes = try Fixtures.bytes(URL(fileURLWithPath: zpath))
        for question in Self.sample where question["file"] as? String == file {
            let args = question["args"] as! [String]
            for compact in [[], ["--compact"]] {
                let (status, reference, err) = try IngestBinaryTests.run(["query", path] + args + compact)
                #expect(status == 0, "\(question["id"]!): \(err)")
                let parsed = try parsedLines(reference)
                if let rows = question["expected"] as? [Any] {
                    #expect((parsed as NSArray).isEqual(rows as NSArray), "\(question["id"]!): got \(reference)")
                } else {
                    #expect(parsed.count == 1)
                    #expect(
                        (parsed.first as? NSDictionary)?.isEqual(question["expected"] as! NSDictionary) == true,
                        "\(question["id"]!): got \(reference)")
                }
                let (s1, z, _) = try IngestBinaryTests.run(["query", zpath] + args + compact)
                let (s2, piped, _, _) = try runPiped(["query", "-"] + args + compact, stdin: plainBytes)
                let (s3, zpiped, _, _) = try runPiped(["query", "-"] + args + compact, stdin: zstdBytes)
                #expect([s1, s2, s3] == [0, 0, 0], "\(question["id"]!)")
                #expect(z == reference, "\(question["id"]!) zstd")
                #expect(piped == reference, "\(question["id"]!) stdin")
                #expect(zpiped == reference, "\(question["id"]!) zstd on stdin")
            }
        }
    }

    @Test("damaged input: the answer is printed, the damage goes to stderr, exit status 1")
    func damaged() throws {
        let path = Fixtures.rrdPath("corrupt_truncated.rrd")
        // Not a range: latest-at and static answers print a line even when nothing is found.
        let question = try #require(
            Self.questions.first { $0["file"] as? String == "points3d.rrd" && $0["range"] == nil })
        let args = question["args"] as! [String]
        let (status, out, err) = try IngestBinaryTests.run(["query", path] + args)
        #expect(status == 1)
        #expect(!out.isEmpty)
        #expect(err.contains("ingest query: \(path): at byte 1714: truncated ArrowMsg payload"), "\(err)")
        // The same bytes on stdin: the same answer and status, the damage named by `-`.
        let bytes = try Fixtures.bytes(URL(fileURLWithPath: path))
        let (s2, out2, err2, _) = try runPiped(["query", "-"] + args, stdin: bytes)
        #expect(s2 == 1)
        #expect(out2 == out)
        #expect(err2.contains("ingest query: -: at byte 1714: truncated ArrowMsg payload"), "\(err2)")
    }

    @Test("--store picks the store by recording id or full id; an unknown one lists the stores, exit status 2")
    func storeSelection() throws {
        let path = Fixtures.rrdPath("two_recordings_concat.rrd")
        let stores = Fixtures.expectation("two_recordings_concat.rrd")["stores"] as! [[String: Any]]
        let question = try #require(Self.questions.first { $0["file"] as? String == "two_recordings_concat.rrd" })
        let args = question["args"] as! [String]
        for s in stores {
            let rec = s["recording_id"] as! String
            let full = "\(s["kind"]!):\(s["application_id"]!):\(rec)"
            let (a, byRecording, _) = try IngestBinaryTests.run(["query", path, "--store", rec] + args)
            let (b, byFull, _) = try IngestBinaryTests.run(["query", path, "--store", full] + args)
            #expect(a == 0 && b == 0)
            #expect(byRecording == byFull)
        }
        let (status, out, err) = try IngestBinaryTests.run(["query", path, "--store", "nope"] + args)
        #expect(status == 2)  // no input holds the store: "no input found" in the exit-status table
        #expect(out.isEmpty)
        #expect(err.contains("ingest query: no store nope in the input; stores: "))
        for s in stores { #expect(err.contains(s["recording_id"] as! String)) }
    }

    @Test("replay -: a pipe (plain or zstd) gives the file's stores; --follow ends at the pipe's end at once")
    func replayStdin() throws {
        let name = "no_footer.rrd"  // no End marker: following a growable input would wait for more
        let path = Fixtures.rrdPath(name)
        let bytes = try Fixtures.bytes(URL(fileURLWithPath: path))
        func stores(_ json: String) throws -> [String: [Int]] {
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            var out: [String: [Int]] = [:]
            for s in doc["stores"] as! [[String: Any]] {
                out["\(s["kind"]!):\(s["application_id"]!):\(s["recording_id"]!)"] = [
                    s["chunks"] as! Int, s["rows"] as! Int,
                ]
            }
            return out
        }
        let (s0, plain, _) = try IngestBinaryTests.run(["replay", "--json", "-q", path])
        #expect(s0 == 0)
        for input in [bytes, Fixtures.zstdCompressed(bytes, frames: 2)] {
            let (s1, piped, err, _) = try runPiped(["replay", "--json", "-q", "-"], stdin: input)
            #expect(s1 == 0, "\(err)")
            #expect(try stores(piped) == stores(plain))
            let (s2, followed, _, seconds) = try runPiped(
                ["replay", "--json", "-q", "--follow", "--idle-timeout", "30", "-"], stdin: input)
            #expect(s2 == 0)
            #expect(try stores(followed) == stores(plain))
            #expect(seconds < 20, "did not wait for the idle timeout: \(seconds) s")
        }
    }
}
