import Chunks
import FixtureSupport
import Foundation
import IngestCore
import IngestTestSupport
import Ingestion
import RRD
import Testing

/// `stores[]` of one fixture in EXPECTED.json, keyed `kind:app:rec`: (num_chunks, num_rows).
func expectedStores(_ name: String) -> [String: [Int]] {
    var out: [String: [Int]] = [:]
    for s in Fixtures.expectation(name)["stores"] as! [[String: Any]] {
        let key = "\(s["kind"] as! String):\(s["application_id"] as! String):\(s["recording_id"] as! String)"
        out[key] = [s["num_chunks"] as! Int, s["num_rows"] as! Int]
    }
    return out
}

@Suite("Replay of the fixture corpus through the hub (both builds)")
struct ReplayFixtureTests {
    @Test("per-store distinct chunks and rows equal EXPECTED.json", arguments: Fixtures.rrdNames)
    func chunksAndRows(name: String) throws {
        let hub = StoreHub()
        let summary = hub.replay(files: [Fixtures.rrdPath(name)])
        hub.shutdown(drain: true)
        var got: [String: [Int]] = [:]
        for st in summary.stores { got[st.storeId.description] = [st.chunks, st.rows] }
        #expect(got == expectedStores(name))
        let valid = Fixtures.expectation(name)["expect_valid"] as! Bool
        #expect(summary.hasErrors == !valid, "errors: \(summary.sourceErrors.map(\.error)) decode: \(summary.stores)")
    }

    @Test("--json's document parses and carries the same stores")
    func jsonDocument() throws {
        let names = ["recording_with_blueprint.rrd", "two_recordings_concat.rrd", "corrupt_truncated.rrd"]
        let hub = StoreHub()
        let summary = hub.replay(files: names.map(Fixtures.rrdPath))
        let doc = try #require(
            try JSONSerialization.jsonObject(with: Data(summary.json.utf8)) as? [String: Any])
        let stores = try #require(doc["stores"] as? [[String: Any]])
        var got: [String: [Int]] = [:]
        for s in stores {
            got["\(s["kind"]!):\(s["application_id"]!):\(s["recording_id"]!)"] = [
                s["chunks"] as! Int, s["rows"] as! Int,
            ]
        }
        var want: [String: [Int]] = [:]
        for n in names { want.merge(expectedStores(n)) { a, _ in a } }
        #expect(got == want)
        let errors = try #require(doc["errors"] as? [[String: Any]])
        #expect(errors.count == 1)
        #expect(errors.first?["source"] as? String == Fixtures.rrdPath("corrupt_truncated.rrd"))
        hub.shutdown(drain: true)
    }

    @Test("a corrupt chunk mid-stream is an error item in its place; the next chunk still decodes")
    func corruptChunkInPlace() throws {
        let hub = StoreHub()
        var items: [IngestOutput] = []
        hub.replay(files: [Fixtures.rrdPath("corrupt_lz4_flipped.rrd")]) { _, item in items.append(item) }
        hub.shutdown(drain: true)
        let stream = (Fixtures.expectation("corrupt_lz4_flipped.rrd")["streams"] as! [[String: Any]])[0]
        let arrowOffsets = (stream["messages"] as! [[String: Any]])
            .filter { $0["kind"] as! String == "ArrowMsg" }.map { UInt64($0["offset"] as! Int) }
        try #require(arrowOffsets.count == 2)
        #expect(items.map(\.sequence) == Array(0..<UInt64(items.count)))
        let first = try #require(items.first { $0.offset == arrowOffsets[0] })
        #expect(first.error?.code == .decode)
        #expect(first.error?.source == Fixtures.rrdPath("corrupt_lz4_flipped.rrd"))
        let second = try #require(items.first { $0.offset == arrowOffsets[1] })
        #expect(second.chunk?.numRows == 60)
        #expect(second.storeWasEmpty, "the first chunk with rows makes the store non-empty")
    }

    @Test(
        "storeWasEmpty is set exactly once per store with rows, on its first chunk with rows",
        arguments: ["recording_with_blueprint.rrd", "many_small_chunks.rrd", "empty_recording.rrd", "static_only.rrd"])
    func storeWasEmpty(name: String) throws {
        let hub = StoreHub()
        var items: [StoreId: [IngestOutput]] = [:]
        hub.replay(files: [Fixtures.rrdPath(name)]) { db, item in items[db.storeId, default: []].append(item) }
        hub.shutdown(drain: true)
        let expected = expectedStores(name)
        for id in hub.storeIds() {
            let list = items[id] ?? []
            let flagged = list.filter(\.storeWasEmpty)
            let hasRows = (expected[id.description]?[1] ?? 0) > 0
            #expect(flagged.count == (hasRows ? 1 : 0), "\(id)")
            if let f = flagged.first {
                let firstWithRows = list.first { ($0.chunk?.numRows ?? 0) > 0 }
                #expect(f.sequence == firstWithRows?.sequence)
            }
        }
    }

    @Test("the insert hook sees every decoded chunk, in order, before its output comes out")
    func insertHook() throws {
        let seen = HookLog()
        let hub = StoreHub(
            configuration: IngestConfiguration(insertChunk: { store, chunk in seen.add(store, chunk.id) }))
        var outputs: [ChunkId] = []
        let summary = hub.replay(files: [Fixtures.rrdPath("many_small_chunks.rrd")]) { _, item in
            if let c = item.chunk {
                #expect(seen.contains(c.id), "inserted before it came out")
                outputs.append(c.id)
            }
        }
        hub.shutdown(drain: true)
        #expect(seen.ids == outputs)
        #expect(summary.stores.first?.chunks == outputs.count)
    }

    @Test("ready outputs count the bytes their chunks keep alive, and polling releases them")
    func readyOutputBytes() throws {
        var reader = try RRDReader(path: Fixtures.rrdPath("image_small.rrd"))
        let db = EntityDb(
            storeId: StoreId(kind: .recording, applicationId: "rrd_fixtures", recordingId: "fixture-image_small"))
        var uncompressed = 0
        while let event = reader.next() {
            if case .message(let m) = event, m.message.kind != .end {
                if case .arrowMsg(let a) = m.message { uncompressed += Int(a.uncompressedSize) }
                try db.submit(m, source: "b")
            }
        }
        #expect(db.flush(timeout: deadline))
        let before = db.statistics.readyOutputBytes
        var chunkBytes = 0
        while let item = db.poll() {
            if let chunk = item.chunk { chunkBytes += chunk.byteSize }
        }
        #expect(chunkBytes > 0)
        #expect(uncompressed > 0)
        #expect(before == chunkBytes)
        #expect(db.statistics.readyOutputBytes == 0, "everything was polled")
        db.shutdown(drain: true)
    }

    @Test(
        "an activation comes out after its store's info and after every earlier chunk of it was inserted",
        arguments: ["blueprint.rbl", "recording_with_blueprint.rrd"])
    func activationAfterItsChunks(name: String) throws {
        let inserted = HookLog()
        let hub = StoreHub(
            configuration: IngestConfiguration(insertChunk: { store, chunk in inserted.add(store, chunk.id) }))
        var items: [StoreId: [IngestOutput]] = [:]
        var activations = 0
        let want = try #require(Fixtures.expectation(name)["blueprint_activations"] as? [[String: Any]])
        hub.replay(files: [Fixtures.rrdPath(name)]) { db, item in
            if case .activation(let cmd) = item.event {
                if activations < want.count {
                    #expect(cmd.makeActive == want[activations]["make_active"] as? Bool)
                    #expect(cmd.makeDefault == want[activations]["make_default"] as? Bool)
                }
                activations += 1
                #expect(cmd.blueprintId == db.storeId)
                #expect(db.storeId.kind == .blueprint)
                let earlier = items[db.storeId] ?? []
                #expect(earlier.contains { if case .storeInfo = $0.event { true } else { false } })
                for chunk in earlier.compactMap(\.chunk) {
                    #expect(inserted.contains(chunk.id), "chunk \(chunk.id) inserted before the activation")
                }
            }
            items[db.storeId, default: []].append(item)
        }
        hub.shutdown(drain: true)
        #expect(activations == want.count)
        #expect(activations > 0)
    }

    @Test("replaying a file twice into one hub counts each chunk once")
    func duplicates() throws {
        let hub = StoreHub()
        let path = Fixtures.rrdPath("scalars_sequence.rrd")
        let summary = hub.replay(files: [path, path])
        hub.shutdown(drain: true)
        let want = expectedStores("scalars_sequence.rrd")
        #expect(summary.stores.map { [$0.chunks, $0.rows] } == Array(want.values))
        #expect(hub.allStores.first?.statistics.duplicateChunks == want.values.first?[0])
    }
}

