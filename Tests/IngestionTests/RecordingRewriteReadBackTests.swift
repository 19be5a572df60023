import Chunks
import FixtureSupport
import Foundation
import IngestCore
import IngestTestSupport
import Ingestion
import RRD
import Store
import Testing

/// One row of a chunk as a value: entity, row id, its time on every timeline of its chunk, and its
/// non-null cells rendered as JSON (a cell a compacted chunk fills with null is no cell).
private struct RowValue: Hashable, CustomStringConvertible {
    var entity: String
    var rowId: RowId
    var times: [String: Int64]
    var cells: [String: String]
    var description: String { "\(entity) \(rowId) \(times) \(cells)" }
}

/// What a recording holds, read by our reader: every message but End in order, and the footers' checksum verdicts.
private struct ReadBack {
    var messages: [Message] = []
    var footers: [Bool] = []
    var errors: [String] = []

    init(_ path: String) throws {
        var reader = try RRDReader(path: path)
        while let event = reader.next() {
            switch event {
            case .message(let framed):
                if case .end = framed.message { continue }
                messages.append(framed.message)
            case .streamFooter(let footer, _): footers.append(footer.crcOK)
            case .error(let e): errors.append(e.description)
            case .streamHeader: break
            }
        }
    }

    var arrowMsgs: [ArrowMsg] {
        messages.compactMap { if case .arrowMsg(let m) = $0 { return m } else { return nil } }
    }

    /// Every row of every chunk, per store (a chunk id seen twice in a store counts once, as the store keeps it).
    func rows() throws -> [StoreId: Set<RowValue>] {
        let decoder = ChunkDecoder()
        var out: [StoreId: Set<RowValue>] = [:]
        var seen: [StoreId: Set<ChunkId>] = [:]
        for msg in arrowMsgs {
            let chunk = try decoder.decode(msg)
            guard seen[msg.storeId, default: []].insert(chunk.id).inserted else { continue }
            out[msg.storeId, default: []].formUnion(rowValues(chunk))
        }
        return out
    }
}

private func rowValues(_ chunk: Chunk) -> [RowValue] {
    let ids = chunk.rowIds
    let timelines = chunk.timelines
    let components = chunk.components
    return (0..<chunk.numRows).map { row in
        var cells: [String: String] = [:]
        for c in components where !c.isNull(row) { cells[c.name] = c.jsonValue(at: row) }
        return RowValue(
            entity: chunk.entityPath, rowId: ids[row],
            times: Dictionary(uniqueKeysWithValues: timelines.map { ($0.name, $0.time(at: row)) }), cells: cells)
    }
}

private func payloadBytes(_ msg: ArrowMsg) -> [UInt8] { msg.payload.withUnsafeBytes { [UInt8]($0) } }

private func temporaryPath(_ tag: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("si-\(tag)-\(UUID().uuidString).rrd").path
}

