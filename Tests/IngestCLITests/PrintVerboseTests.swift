import FixtureSupport
import Foundation
import Testing

@testable import ingest

@Suite("ingest print -v against EXPECTED.json")
struct PrintVerboseTests {
    @Test("print -v --json: every decoded chunk's entity path, rows, timelines and component types", arguments: Fixtures.rrdNames)
    func verboseMatches(name: String) throws {
        let expected = Fixtures.expectation(name)
        var lines: [String] = []
        let status = PrintCommand.lines(path: Fixtures.rrdPath(name), json: true, verbose: true) { lines.append($0) }
        #expect(status == ((expected["expect_valid"] as? Bool ?? true) ? .success : .damagedInput))

        let objects = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let decoded = objects.filter { $0["kind"] as? String == "ArrowMsg" && $0["entity_path"] != nil }
        let chunks = try #require(expected["chunks"] as? [[String: Any]])
        try #require(decoded.count == chunks.count)
        for (o, e) in zip(decoded, chunks) {
            #expect(o["chunk_id"] as? String == e["chunk_id"] as? String)
            #expect(o["entity_path"] as? String == e["entity_path"] as? String)
            #expect((o["num_rows"] as? NSNumber)?.intValue == (e["num_rows"] as? NSNumber)?.intValue)
            let timelines = try #require(o["timelines"] as? [String: [String: Any]])
            let expectedTimelines = try #require(e["timelines"] as? [String: [String: Any]])
            #expect(Set(timelines.keys) == Set(expectedTimelines.keys))
            for (t, et) in expectedTimelines {
                #expect(timelines[t]?["arrow_type"] as? String == et["arrow_type"] as? String)
                #expect((timelines[t]?["min"] as? NSNumber)?.int64Value == (et["min"] as? NSNumber)?.int64Value)
                #expect((timelines[t]?["max"] as? NSNumber)?.int64Value == (et["max"] as? NSNumber)?.int64Value)
            }
            let components = try #require(o["components"] as? [String: String])
            let columns = try #require(e["columns"] as? [[String: Any]])
            let expectedComponents = Dictionary(
                uniqueKeysWithValues: columns.filter { $0["kind"] as? String == "data" }.map {
                    ($0["name"] as! String, $0["arrow_type"] as! String)
                })
            #expect(components == expectedComponents)
        }
    }

    @Test("print -v text: the chunk's lines follow its message line")
    func verboseText() {
        var lines: [String] = []
        _ = PrintCommand.lines(path: Fixtures.rrdPath("transforms.rrd"), json: false, verbose: true) { lines.append($0) }
        let i = lines.firstIndex { $0.contains("ArrowMsg") }
        #expect(i != nil)
        if let i {
            #expect(lines[i + 1].contains("/world/robot") && lines[i + 1].contains("rows=10"))
            #expect(lines[i + 2].contains("timeline frame (sequence, int64) 0..=9 sorted"))
        }
    }
}
