import IngestCore
import RRD
import Store
import Testing

@Suite("Query JSON forms")
struct QueryJSONTests {
    let chunk = TestChunk(
        id: ChunkId(timeNs: 1, inc: 1), entityPath: "/e", isStatic: false,
        rowIds: [RowId(timeNs: 0x18EA_719E_342D_2970, inc: 0x275e_5ef0_1982_e30f)],
        timelineColumns: [.init(name: "frame", times: [-3])], columns: [.init(name: "C:v", cells: [[1, 2]])])

    func render(_ hit: CellHit<TestChunk>) -> String { "\(TestChunk.value(hit)!)" }

    @Test("latest-at: found, static, not found")
    func latestAt() throws {
        let store = ChunkStore<TestChunk>()
        try store.insert(chunk)
        let hit = store.latestAt(entity: "/e", component: "C:v", timeline: "frame", at: 0)
        #expect(
            QueryJSON.latestAt(hit, value: render)
                == #"{"found": true, "time": -3, "row_id": "18EA719E342D2970275e5ef01982e30f", "value": [1, 2]}"#)
        var staticHit = try #require(hit)
        staticHit.time = nil
        #expect(QueryJSON.latestAt(staticHit, value: render).hasPrefix(#"{"found": true, "time": null, "row_id""#))
        #expect(
            QueryJSON.latestAt(store.latestAt(entity: "/x", component: "C:v", timeline: "frame", at: 0), value: render)
                == #"{"found": false, "time": null, "row_id": null, "value": null}"#)
    }

    @Test("range row")
    func rangeRow() throws {
        let store = ChunkStore<TestChunk>()
        try store.insert(chunk)
        let rows = store.range(entity: "/e", component: "C:v", timeline: "frame", from: -3, through: -3)
        #expect(
            rows.map { QueryJSON.rangeRow($0, value: render) }
                == [#"{"time": -3, "row_id": "18EA719E342D2970275e5ef01982e30f", "value": [1, 2]}"#])
    }

    @Test("non-ASCII characters are escaped as Python's json.dumps does")
    func asciiEscaping() {
        #expect(QueryJSON.asciiEscaped(#"["a é✓ 😀", 1.5]"#) == #"["a \u00e9\u2713 \ud83d\ude00", 1.5]"#)
        #expect(QueryJSON.asciiEscaped(#"{"k": [1, null]}"#) == #"{"k": [1, null]}"#)
    }
}
