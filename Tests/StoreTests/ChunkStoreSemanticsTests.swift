import IngestCore
import RRD
import Store
import Testing

private func row(_ n: UInt64) -> RowId { RowId(timeNs: 5_000, inc: n) }
private func chunkId(_ n: UInt64) -> ChunkId { ChunkId(timeNs: 7_000, inc: n) }

/// A one-column temporal chunk on `frame`.
private func temporal(
    _ id: UInt64, entity: String = "/e", component: String = "C:v", rows: [UInt64], times: [Int64], cells: [[Int]?]
) -> TestChunk {
    TestChunk(
        id: chunkId(id), entityPath: entity, isStatic: false, rowIds: rows.map(row),
        timelineColumns: [.init(name: "frame", times: times)], columns: [.init(name: component, cells: cells)])
}

/// A one-column static chunk.
private func staticChunk(
    _ id: UInt64, entity: String = "/e", component: String = "C:v", rows: [UInt64], cells: [[Int]?]
)
    -> TestChunk
{
    TestChunk(
        id: chunkId(id), entityPath: entity, isStatic: true, rowIds: rows.map(row), timelineColumns: [],
        columns: [.init(name: component, cells: cells)])
}

@Suite("ChunkStore semantics")
struct ChunkStoreSemanticsTests {
    @Test("static wins at every time, even with a lower RowId; ranges are shadowed")
    func staticBeatsTemporal() throws {
        let store = ChunkStore<TestChunk>()
        try store.insert(temporal(1, rows: [10, 11], times: [1, 3], cells: [[10], [30]]))
        try store.insert(staticChunk(2, rows: [1], cells: [[99]]))
        for t: Int64 in [-5, 0, 1, 2, 3, 5] {
            let hit = try #require(store.latestAt(entity: "/e", component: "C:v", timeline: "frame", at: t))
            #expect(Answer(hit) == Answer(time: nil, rowId: row(1), value: [99]))
        }
        // Also on a timeline the entity has no data on.
        #expect(
            store.latestAt(entity: "/e", component: "C:v", timeline: "other", at: 0).map(Answer.init)
                == Answer(time: nil, rowId: row(1), value: [99]))
        #expect(store.range(entity: "/e", component: "C:v", timeline: "frame", from: -10, through: 10).isEmpty)
        #expect(
            store.staticCell(entity: "/e", component: "C:v").map(Answer.init)
                == Answer(time: nil, rowId: row(1), value: [99]))
    }

    @Test("static: highest RowId wins, not the last inserted", arguments: [false, true])
    func staticHighestRowId(reversed: Bool) throws {
        let store = ChunkStore<TestChunk>()
        var chunks = [
            staticChunk(1, rows: [1, 4], cells: [[1], [4]]),
            staticChunk(2, rows: [3], cells: [[3]]),
            staticChunk(3, rows: [2, 5], cells: [[2], nil]),  // the null at RowId 5 is not a value
        ]
        if reversed { chunks.reverse() }
        for c in chunks { try store.insert(c) }
        #expect(
            store.staticCell(entity: "/e", component: "C:v").map(Answer.init)
                == Answer(time: nil, rowId: row(4), value: [4]))
        #expect(store.staticCell(entity: "/e", component: "C:other") == nil)
    }

    @Test("ties at one time go to the highest RowId, within and across chunks, in any order", arguments: [false, true])
    func ties(reversed: Bool) throws {
        let store = ChunkStore<TestChunk>()
        var chunks = [
            temporal(1, rows: [10], times: [3], cells: [[1]]),
            temporal(2, rows: [30], times: [3], cells: [[2]]),
            temporal(3, rows: [5, 20], times: [3, 3], cells: [[15], [25]]),
        ]
        if reversed { chunks.reverse() }
        for c in chunks { try store.insert(c) }
        #expect(store.latestAt(entity: "/e", component: "C:v", timeline: "frame", at: 2) == nil)
        for t: Int64 in [3, 4] {
            #expect(
                store.latestAt(entity: "/e", component: "C:v", timeline: "frame", at: t).map(Answer.init)
                    == Answer(time: 3, rowId: row(30), value: [2]))
        }
        let range = store.range(entity: "/e", component: "C:v", timeline: "frame", from: 3, through: 3).map(Answer.init)
        #expect(range.map(\.rowId) == [row(5), row(10), row(20), row(30)])
    }

    @Test("null cells are skipped, an empty list is a value")
    func nullsAndEmptyLists() throws {
        let store = ChunkStore<TestChunk>()
        try store.insert(temporal(1, rows: [1, 2, 3], times: [1, 2, 3], cells: [[1], nil, []]))
        let at = { (t: Int64) in
            store.latestAt(entity: "/e", component: "C:v", timeline: "frame", at: t).map(Answer.init)
        }
        #expect(at(0) == nil)
        #expect(at(1) == Answer(time: 1, rowId: row(1), value: [1]))
        #expect(at(2) == Answer(time: 1, rowId: row(1), value: [1]))
        #expect(at(3) == Answer(time: 3, rowId: row(3), value: []))
        let range = store.range(entity: "/e", component: "C:v", timeline: "frame", from: 0, through: 9).map(Answer.init)
        #expect(range == [Answer(time: 1, rowId: row(1), value: [1]), Answer(time: 3, rowId: row(3), value: [])])
    }

    @Test("an all-null chunk does not hide earlier values; a later chunk's nulls fall back across chunks")
    func nullsAcrossChunks() throws {
        let store = ChunkStore<TestChunk>()
        try store.insert(temporal(1, rows: [1], times: [1], cells: [[1]]))
        try store.insert(temporal(2, rows: [2, 3], times: [5, 6], cells: [nil, nil]))
        #expect(
            store.latestAt(entity: "/e", component: "C:v", timeline: "frame", at: 9).map(Answer.init)
                == Answer(time: 1, rowId: row(1), value: [1]))
    }

    @Test("unsorted time columns answer like sorted ones")
    func unsortedTimes() throws {
        let store = ChunkStore<TestChunk>()
        try store.insert(temporal(1, rows: [1, 2, 3, 4], times: [7, 2, 9, 2], cells: [[7], [2], [9], [22]]))
        let at = { (t: Int64) in
            store.latestAt(entity: "/e", component: "C:v", timeline: "frame", at: t).map(Answer.init)
        }
        #expect(at(1) == nil)
        #expect(at(2) == Answer(time: 2, rowId: row(4), value: [22]))
        #expect(at(8) == Answer(time: 7, rowId: row(1), value: [7]))
        let times = store.range(entity: "/e", component: "C:v", timeline: "frame", from: 2, through: 7).map(\.time)
        #expect(times == [2, 2, 7])
    }

    @Test("negative and extreme times")
    func extremeTimes() throws {
        let store = ChunkStore<TestChunk>()
        try store.insert(temporal(1, rows: [1, 2], times: [Int64.min, Int64.max], cells: [[1], [2]]))
        try store.insert(temporal(2, rows: [3], times: [-1], cells: [[3]]))
        let at = { (t: Int64) in store.latestAt(entity: "/e", component: "C:v", timeline: "frame", at: t)?.rowId }
        #expect(at(Int64.min) == row(1))
        #expect(at(-2) == row(1))
        #expect(at(-1) == row(3))
        #expect(at(Int64.max) == row(2))
        #expect(
            store.range(entity: "/e", component: "C:v", timeline: "frame", from: Int64.min, through: Int64.max).count
                == 3)
    }

    @Test("duplicates are no-ops and counted; empty chunks are dropped")
    func duplicates() throws {
        let store = ChunkStore<TestChunk>()
        let c = temporal(1, rows: [1], times: [1], cells: [[1]])
        #expect(try store.insert(c) == .inserted)
        let before = store.statistics
        #expect(try store.insert(c) == .duplicate)
        // Same id with different content is still a duplicate: the id is the identity.
        #expect(try store.insert(temporal(1, rows: [9], times: [9], cells: [[9]])) == .duplicate)
        var after = store.statistics
        #expect(after.duplicatesSkipped == 2)
        after.duplicatesSkipped = before.duplicatesSkipped
        #expect(after == before)
        #expect(store.range(entity: "/e", component: "C:v", timeline: "frame", from: 0, through: 10).count == 1)
        #expect(try store.insert(temporal(5, rows: [], times: [], cells: [])) == .droppedEmpty)
        #expect(store.statistics.droppedEmpty == 1)
        #expect(store.statistics.chunks == 1)
    }

    @Test("unsorted RowIds are rejected and change nothing")
    func unsortedRowIds() throws {
        let store = ChunkStore<TestChunk>()
        let error = #expect(throws: StoreError.self) {
            try store.insert(temporal(1, rows: [2, 1], times: [1, 2], cells: [[1], [2]]))
        }
        #expect(error?.code == .rowsNotSorted)
        #expect(store.statistics.chunks == 0)
        #expect(!store.contains(chunkId: chunkId(1)))
    }

    @Test("catalogue: entities, tree, components, timelines")
    func catalogue() throws {
        let store = ChunkStore<TestChunk>()
        try store.insert(temporal(1, entity: "/world/a", rows: [1, 2], times: [4, -2], cells: [[1], [2]]))
        try store.insert(temporal(2, entity: "/world/b\\/c", component: "D:w", rows: [3], times: [10], cells: [[3]]))
        try store.insert(staticChunk(3, entity: "/world/a", component: "S:s", rows: [4], cells: [[4]]))
        #expect(store.entityPaths() == ["/world/a", "/world/b\\/c"])
        #expect(store.components(of: "/world/a") == ["C:v", "S:s"])
        #expect(store.timelines(of: "/world/a") == ["frame"])
        #expect(store.timeRange(of: "/world/a", timeline: "frame") == -2...4)
        #expect(store.timeRange(of: "/world/a", timeline: "other") == nil)
        #expect(store.timelines() == [TimelineSummary(name: "frame", minTime: -2, maxTime: 10, rowCount: 3)])
        let tree = store.entityTree()
        #expect(tree.children.map(\.name) == ["world"])
        #expect(!tree.children[0].hasData)
        #expect(tree.children[0].children.map(\.path) == ["/world/a", "/world/b\\/c"])
        #expect(tree.children[0].children.allSatisfy { $0.hasData })
        let stats = store.statistics
        #expect(stats.chunks == 3 && stats.staticChunks == 1 && stats.rows == 4 && stats.entities == 2)
    }

    @Test("removal updates every index, and a removed chunk can be inserted again")
    func removal() throws {
        let store = ChunkStore<TestChunk>()
        let a = temporal(1, rows: [1], times: [1], cells: [[1]])
        let b = temporal(2, rows: [2], times: [5], cells: [[5]])
        let s1 = staticChunk(3, rows: [3], cells: [[3]])
        let s2 = staticChunk(4, rows: [4], cells: [[4]])
        for c in [a, b, s1, s2] { try store.insert(c) }
        #expect(store.remove(chunkId: s2.id) == s2)
        #expect(store.staticCell(entity: "/e", component: "C:v")?.rowId == row(3))
        #expect(store.remove(chunkId: s1.id) == s1)
        #expect(store.latestAt(entity: "/e", component: "C:v", timeline: "frame", at: 9)?.rowId == row(2))
        #expect(store.remove(chunkId: b.id) == b)
        #expect(store.remove(chunkId: b.id) == nil)
        #expect(store.latestAt(entity: "/e", component: "C:v", timeline: "frame", at: 9)?.rowId == row(1))
        #expect(store.timelines() == [TimelineSummary(name: "frame", minTime: 1, maxTime: 1, rowCount: 1)])
        #expect(try store.insert(b) == .inserted)
        #expect(store.latestAt(entity: "/e", component: "C:v", timeline: "frame", at: 9)?.rowId == row(2))
        #expect(store.remove(chunkId: a.id) == a)
        #expect(store.remove(chunkId: b.id) == b)
        #expect(store.entityPaths().isEmpty)
        #expect(store.statistics.chunks == 0 && store.statistics.rows == 0 && store.statistics.removed == 5)
    }
}
