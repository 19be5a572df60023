import Chunks
import IngestTestSupport
import Ingestion
import RRD
import Store
import Testing

@Suite("IngestTestSupport builds valid and broken chunk messages without files")
struct SyntheticChunkTests {
    typealias C = SyntheticChunks

    @Test(
        "a synthetic chunk decodes with the rows, entity, id and timeline asked for",
        arguments: [(1, 1, false), (10, 3, false), (7, 0, true), (4096, 2, false)] as [(Int, Int, Bool)])
    func decodes(rows: Int, valuesPerRow: Int, isStatic: Bool) throws {
        let m = C.chunk(M.storeId(1), offset: 0, chunk: 42, rows: rows, valuesPerRow: valuesPerRow, isStatic: isStatic)
        guard case .arrowMsg(let msg) = m.message else { Issue.record("not an ArrowMsg"); return }
        let chunk = try ChunkDecoder().decode(msg)
        #expect(chunk.numRows == rows)
        #expect(chunk.id == C.chunkId(42))
        #expect(chunk.entityPath == C.entityPath(chunk: 42))
        #expect(chunk.isStatic == isStatic)
    }

    @Test("through an EntityDb: inserted into its chunk store and queryable")
    func ingested() throws {
        let id = M.storeId(2)
        let db = EntityDb(storeId: id)
        for n in 0..<8 { try db.submit(C.chunk(id, offset: UInt64(n), chunk: UInt64(n), rows: 5), source: "s") }
        try db.submit(C.chunk(id, offset: 8, chunk: 3, rows: 5), source: "s")  // duplicate id
        let out = flushAndCollect(db)
        #expect(out.map(\.offset) == Array(0...8))
        #expect(out.allSatisfy { $0.chunk != nil })
        let st = db.statistics
        #expect(st.distinctChunks == 8 && st.rows == 40 && st.duplicateChunks == 1)
        #expect(st.chunkStore.chunks == 8 && st.chunkStore.duplicatesSkipped == 1)
        let hit = db.chunkStore.latestAt(
            entity: C.entityPath(chunk: 1), component: "Scalar:scalars", timeline: "frame", at: 1_000_000)
        #expect(hit != nil)
        db.shutdown(drain: true)
    }

    @Test("each breakage comes out as a decode error in its place", arguments: C.Breakage.allCases)
    func broken(breakage: C.Breakage) throws {
        let id = M.storeId(3)
        let db = EntityDb(storeId: id)
        try db.submit(C.chunk(id, offset: 0, chunk: 1), source: "b")
        try db.submit(C.broken(id, offset: 1, chunk: 2, breakage), source: "b")
        try db.submit(C.chunk(id, offset: 2, chunk: 3), source: "b")
        let out = flushAndCollect(db)
        #expect(out.map(\.offset) == [0, 1, 2])
        #expect(out[0].chunk != nil && out[2].chunk != nil)
        #expect(out[1].error?.code == .decode)
        db.shutdown(drain: true)
    }
}
