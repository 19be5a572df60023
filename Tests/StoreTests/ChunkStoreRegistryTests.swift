import Chunks
import FixtureSupport
import IngestCore
import IngestTestSupport
import Ingestion
import RRD
import Store
import Testing

@Suite("ChunkStoreRegistry")
struct ChunkStoreRegistryTests {
    /// Every chunk of a fixture with several stores, with its store id.
    static func chunks(_ file: String) throws -> [(StoreId, Chunk)] {
        var reader = try RRDReader(path: Fixtures.rrdPath(file))
        let decoder = ChunkDecoder()
        var out: [(StoreId, Chunk)] = []
        while let event = reader.next() {
            if case .message(let framed) = event, case .arrowMsg(let msg) = framed.message {
                out.append((msg.storeId, try decoder.decode(msg)))
            }
        }
        return out
    }

    @Test("two threads inserting into several stores give the single-threaded stores")
    func concurrentInserts() async throws {
        let chunks = try Self.chunks("recording_with_blueprint.rrd")
        try #require(Set(chunks.map(\.0)).count == 2)
        let registry = ChunkStoreRegistry()
        // Both halves twice, on two threads at once: every chunk lands once, the rest are duplicates.
        let half = chunks.count / 2
        let parts = [Array(chunks[..<half]), Array(chunks[half...])]
        await withTaskGroup(of: Void.self) { group in
            for part in parts + parts {
                group.addTask {
                    for (id, chunk) in part { _ = try? registry.insert(chunk, into: id) }
                }
            }
        }
        let (reference, summary) = loadStores(paths: [Fixtures.rrdPath("recording_with_blueprint.rrd")])
        #expect(Set(registry.storeIds) == Set(reference.stores.map(\.id)))
        for (id, store) in reference.stores {
            let got = try #require(registry.store(id)).statistics
            let want = store.statistics
            #expect(got.chunks == want.chunks && got.rows == want.rows && got.entities == want.entities)
        }
        let duplicates = registry.storeIds.compactMap { registry.store($0)?.statistics.duplicatesSkipped }
        #expect(duplicates.reduce(0, +) == summary.insert.inserted)
        #expect(registry.store(StoreId(kind: .recording, applicationId: "x", recordingId: "y")) == nil)
    }
}
