import ArrowIPC
import Chunks
import FixtureSupport
import Foundation
import IngestCore
import Ingestion
import RRD
import Store
import Testing

extension ChunkView {
    /// The view of a chunk the engine handed out.
    init(_ chunk: Chunk) {
        var timelines: [String: [String]] = [:]
        for t in chunk.timelines {
            timelines[t.name] = [t.arrowType, t.min.map { String($0) } ?? "", t.max.map { String($0) } ?? ""]
        }
        self.init(
            id: chunk.id.description, entityPath: chunk.entityPath, numRows: chunk.numRows, isStatic: chunk.isStatic,
            timelines: timelines,
            components: chunk.components.map {
                [$0.name, $0.arrowType, $0.archetype ?? "", $0.component, $0.componentType ?? ""]
            },
            schemaMetadata: Dictionary(chunk.schemaMetadata.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        )
    }
}

/// The engine (``StoreHub``) on recordings of rerun-sdk 0.23 … 0.40, threaded and synchronous builds:
/// by default every chunk comes out (and is stored) as rerun-sdk 0.41's reader gives it
/// (`MIGRATED.json`, `QUERIES.json` `streams` for concatenations); with migration off, as the bytes
/// hold it (`EXPECTED.json`).
@Suite("Old recordings through the engine (Fixtures/rrd/compat)")
struct CompatEngineTests {
    /// Replays one file; returns the chunks handed out, by store key, and the hub (shut down).
    static func replay(
        _ c: CompatCase, migrating: Bool
    ) -> (chunks: [String: [ChunkView]], hub: StoreHub, summary: ReplaySummary) {
        let hub = StoreHub(configuration: IngestConfiguration(migratesSchemas: migrating))
        var chunks: [String: [ChunkView]] = [:]
        let summary = hub.replay(files: [c.path]) { db, item in
            if let chunk = item.chunk { chunks[db.storeId.description, default: []].append(ChunkView(chunk)) }
        }
        hub.shutdown(drain: true)
        return (chunks, hub, summary)
    }

    static func compare(_ ours: [String: [ChunkView]], _ theirs: [String: [ChunkView]], _ c: CompatCase) {
        #expect(Set(ours.keys) == Set(theirs.keys), "\(c): stores")
        for (key, want) in theirs {
            let got = ours[key] ?? []
            #expect(got.count == want.count, "\(c) \(key): \(got.count) chunks, want \(want.count)")
            let byId = Dictionary(got.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            for w in want {
                #expect(byId[w.id] == w, "\(c) \(key)\n got  \(byId[w.id].map(\.description) ?? "nothing")\n want \(w)")
            }
        }
    }

    @Test(
        "default: every chunk as rerun-sdk 0.41 gives it; one store per expected store, no error",
        arguments: CompatFixtures.cases)
    func migrated(c: CompatCase) throws {
        let (chunks, hub, summary) = Self.replay(c, migrating: true)
        #expect(!summary.hasErrors, "\(summary.sourceErrors.map(\.error))")
        Self.compare(chunks, CompatFixtures.migratedView(c), c)
        let expected = Set((c.expected["stores"] as! [[String: Any]]).map(CompatFixtures.storeKey))
        #expect(Set(hub.storeIds().map(\.description)) == expected)
        var counts: [String: [Int]] = [:]
        for s in summary.stores { counts[s.storeId.description] = [s.chunks, s.rows] }
        var want: [String: [Int]] = [:]
        for s in c.expected["stores"] as! [[String: Any]] {
            want[CompatFixtures.storeKey(s)] = [s["num_chunks"] as! Int, s["num_rows"] as! Int]
        }
        #expect(counts == want)
    }

    @Test("migratesSchemas false: every chunk as the bytes hold it", arguments: CompatFixtures.cases)
    func raw(c: CompatCase) throws {
        let (chunks, _, summary) = Self.replay(c, migrating: false)
        #expect(!summary.hasErrors)
        Self.compare(chunks, CompatFixtures.rawView(c), c)
    }

    @Test(
        "the engine's chunk stores answer QUERIES.json's questions (today's names) as rerun-sdk 0.41 does",
        arguments: CompatFixtures.versions)
    func queries(version: String) throws {
        let questions = CompatFixtures.questions.filter { $0["version"] as? String == version }
        try #require(!questions.isEmpty)
        for file in Set(questions.map { $0["file"] as! String }).sorted() {
            let hub = StoreHub()
            _ = hub.replay(files: [CompatCase(version: version, file: file).path])
            hub.flush()
            for q in questions where q["file"] as? String == file {
                let key = CompatFixtures.storeKey(q["store"] as! [String: Any])
                let db = try #require(hub.storeIds().first { $0.description == key }.flatMap(hub.store))
                let lines = try FixtureQuestions.query(q).jsonLines(in: db.chunkStore)
                try FixtureQuestions.check(lines, q)
            }
            hub.shutdown(drain: true)
        }
    }
}

/// `QUERIES.json` questions (the SDK's answers: `Fixtures/rrd`'s and the compat corpus') as
/// ``StoreQuery``s, and the check of an answer.
enum FixtureQuestions {
    /// The store id of a question.
    static func storeId(_ q: [String: Any]) -> StoreId {
        let store = q["store"] as! [String: Any]
        return StoreId(
            kind: (store["kind"] as! String) == "blueprint" ? .blueprint : .recording,
            applicationId: store["application_id"] as! String, recordingId: store["recording_id"] as! String)
    }

    /// The question as a ``StoreQuery``; a question that is none of latest-at, range and static fails.
    static func query(_ q: [String: Any]) throws -> StoreQuery {
        let entity = q["entity"] as! String
        let component = q["component"] as! String
        if let at = q["at"] as? NSNumber {
            return StoreQuery(
                entity: entity, component: component,
                mode: .latestAt(timeline: q["timeline"] as! String, time: at.int64Value))
        }
        if let range = q["range"] as? [NSNumber] {
            return StoreQuery(
                entity: entity, component: component,
                mode: .range(
                    timeline: q["timeline"] as! String, from: range[0].int64Value, through: range[1].int64Value))
        }
        try #require(q["static"] as? Bool == true, "\(q["id"]!): neither latest-at, range nor static")
        return StoreQuery(entity: entity, component: component, mode: .staticData)
    }

    /// Our answer's lines against the expected JSON (an object, or a list of row objects).
    static func check(_ lines: [String], _ q: [String: Any], _ context: String = "") throws {
        let parsed = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8), options: [.fragmentsAllowed]) }
        let id = q["id"] as! String
        if let rows = q["expected"] as? [Any] {
            #expect((parsed as NSArray).isEqual(rows as NSArray), "\(id) \(context): got \(lines)")
        } else {
            #expect(parsed.count == 1, "\(id) \(context)")
            #expect(
                (parsed.first as? NSDictionary)?.isEqual(q["expected"] as! NSDictionary) == true,
                "\(id) \(context): got \(lines), want \(q["expected"]!)")
        }
    }
}
