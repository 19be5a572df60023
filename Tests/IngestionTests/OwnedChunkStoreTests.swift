import Chunks
import FixtureSupport
import IngestCore
import IngestTestSupport
import Ingestion
import RRD
import Store
import Testing

@Suite("Each EntityDb owns its chunk store (both builds)")
struct OwnedChunkStoreTests {
    @Test("every decoded chunk is in the store before its output comes out", arguments: Fixtures.rrdNames)
    func insertedBeforeOutput(name: String) throws {
        let hub = StoreHub()
        var chunks = 0
        var missing: [String] = []
        hub.replay(files: [Fixtures.rrdPath(name)]) { db, item in
            guard let chunk = item.chunk else { return }
            chunks += 1
            if !db.chunkStore.contains(chunkId: chunk.id) && chunk.numRows > 0 { missing.append("\(chunk.id)") }
        }
        hub.shutdown(drain: true)
        #expect(missing.isEmpty)
        // What the store holds is what a store fed by the insert hook holds.
        let registry = ChunkStoreRegistry()
        let hooked = StoreHub(
            configuration: IngestConfiguration(insertChunk: { id, c in _ = try? registry.insert(c, into: id) }))
        hooked.replay(files: [Fixtures.rrdPath(name)])
        hooked.shutdown(drain: true)
        for db in hub.allStores {
            let own = db.chunkStore.statistics
            let reference = registry.storeCreatingIfNeeded(db.storeId).statistics
            #expect(own.chunks == reference.chunks, "\(db.storeId)")
            #expect(own.rows == reference.rows, "\(db.storeId)")
            #expect(own.duplicatesSkipped == reference.duplicatesSkipped, "\(db.storeId)")
            #expect(db.statistics.chunkStore == own)
        }
    }

    @Test("a file loaded twice feeds one store; the store counts the duplicates")
    func duplicatesCounted() throws {
        let name = try #require(Fixtures.rrdNames.first { Fixtures.expectation($0)["expect_valid"] as! Bool })
        let once = StoreHub()
        once.replay(files: [Fixtures.rrdPath(name)])
        once.shutdown(drain: true)
        let hub = StoreHub()
        hub.replay(files: [Fixtures.rrdPath(name), Fixtures.rrdPath(name)])
        hub.shutdown(drain: true)
        let expected = expectedStores(name)
        var anyChunks = false
        for db in hub.allStores {
            let st = db.statistics
            let single = try #require(once.store(db.storeId)).chunkStore.statistics
            let want = try #require(expected[db.storeId.description])
            #expect(st.distinctChunks == want[0])
            #expect(st.duplicateChunks == want[0])
            #expect(st.chunkStore.chunks == single.chunks)
            #expect(st.chunkStore.duplicatesSkipped == 2 * single.duplicatesSkipped + single.chunks)
            anyChunks = anyChunks || st.chunkStore.chunks > 0
        }
        #expect(anyChunks)
    }
}
