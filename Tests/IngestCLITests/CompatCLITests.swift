import FixtureSupport
import Foundation
import IngestCore
import Ingestion
import RRD
import Testing

@testable import ingest

private func parse(_ line: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
}

private func int(_ any: Any?) -> Int? { (any as? NSNumber)?.intValue }

private func storeKey(_ any: Any?) -> String {
    guard let s = any as? [String: Any] else { return "-" }
    return CompatFixtures.storeKey(s)
}

/// A chunk line of `print -v --json` / `verify --json` as a ``ChunkView`` (no descriptors there:
/// components are names and types; no schema metadata).
private func view(_ o: [String: Any], id: String?) -> ChunkView {
    var timelines: [String: [String]] = [:]
    for (name, t) in (o["timelines"] as? [String: [String: Any]]) ?? [:] {
        timelines[name] = [t["arrow_type"] as? String ?? "", "\(t["min"] ?? "")", "\(t["max"] ?? "")"]
    }
    // Component order: the JSON object keeps the chunk's (JSONSerialization does not); compare as a set.
    let components = ((o["components"] as? [String: String]) ?? [:]).map { [$0.key, $0.value] }.sorted { $0[0] < $1[0] }
    return ChunkView(
        id: id ?? "", entityPath: o["entity_path"] as? String ?? "", numRows: int(o["num_rows"]) ?? -1,
        isStatic: o["is_static"] as? Bool ?? false, timelines: timelines, components: components, schemaMetadata: nil)
}

/// A ground-truth chunk reduced to what the CLI prints.
private func reduced(_ v: ChunkView) -> ChunkView {
    var r = v
    r.components = v.components.map { [$0[0], $0[1]] }.sorted { $0[0] < $1[0] }
    r.schemaMetadata = nil
    return r
}

private func byId(_ views: [String: [ChunkView]]) -> [String: (store: String, view: ChunkView)] {
    var out: [String: (String, ChunkView)] = [:]
    for (store, list) in views { for v in list { out[v.id] = (store, reduced(v)) } }
    return out
}