/// The questions of `Fixtures/rrd/QUERIES.json` (the SDK's answers; ``FixtureQuestions`` reads them).
private enum Questions {
    nonisolated(unsafe) static let questions: [[String: Any]] = {
        let data = try! Data(contentsOf: Fixtures.rrd.appendingPathComponent("QUERIES.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [[String: Any]]
    }()
}

@Suite("RRD writer: filter, route and optimize outputs read back by our reader")
struct RecordingRewriteReadBackTests {
    static let wellFormed = Fixtures.rrdNames.filter { !$0.hasPrefix("corrupt_") }

    @Test("route: every message as it was, in order, only the store ids replaced", arguments: wellFormed)
    func route(name: String) throws {
        let input = Fixtures.rrdPath(name)
        let output = temporaryPath("route")
        defer { try? FileManager.default.removeItem(atPath: output) }
        let report = try RecordingRewrite.route(
            [input], applicationId: "routed_app", recordingId: "routed_rec", into: try RecordingWriter(path: output))
        let before = try ReadBack(input)
        let after = try ReadBack(output)
        #expect(after.errors.isEmpty, "\(after.errors)")
        #expect(after.footers == [true])
        func routed(_ id: StoreId) -> StoreId {
            StoreId(kind: id.kind, applicationId: "routed_app", recordingId: "routed_rec")
        }
        try #require(after.messages.count == before.messages.count)
        for (b, a) in zip(before.messages, after.messages) {
            switch (b, a) {
            case (.setStoreInfo(var x), .setStoreInfo(let y)):
                x.info.storeId = routed(x.info.storeId)
                #expect(x == y)
            case (.blueprintActivationCommand(var x), .blueprintActivationCommand(let y)):
                x.blueprintId = routed(x.blueprintId)
                #expect(x == y)
            case (.arrowMsg(let x), .arrowMsg(let y)):
                #expect(y.storeId == routed(x.storeId))
                #expect(y.chunkId == x.chunkId && y.isStatic == x.isStatic && y.compression == x.compression)
                #expect(y.uncompressedSize == x.uncompressedSize)
                #expect(payloadBytes(y) == payloadBytes(x), "payload bytes copied as they were")
            default:
                Issue.record("\(name): message kinds differ: \(b.kind) vs \(a.kind)")
            }
        }
        #expect(report.chunksWritten == before.arrowMsgs.count)
    }

    /// The filter of the compat script (`scripts/rerun_compat.py`), with a pattern.
    static let filters: [(entities: [String], timelines: Set<String>)] = [
        (["/plot/cos"], ["frame"]),
        (["/world/**"], ["step"]),
        (["/**"], []),
        ([], ["log_time", "frame"]),
    ]

    @Test(
        "filter: exactly the rows of other entities, without the dropped timelines; untouched chunks copied byte for byte",
        arguments: wellFormed, 0..<filters.count)
    func filter(name: String, filterIndex: Int) throws {
        let (entities, timelines) = Self.filters[filterIndex]
        let patterns = entities.map(EntityPathPattern.init)
        let input = Fixtures.rrdPath(name)
        let output = temporaryPath("filter")
        defer { try? FileManager.default.removeItem(atPath: output) }
        let report = try RecordingRewrite.filter(
            [input], droppingEntities: patterns, droppingTimelines: timelines, into: try RecordingWriter(path: output))
        let before = try ReadBack(input)
        let after = try ReadBack(output)
        #expect(after.errors.isEmpty, "\(after.errors)")
        #expect(after.footers == [true])

        // The rows: those of entities no pattern matches, their dropped timelines' times removed.
        var expected: [StoreId: Set<RowValue>] = [:]
        for (store, rows) in try before.rows() {
            let kept = rows.filter { r in !patterns.contains { $0.matches(escaped: r.entity) } }.map { r in
                var r = r
                r.times = r.times.filter { !timelines.contains($0.key) }
                return r
            }
            if !kept.isEmpty { expected[store] = Set(kept) }
        }
        #expect(try after.rows() == expected)

        // The chunks: the same ids in the same order, less the dropped entities'; a chunk without a dropped
        // timeline keeps its payload bytes, one with one holds none of them.
        let decoder = ChunkDecoder()
        let kept = try before.arrowMsgs.filter { m in
            let chunk = try decoder.decode(m)
            return !patterns.contains { $0.matches(escaped: chunk.entityPath) }
        }
        #expect(after.arrowMsgs.map(\.chunkId) == kept.map(\.chunkId))
        for (b, a) in zip(kept, after.arrowMsgs) {
            let original = try decoder.decode(b)
            let written = try decoder.decode(a)
            #expect(a.storeId == b.storeId)
            if original.timelines.contains(where: { timelines.contains($0.name) }) {
                #expect(!written.timelines.contains { timelines.contains($0.name) })
                #expect(written.components.map(\.name) == original.components.map(\.name))
            } else {
                #expect(payloadBytes(a) == payloadBytes(b), "\(name): chunk \(b.chunkId!) copied as it was")
            }
        }
        #expect(report.chunksFiltered == before.arrowMsgs.count - kept.count)
        // The other messages pass unchanged.
        let others = { (r: ReadBack) in r.messages.filter { if case .arrowMsg = $0 { false } else { true } } }
        #expect(others(after) == others(before))
    }

    @Test(
        "optimize: every store's rows with the same values, fewer or as many chunks, QUERIES.json answered alike",
        arguments: wellFormed)
    func optimize(name: String) throws {
        let input = Fixtures.rrdPath(name)
        let output = temporaryPath("optimize")
        defer { try? FileManager.default.removeItem(atPath: output) }
        let report = try RecordingRewrite.optimize([input], into: try RecordingWriter(path: output))
        let before = try ReadBack(input)
        let after = try ReadBack(output)
        #expect(after.errors.isEmpty, "\(after.errors)")
        #expect(after.footers == [true])
        #expect(try after.rows() == before.rows())
        let beforeIds = Set(before.arrowMsgs.compactMap(\.chunkId))
        #expect(after.arrowMsgs.count <= beforeIds.count)
        #expect(report.chunksWritten == after.arrowMsgs.count)
        #expect(report.chunksCopied + report.chunksReencoded == report.chunksWritten)
        // A chunk the compaction left alone is copied from the input, payload bytes as they were.
        let inputPayloads = Dictionary(
            before.arrowMsgs.map { ($0.chunkId!, payloadBytes($0)) }, uniquingKeysWith: { a, _ in a })
        let copied = after.arrowMsgs.filter { m in inputPayloads[m.chunkId!] == payloadBytes(m) }
        #expect(copied.count >= report.chunksCopied)

        // The chunk store's answers: every question of QUERIES.json on this fixture, asked of stores loaded
        // from our output, is answered as the SDK answered it on the input (row ids and times included).
        let questions = Questions.questions.filter { ($0["file"] as! String) == name }
        let stores = PipelineStores()
        let load = stores.load(paths: [output])
        #expect(load.errors.isEmpty, "\(load.errors)")
        for question in questions {
            let store = stores.store(FixtureQuestions.storeId(question))
            try FixtureQuestions.check(
                FixtureQuestions.query(question).jsonLines(in: store), question, "optimized \(name)")
        }
    }

    @Test(
        "optimize releases chunks over a limit as they arrive: copied from the input, in (entity, first row) order, rows kept",
        arguments: wellFormed)
    func optimizeReleasesChunksOverALimit(name: String) throws {
        let input = Fixtures.rrdPath(name)
        let output = temporaryPath("optimize-released")
        defer { try? FileManager.default.removeItem(atPath: output) }
        // Every chunk with a row is over a 1-byte limit: compaction can touch none of them.
        let limits = ChunkStoreConfiguration.Compaction(maxBytes: 1, maxRows: 65_536, maxRowsIfUnsorted: 8_192, mergeBatch: 32)
        let report = try RecordingRewrite.optimize([input], compaction: limits, into: try RecordingWriter(path: output))
        let before = try ReadBack(input)
        let after = try ReadBack(output)
        #expect(after.errors.isEmpty, "\(after.errors)")
        #expect(after.footers == [true])
        #expect(try after.rows() == before.rows())
        #expect(report.chunksReencoded + report.chunksCopied == report.chunksWritten)
        // Every temporal chunk of today's SDK with rows was written from its input, none held to the end.
        let decoder = ChunkDecoder()
        let inputChunks = try Dictionary(
            before.arrowMsgs.map { ($0.chunkId!, try decoder.decode($0)) }, uniquingKeysWith: { a, _ in a })
        #expect(report.chunksReleased == inputChunks.values.filter { !$0.isStatic && !$0.isMigrated && $0.numRows > 0 }.count)
        // Nothing merges, so every distinct chunk is written once, and those of today's SDK as their bytes were.
        let inputPayloads = Dictionary(
            before.arrowMsgs.map { ($0.chunkId!, payloadBytes($0)) }, uniquingKeysWith: { a, _ in a })
        #expect(Set(after.arrowMsgs.map(\.chunkId!)) == Set(inputPayloads.keys))
        let chunks = try after.arrowMsgs.map { try decoder.decode($0) }
        let lz4Inputs = Set(before.arrowMsgs.filter { $0.compression == .lz4 }.map(\.chunkId!))
        for (msg, chunk) in zip(after.arrowMsgs, chunks) where !chunk.isMigrated && lz4Inputs.contains(chunk.id) {
            let same = payloadBytes(msg) == inputPayloads[msg.chunkId!]
            #expect(same, "\(name): chunk \(chunk.id) not copied")
        }
        // Per store, by entity then first row id, released and held chunks alike.
        for store in Set(after.arrowMsgs.map(\.storeId)) {
            let keys = zip(after.arrowMsgs, chunks).filter { $0.0.storeId == store && $0.1.numRows > 0 }
                .map { ($0.1.entityPath, $0.1.rowId(at: 0)) }
            #expect(zip(keys, keys.dropFirst()).allSatisfy { $0 < $1 }, "\(name): \(store) out of order")
        }
    }

    @Test("optimize: a released chunk whose compression is not the writer's is encoded again; a repeated input adds nothing")
    func optimizeReleasedEncodedAgain() throws {
        let input = Fixtures.rrdPath("points3d.rrd")
        let output = temporaryPath("optimize-released")
        defer { try? FileManager.default.removeItem(atPath: output) }
        let limits = ChunkStoreConfiguration.Compaction(maxBytes: 1, maxRows: 65_536, maxRowsIfUnsorted: 8_192, mergeBatch: 32)
        let report = try RecordingRewrite.optimize(
            [input, input], compaction: limits,
            into: try RecordingWriter(path: output, options: RRDWriter.Options(compression: .none)))
        let before = try ReadBack(input)
        let after = try ReadBack(output)
        #expect(before.arrowMsgs.contains { $0.compression == .lz4 })
        #expect(after.arrowMsgs.allSatisfy { $0.compression == .none })
        #expect(after.arrowMsgs.count == Set(before.arrowMsgs.map(\.chunkId!)).count)
        #expect(report.chunksReleased == report.chunksWritten)
        #expect(report.chunksCopied == after.arrowMsgs.filter { m in before.arrowMsgs.contains { $0.chunkId == m.chunkId && $0.compression == .none } }.count)
        #expect(try after.rows() == before.rows())
    }

    @Test("optimize compacts: many small chunks become few, rows and values kept")
    func optimizeCompacts() throws {
        let input = Fixtures.rrdPath("many_small_chunks.rrd")
        let output = temporaryPath("optimize")
        defer { try? FileManager.default.removeItem(atPath: output) }
        let report = try RecordingRewrite.optimize([input], into: try RecordingWriter(path: output))
        let before = try ReadBack(input)
        let after = try ReadBack(output)
        #expect(before.arrowMsgs.count > 100)
        #expect(after.arrowMsgs.count < before.arrowMsgs.count / 10)
        #expect(report.chunksReencoded == after.arrowMsgs.count)
        #expect(try after.rows() == before.rows())
        #expect(after.footers == [true])
    }

    @Test("a pipeline saved through RecordingSink reads back as the input's stores: infos, chunks in order, rows", arguments: wellFormed)
    func savedReplay(name: String) throws {
        let input = Fixtures.rrdPath(name)
        let output = temporaryPath("saved")
        defer { try? FileManager.default.removeItem(atPath: output) }
        let sink = try RecordingSink(path: output)
        let pipeline = ReplayPipeline(inputs: [.file(input)])
        let report = pipeline.run(onOutput: { db, item in sink.write(item, store: db.storeId) })
        defer { pipeline.hub.shutdown(drain: false) }
        try sink.finish()
        let before = try ReadBack(input)
        let after = try ReadBack(output)
        #expect(after.errors.isEmpty, "\(after.errors)")
        #expect(after.footers == [true])
        // Every store's rows, as ingested.
        #expect(try after.rows() == before.rows())
        // Per store, the chunk ids in admission order (the stores keep one of each), and the store infos.
        func chunkIds(_ r: ReadBack) -> [StoreId: [ChunkId]] {
            var out: [StoreId: [ChunkId]] = [:]
            for m in r.arrowMsgs { out[m.storeId, default: []].append(m.chunkId!) }
            return out
        }
        var expected: [StoreId: [ChunkId]] = [:]
        for (store, ids) in chunkIds(before) {
            var seen = Set<ChunkId>()
            let kept = try ids.filter { id in
                // Chunks without rows are not ingested.
                let m = before.arrowMsgs.first { $0.chunkId == id }!
                let rows = try ChunkDecoder().decode(m).numRows
                return seen.insert(id).inserted && rows > 0
            }
            if !kept.isEmpty { expected[store] = kept }
        }
        #expect(chunkIds(after) == expected)
        // Per store (stores interleave in the order their outputs were drained), every other message in order.
        func others(_ r: ReadBack) -> [StoreId: [Message]] {
            var out: [StoreId: [Message]] = [:]
            for m in r.messages {
                if case .arrowMsg = m { continue }
                out[m.storeId!, default: []].append(m)
            }
            return out
        }
        #expect(others(after) == others(before))
        #expect(sink.chunksWritten == after.arrowMsgs.count)
        // The saved file loads into the same stores.
        let reloaded = PipelineStores()
        #expect(reloaded.load(paths: [output]).errors.isEmpty)
        #expect(Set(reloaded.stores.map(\.id)) == Set(report.stores.map(\.storeId)))
        for (id, store) in reloaded.stores {
            let original = try #require(pipeline.hub.store(id)?.chunkStore)
            #expect(store.statistics.rows == original.statistics.rows)
            #expect(store.statistics.chunks == original.statistics.chunks)
            #expect(store.entityPaths() == original.entityPaths())
            #expect(store.timelines() == original.timelines())
        }
    }
}