/// What the insert hook saw (behind a pthread lock: the hook runs on worker threads).
final class HookLog: Sendable {
    private struct Seen {
        var list: [ChunkId] = []
        var set = Set<ChunkId>()
    }
    private let seen = Locked(Seen())
    func add(_ store: StoreId, _ id: ChunkId) {
        seen.withLock {
            $0.list.append(id); $0.set.insert(id)
        }
    }
    func contains(_ id: ChunkId) -> Bool { seen.withLock { $0.set.contains(id) } }
    var ids: [ChunkId] { seen.withLock { $0.list } }
}

/// A weak reference the insert hook can use (set once before the first submit).
final class WeakStore: Sendable {
    private struct Ref { weak var db: EntityDb? }
    private let ref = Locked(Ref())
    var db: EntityDb? {
        get { ref.withLock { $0.db } }
        set { ref.withLock { $0.db = newValue } }
    }
}

@Suite("Insert hook edge cases (both builds)")
struct InsertHookEdgeTests {
    @Test("a store shut down from its own insert hook stops without deadlock and settles every message")
    func shutdownFromHook() throws {
        var reader = try RRDReader(path: Fixtures.rrdPath("many_small_chunks.rrd"))
        var messages: [FramedMessage] = []
        while let event = reader.next() {
            if case .message(let m) = event, m.message.kind != .end { messages.append(m) }
        }
        let id = try #require(messages.first?.message.storeId)
        let box = WeakStore()
        let db = EntityDb(
            storeId: id, configuration: IngestConfiguration(insertChunk: { _, _ in box.db?.shutdown(drain: false) }))
        box.db = db
        var refused = 0
        for m in messages where ingestError({ try db.submit(m, source: "hook") })?.code == .closed { refused += 1 }
        #expect(db.flush(timeout: deadline))
        #expect(db.isShutDown)
        let stats = db.statistics
        #expect(stats.distinctChunks >= 1, "the chunk whose hook shut the store down still came out")
        #expect(stats.handled == stats.admitted, "every admitted message was processed or discarded")
        #expect(stats.admitted + UInt64(refused) == UInt64(messages.count))
    }
}