/// `ingest print`, `stats`, `verify`, `replay` and `query` on every recording of rerun-sdk 0.23 … 0.40
/// (`Fixtures/rrd/compat`): exit 0, no errors, footers as written, counts per store and per chunk as
/// `EXPECTED.json` has them (raw: print and verify are inspectors), the migrated view as
/// `MIGRATED.json`, answers as `QUERIES.json`.
@Suite("Old recordings through the CLI (Fixtures/rrd/compat)")
struct CompatCLITests {
    @Test(
        "print -v --json: every stream header, message and chunk (id, static, store, rows, timelines, columns)",
        arguments: CompatFixtures.cases)
    func print(c: CompatCase) throws {
        var lines: [String] = []
        let status = PrintCommand.lines(path: c.path, json: true, verbose: true) { lines.append($0) }
        #expect(status == .success)
        let objects = try lines.map(parse)
        #expect(objects.filter { $0["kind"] as? String == "Error" }.isEmpty)
        let streams = c.expected["streams"] as! [[String: Any]]
        #expect(
            objects.filter { $0["kind"] as? String == "StreamHeader" }.map { int($0["offset"]) }
                == streams.map { int($0["offset"]) })
        #expect(
            objects.filter { $0["kind"] as? String == "StreamFooter" }.count
                == streams.filter { $0["footer_status"] as? String == "ok" }.count)
        let raw = byId(CompatFixtures.rawView(c))
        let arrows = objects.filter { $0["kind"] as? String == "ArrowMsg" }
        #expect(arrows.count == raw.count)
        for a in arrows {
            let id = try #require(
                a["chunk_id"] as? String,
                "\(c): every ArrowMsg has a chunk id (from the schema when the message lacks one)")
            let want = try #require(raw[id], "\(c): unknown chunk \(id)")
            #expect(view(a, id: id) == want.view, "\(c)")
            #expect(int(a["rows"]) == want.view.numRows)
            #expect(storeKey(a["store"]) == want.store)
        }
        // The text form prints every chunk id too.
        var text: [String] = []
        PrintCommand.lines(path: c.path, json: false) { text.append($0) }
        #expect(!text.contains { $0.contains("chunk_?") })
    }

    @Test(
        "stats: footers, totals, stores (chunks, rows, static chunks, SetStoreInfo, activations)",
        arguments: CompatFixtures.cases)
    func stats(c: CompatCase) throws {
        let stats = try StatsCommand.collect(path: c.path)
        #expect(stats.errors.isEmpty, "\(stats.errors)")
        let doc = stats.json
        let o = try parse(doc.serialized())
        let streams = c.expected["streams"] as! [[String: Any]]
        #expect(
            (o["streams"] as! [[String: Any]]).map { $0["footer"] as? String }
                == streams.map { $0["footer_status"] as? String })
        let totals = o["totals"] as! [String: Any]
        let want = c.expected["totals"] as! [String: Any]
        for k in ["streams", "chunks", "rows", "static_chunks"] { #expect(int(totals[k]) == int(want[k]), "\(c) \(k)") }
        var messages = want["messages"] as! [String: Int]
        if c.hasTrailingEnd { messages["End", default: 0] += 1 }
        #expect((totals["messages"] as! [String: Int]) == messages)
        let stores = Dictionary(
            ((o["stores"] as! [[String: Any]]).map { (CompatFixtures.storeKey($0), $0) }),
            uniquingKeysWith: { a, _ in a })
        let expected = c.expected["stores"] as! [[String: Any]]
        #expect(Set(stores.keys) == Set(expected.map(CompatFixtures.storeKey)))
        let activations = (o["blueprint_activations"] as! [[String: Any]]).map { storeKey($0["blueprint_id"]) }
        for s in expected {
            let key = CompatFixtures.storeKey(s)
            let ours = try #require(stores[key])
            for k in ["num_chunks", "num_rows", "num_static_chunks", "set_store_info_messages"] {
                #expect(int(ours[k]) == int(s[k]), "\(c) \(key) \(k)")
            }
            #expect(activations.filter { $0 == key }.count == int(s["activations"]), "\(c) \(key) activations")
        }
        #expect(activations.allSatisfy { stores[$0] != nil }, "an activation names a store of the file")
    }

    @Test("verify --json (raw) and --migrated (0.41's names): status 0, every chunk", arguments: CompatFixtures.cases)
    func verify(c: CompatCase) throws {
        let (status, out, err) = try IngestBinaryTests.run(["verify", "--json", "--migrated", c.path])
        #expect(status == 0, "\(err)")
        let raw = byId(CompatFixtures.rawView(c))
        let migrated = byId(CompatFixtures.migratedView(c))
        let lines = try out.split(separator: "\n").map { try parse(String($0)) }
        #expect(lines.count == raw.count)
        for o in lines {
            let id = try #require(o["chunk_id"] as? String)
            #expect(view(o, id: id) == raw[id]?.view, "\(c) raw")
            #expect(storeKey(o["store"]) == raw[id]?.store)
            let m = try #require(o["migrated"] as? [String: Any])
            var after = raw[id]!.view
            after.entityPath = m["entity_path"] as! String
            after.components = view(m, id: id).components
            #expect(after == migrated[id]?.view, "\(c) migrated")
        }
        let (textStatus, text, _) = try IngestBinaryTests.run(["verify", c.path])
        #expect(textStatus == 0 && text.hasSuffix("verified, OK\n"))
    }

    @Test(
        "replay --json: status 0, the expected stores with their chunks and rows (and with --no-migrate)",
        arguments: CompatFixtures.cases)
    func replay(c: CompatCase) throws {
        var want: [String: [Int]] = [:]
        for s in c.expected["stores"] as! [[String: Any]] {
            want[CompatFixtures.storeKey(s)] = [int(s["num_chunks"])!, int(s["num_rows"])!]
        }
        for extra in [[], ["--no-migrate"]] {
            let cmd = try ReplayCommand.arguments(["--json", "-q", c.path] + extra)
            var out = ""
            let (_, status) = try cmd.execute(cancellation: ReplayCancellation(), output: { out += $0 })
            #expect(status == 0, "\(c) \(extra)")
            let doc = try parse(out)
            var got: [String: [Int]] = [:]
            for s in doc["stores"] as! [[String: Any]] {
                got[CompatFixtures.storeKey(s)] = [int(s["chunks"])!, int(s["rows"])!]
            }
            #expect(got == want, "\(c) \(extra)")
            #expect((doc["stores"] as! [[String: Any]]).allSatisfy { int($0["decode_errors"]) == 0 })
        }
    }

    @Test(
        "query: one question per version through the binary, with today's names (QUERIES.json)",
        arguments: CompatFixtures.versions)
    func query(version: String) throws {
        let questions = CompatFixtures.questions.filter { $0["version"] as? String == version }
        // A renamed name where the version has one (the point of the migration), else the first.
        let q = try #require(
            questions.first {
                ($0["component"] as! String).hasPrefix("RecordingInfo:") || ($0["entity"] as! String) == "/__properties"
            }
                ?? questions.first)
        let path = CompatCase(version: version, file: q["file"] as! String).path
        let (status, out, err) = try IngestBinaryTests.run(["query", path] + (q["args"] as! [String]))
        #expect(status == 0, "\(err)")
        let lines = out.split(separator: "\n").map(String.init)
        let parsed = lines.map { try! JSONSerialization.jsonObject(with: Data($0.utf8), options: [.fragmentsAllowed]) }
        if let rows = q["expected"] as? [Any] {
            #expect((parsed as NSArray).isEqual(rows as NSArray))
        } else {
            #expect(
                (parsed.first as? NSDictionary)?.isEqual(q["expected"] as! NSDictionary) == true, "\(q["id"]!): \(out)")
        }
    }

    @Test("query --no-migrate: the oldest version's raw names and paths answer what today's names answer by default")
    func noMigrate() throws {
        // The oldest SDK of the corpus (0.23: most renames); a corpus of versions without renames
        // (check_holdouts.sh with 0.28+) has nothing to ask.
        let version = try #require(CompatFixtures.versions.first)
        let renames = CompatFixtures.versionKey(version).lexicographicallyPrecedes([0, 28])
        let mapping = (CompatFixtures.migrated["versions"] as! [String: Any])[version] as! [String: Any]
        var asked = 0
        for q in CompatFixtures.questions where q["version"] as? String == version {
            // Questions with an answer (a miss is a miss under any name).
            guard
                (q["expected"] as? [String: Any])?["found"] as? Bool == true
                    || !((q["expected"] as? [Any]) ?? []).isEmpty
            else { continue }
            let file = q["file"] as! String
            let chunks =
                ((mapping[file] as! [String: Any])["migration"] as! [String: Any])["chunks"] as! [[String: Any]]
            // The raw entity path and column of the migrated one asked (from 0.41's own mapping).
            guard
                let (rawEntity, rawColumn) = chunks.lazy.compactMap({ ch -> (String, String)? in
                    guard ch["migrated_entity_path"] as? String == q["entity"] as? String,
                        let columns = ch["columns"] as? [String: Any],
                        let raw = columns.first(where: { $0.value as? String == q["component"] as? String })?.key
                    else { return nil }
                    return (ch["raw_entity_path"] as! String, raw)
                }).first,
                rawColumn != q["component"] as? String
            else { continue }
            var args = q["args"] as! [String]
            args[args.firstIndex(of: "--entity")! + 1] = rawEntity
            args[args.firstIndex(of: "--component")! + 1] = rawColumn
            let path = CompatCase(version: version, file: file).path
            let (status, out, _) = try IngestBinaryTests.run(["query", "--no-migrate", path] + args)
            let (_, today, _) = try IngestBinaryTests.run(["query", path] + (q["args"] as! [String]))
            #expect(status == 0 && out == today, "\(q["id"]!)")
            // And today's name means nothing in the raw view.
            let (_, none, _) = try IngestBinaryTests.run(["query", "--no-migrate", path] + (q["args"] as! [String]))
            #expect(none != today, "\(q["id"]!)")
            asked += 1
            if asked == 6 { break }
        }
        #expect(asked > 0 || !renames)
    }
}
