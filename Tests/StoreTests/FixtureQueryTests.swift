import Chunks
import FixtureSupport
import Foundation
import IngestCore
import IngestTestSupport
import Ingestion
import RRD
import Store
import Testing

/// Every question of `Fixtures/rrd/QUERIES.json` (answers from the real SDK), asked of stores built by
/// replaying each fixture through the ingestion pipeline; then the fixture is replayed again and every
/// answer must stay the same.
@Suite("Fixture queries (QUERIES.json)")
struct FixtureQueryTests {
    nonisolated(unsafe) static let questions: [[String: Any]] = {
        let data = try! Data(contentsOf: Fixtures.rrd.appendingPathComponent("QUERIES.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [[String: Any]]
    }()

    static var files: [String] {
        var seen = Set<String>()
        return questions.map { $0["file"] as! String }.filter { seen.insert($0).inserted }
    }

    /// The store id of a question.
    static func storeId(_ question: [String: Any]) -> StoreId {
        let store = question["store"] as! [String: Any]
        return StoreId(
            kind: (store["kind"] as! String) == "blueprint" ? .blueprint : .recording,
            applicationId: store["application_id"] as! String,
            recordingId: store["recording_id"] as! String)
    }

    /// The question as a ``StoreQuery``.
    static func query(_ question: [String: Any]) throws -> StoreQuery {
        let entity = question["entity"] as! String
        let component = question["component"] as! String
        if let at = question["at"] as? NSNumber {
            return StoreQuery(
                entity: entity, component: component,
                mode: .latestAt(timeline: question["timeline"] as! String, time: at.int64Value))
        }
        if let range = question["range"] as? [NSNumber] {
            return StoreQuery(
                entity: entity, component: component,
                mode: .range(
                    timeline: question["timeline"] as! String, from: range[0].int64Value,
                    through: range[1].int64Value))
        }
        try #require(question["static"] as? Bool == true)
        return StoreQuery(entity: entity, component: component, mode: .staticData)
    }

    /// Our answer's lines, parsed, against the expected JSON (an object, or a list of row objects).
    static func check(_ lines: [String], _ question: [String: Any], _ context: String) throws {
        let parsed = try lines.map {
            try JSONSerialization.jsonObject(with: Data($0.utf8), options: [.fragmentsAllowed])
        }
        let id = question["id"] as! String
        if let rows = question["expected"] as? [Any] {
            #expect((parsed as NSArray).isEqual(rows as NSArray), "\(id) \(context): got \(lines)")
        } else {
            #expect(parsed.count == 1, "\(id) \(context)")
            #expect(
                (parsed.first as? NSDictionary)?.isEqual(question["expected"] as! NSDictionary) == true,
                "\(id) \(context): got \(lines), want \(question["expected"]!)")
        }
    }

    /// Compaction off (the default) and on with the reference's limits.
    static let configurations: [ChunkStoreConfiguration] = [.default, ChunkStoreConfiguration(compaction: .reference)]

    @Test(
        "every question of QUERIES.json, after one replay and after a second one, compaction off and on",
        arguments: files, configurations)
    func answers(file: String, configuration: ChunkStoreConfiguration) throws {
        let questions = Self.questions.filter { ($0["file"] as! String) == file }
        let stores = PipelineStores(configuration: configuration)
        let first = stores.load(paths: [Fixtures.rrdPath(file)])
        #expect(first.errors.isEmpty, "\(first.errors)")
        #expect(first.insert.inserted > 0)
        let statistics = stores.stores.map(\.store.statistics)

        for pass in ["first replay", "second replay"] {
            for question in questions {
                let query = try Self.query(question)
                let store = try #require(
                    stores.store(Self.storeId(question)), "\(question["id"]!): store missing")
                try Self.check(query.jsonLines(in: store), question, pass)
                // The CLI's choice when no --store is given: the first store holding the entity.
                try Self.check(
                    query.jsonLines(in: stores.storeHolding(entity: query.entity)), question,
                    pass + ", CLI store choice")
            }
            if pass == "first replay" {
                let second = stores.load(paths: [Fixtures.rrdPath(file)])
                #expect(second.errors.isEmpty)
                #expect(second.insert.inserted == 0)
                #expect(second.insert.duplicates == first.insert.inserted)
                #expect(second.insert.droppedEmpty == first.insert.droppedEmpty)
                for (before, (_, store)) in zip(statistics, stores.stores) {
                    var after = store.statistics
                    after.duplicatesSkipped = before.duplicatesSkipped
                    #expect(after == before)
                }
                #expect(
                    stores.stores.map(\.store.statistics.duplicatesSkipped).reduce(0, +)
                        == first.insert.inserted)
            }
        }
    }

    @Test("the corpus is covered: every question names a fixture of EXPECTED.json")
    func coverage() {
        #expect(!Self.questions.isEmpty)
        let known = Set(Fixtures.rrdNames)
        #expect(Self.files.allSatisfy { known.contains($0) })
    }
}

/// Compaction actually happens on the fixtures (so the compaction-on pass above is not vacuous).
@Suite("Fixture compaction")
struct FixtureCompactionTests {
    @Test("with compaction on, the fixtures hold fewer chunks and the same rows")
    func fewerChunks() throws {
        var merged = 0
        for file in FixtureQueryTests.files {
            let (plain, _) = loadStores(paths: [Fixtures.rrdPath(file)])
            let (compact, _) = loadStores(
                paths: [Fixtures.rrdPath(file)], configuration: ChunkStoreConfiguration(compaction: .reference))
            for ((_, p), (_, c)) in zip(plain.stores, compact.stores) {
                #expect(c.statistics.rows == p.statistics.rows, "\(file)")
                #expect(c.statistics.chunks == p.statistics.chunks - c.statistics.compactions, "\(file)")
                #expect(c.entityPaths() == p.entityPaths())
                #expect(c.timelines() == p.timelines())
                merged += c.statistics.compactions
            }
        }
        #expect(merged > 0)
    }
}
