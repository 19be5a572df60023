import FixtureSupport
import Foundation
import Testing

/// The plan line on stderr of a `--plan --json` run (errors of a full read may follow it), parsed.
private func planObject(_ err: String) throws -> [String: Any] {
    let line = try #require(
        err.split(separator: "\n").first { $0.hasPrefix(#"{"plan": "#) }.map(String.init), "no plan line in \(err)")
    return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
}

@Suite("ingest query: the footer manifest by default, --full-read, --plan")
struct QueryManifestTests {
    nonisolated(unsafe) static let questions: [[String: Any]] = {
        let data = try! Data(contentsOf: Fixtures.rrd.appendingPathComponent("QUERIES.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [[String: Any]]
    }()

    static func question(_ file: String, _ kind: String) throws -> [String: Any] {
        try #require(
            questions.first {
                $0["file"] as? String == file
                    && (kind == "range" ? $0["range"] != nil : kind == "at" ? $0["at"] != nil : $0["static"] as? Bool == true)
            })
    }

    @Test(
        "a file with a manifest: plan manifest with counts, the answer of --full-read",
        arguments: ["many_small_chunks.rrd", "points3d.rrd", "recording_with_blueprint.rrd", "static_only.rrd"])
    func manifestPlan(file: String) throws {
        let path = Fixtures.rrdPath(file)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        for q in Self.questions where q["file"] as? String == file {
            let args = q["args"] as! [String]
            let (s1, out, err) = try IngestBinaryTests.run(["query", path, "--plan"] + args)
            let (s2, full, fullErr) = try IngestBinaryTests.run(["query", path, "--plan", "--full-read"] + args)
            #expect(s1 == 0 && s2 == 0, "\(q["id"]!): \(err) \(fullErr)")
            #expect(out == full, "\(q["id"]!)")
            let plan = try planObject(err)
            #expect(plan["plan"] as? String == "manifest", "\(q["id"]!): \(plan)")
            let read = try #require(plan["chunks_read"] as? Int)
            let total = try #require(plan["chunks_total"] as? Int)
            #expect(read <= total)
            #expect(plan["file_size"] as? Int == size)
            #expect(try #require(plan["bytes_read"] as? Int) <= size)
            if file == "many_small_chunks.rrd" && q["at"] != nil {
                #expect(read < total / 4)
                #expect(try #require(plan["bytes_read"] as? Int) < size / 2)
            }
            let fullPlan = try planObject(fullErr)
            #expect(fullPlan["plan"] as? String == "full-read")
            #expect(fullPlan["reason"] as? String == "--full-read")
        }
    }

    @Test("no footer, a concatenation, zstd, stdin, several files: a full read, with its reason")
    func fullReads() throws {
        let q = try Self.question("points3d.rrd", "at")
        let args = q["args"] as! [String]
        let path = Fixtures.rrdPath("points3d.rrd")
        let zpath = try Fixtures.zstdCopy("points3d.rrd")
        defer { try? FileManager.default.removeItem(atPath: (zpath as NSString).deletingLastPathComponent) }
        let (_, reference, _) = try IngestBinaryTests.run(["query", path] + args)
        let cases: [([String], String)] = [
            ([zpath], "no footer"),
            (["-"], "standard input"),
            ([path, Fixtures.rrdPath("text_logs.rrd")], "several inputs"),
        ]
        for (files, reason) in cases {
            let (status, out, err) = try IngestBinaryTests.run(
                ["query"] + files + ["--plan"] + args, stdin: files == ["-"] ? path : nil)
            #expect(status == 0)
            #expect(out == reference, "\(files)")
            let plan = try planObject(err)
            #expect(plan["plan"] as? String == "full-read")
            #expect((plan["reason"] as? String)?.hasPrefix(reason) == true, "\(plan)")
        }
        for file in ["no_footer.rrd", "two_recordings_concat.rrd"] {
            let q = try Self.question(file, "at")
            let (status, out, err) = try IngestBinaryTests.run(["query", Fixtures.rrdPath(file), "--plan"] + (q["args"] as! [String]))
            #expect(status == 0)
            #expect(try planObject(err)["plan"] as? String == "full-read")
            let parsed = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? NSDictionary
            #expect(parsed?.isEqual(q["expected"] as! NSDictionary) == true, "\(out)")
        }
    }

    @Test("a footer with flipped bytes: a full read (checksum named), answering as the SDK did")
    func damagedManifest() throws {
        let name = "many_small_chunks.rrd"
        let bytes = try Fixtures.bytes(URL(fileURLWithPath: Fixtures.rrdPath(name)))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("si-qm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var flipped = bytes
        flipped[flipped.count - 32 - 20] ^= 0xA5
        let flippedPath = dir.appendingPathComponent("flipped.rrd").path
        try Data(flipped).write(to: URL(fileURLWithPath: flippedPath))
        for q in Self.questions where q["file"] as? String == name {
            let args = q["args"] as! [String]
            let (_, out, err) = try IngestBinaryTests.run(["query", flippedPath, "--plan", "--json"] + args)
            let plan = try planObject(err)
            #expect(plan["plan"] as? String == "full-read")
            #expect((plan["reason"] as? String)?.contains("checksum") == true, "\(plan)")
            let parsed = try out.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) }
            if let rows = q["expected"] as? [Any] {
                #expect((parsed as NSArray).isEqual(rows as NSArray), "\(q["id"]!)")
            } else {
                #expect((parsed.first as? NSDictionary)?.isEqual(q["expected"] as! NSDictionary) == true, "\(q["id"]!)")
            }
        }
    }

    @Test("text --plan: one readable line on stderr")
    func textPlan() throws {
        let q = try Self.question("scalars_sequence.rrd", "at")
        let args = (q["args"] as! [String]).filter { $0 != "--json" }
        let (status, _, err) = try IngestBinaryTests.run(["query", Fixtures.rrdPath("scalars_sequence.rrd"), "--plan"] + args)
        #expect(status == 0)
        #expect(err.hasPrefix("plan: manifest, "), "\(err)")
        let (_, _, quiet) = try IngestBinaryTests.run(["query", Fixtures.rrdPath("scalars_sequence.rrd")] + args)
        #expect(quiet.isEmpty)
    }
}
