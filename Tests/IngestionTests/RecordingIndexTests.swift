import ArrowIPC
import Chunks
import FixtureSupport
import Foundation
import IngestCore
import IngestTestSupport
import Ingestion
import RRD
import Store
import Testing

private func temporaryPath(_ tag: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("si-\(tag)-\(UUID().uuidString).rrd").path
}

/// The answer lines of `query` from the full read (the pipeline) of `path`, in the store `ingest query` picks.
private func fullReadLines(_ path: String, _ query: StoreQuery, store: StoreId? = nil) -> [String] {
    let stores = PipelineStores()
    _ = stores.load(paths: [path])
    let target = store.map { stores.store($0) } ?? stores.storeHolding(entity: query.entity)
    return query.jsonLines(in: target)
}

@Suite("RecordingIndex: questions answered from the footer manifest, reading only the chunks they need")
struct RecordingIndexTests {
    nonisolated(unsafe) static let questions: [[String: Any]] = {
        let data = try! Data(contentsOf: Fixtures.rrd.appendingPathComponent("QUERIES.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [[String: Any]]
    }()

    static let wellFormed = Fixtures.rrdNames.filter { !$0.hasPrefix("corrupt_") }
    /// Fixtures without a usable footer (none, or a concatenation of two streams).
    static let footerless: Set<String> = ["no_footer.rrd", "two_recordings_concat.rrd"]

    @Test("every QUERIES.json question: the manifest's answer is the full read's and the SDK's", arguments: wellFormed)
    func fixtureQuestions(name: String) throws {
        let path = Fixtures.rrdPath(name)
        let questions = Self.questions.filter { ($0["file"] as! String) == name }
        let index: RecordingIndex
        do {
            index = try RecordingIndex(path: path)
        } catch {
            #expect(Self.footerless.contains(name), "\(name): \(error.reason)")
            return
        }
        #expect(!Self.footerless.contains(name))
        let stores = PipelineStores()
        _ = stores.load(paths: [path])
        for question in questions {
            let query = try FixtureQuestions.query(question)
            let storeId = FixtureQuestions.storeId(question)
            // As named (`--store` with the full id) and as `ingest query` picks without a name.
            for name in [storeId.description, nil] {
                let loaded = try index.load(query, store: name)
                #expect(loaded.chunksRead <= loaded.chunksTotal)
                let lines = query.jsonLines(in: loaded.chunkStore)
                let full = query.jsonLines(in: name == nil ? stores.storeHolding(entity: query.entity) : stores.store(storeId))
                #expect(lines == full, "\(question["id"]!) store \(name ?? "by entity")")
                if name != nil || loaded.storeId == storeId {
                    try FixtureQuestions.check(lines, question, "manifest")
                }
            }
        }
    }

    @Test("a recording with many chunks: a latest-at reads a few of them, far fewer bytes than the file")
    func readsFewerBytes() throws {
        let path = Fixtures.rrdPath("many_small_chunks.rrd")
        let index = try RecordingIndex(path: path)
        #expect(index.chunksTotal > 100)
        let questions = Self.questions.filter { ($0["file"] as! String) == "many_small_chunks.rrd" && $0["at"] != nil }
        try #require(!questions.isEmpty)
        for question in questions {
            let query = try FixtureQuestions.query(question)
            let loaded = try index.load(query)
            #expect(loaded.chunksRead < loaded.chunksTotal / 4, "\(question["id"]!): \(loaded.chunksRead) chunks")
            #expect(loaded.bytesRead < loaded.fileSize / 2, "\(question["id"]!): \(loaded.bytesRead) bytes")
            #expect(query.jsonLines(in: loaded.chunkStore) == fullReadLines(path, query))
        }
    }

    @Test("a footer whose bytes are flipped, a truncated file, a concatenation: no manifest, a reason")
    func unusableFooters() throws {
        let bytes = try Fixtures.bytes(URL(fileURLWithPath: Fixtures.rrdPath("scalars_sequence.rrd")))
        let flipped = temporaryPath("flipped")
        let truncated = temporaryPath("truncated")
        defer {
            try? FileManager.default.removeItem(atPath: flipped)
            try? FileManager.default.removeItem(atPath: truncated)
        }
        var damaged = bytes
        // Inside the End payload, which the stream footer's xxHash32 covers.
        damaged[damaged.count - StreamFooterInfo.size - 10] ^= 0x5A
        try Data(damaged).write(to: URL(fileURLWithPath: flipped))
        try Data(bytes[..<(bytes.count - 7)]).write(to: URL(fileURLWithPath: truncated))
        for path in [flipped, truncated, Fixtures.rrdPath("two_recordings_concat.rrd"), Fixtures.rrdPath("no_footer.rrd")] {
            #expect(throws: RecordingIndex.Unusable.self) { _ = try RecordingIndex(path: path) }
        }
        #expect(throws: RecordingIndex.Unusable.self) { _ = try RecordingIndex(path: "/nonexistent/x.rrd") }
    }

    @Test("two chunk messages of one size swapped in place: the manifest row names another chunk, detected")
    func swappedChunks() throws {
        let path = Fixtures.rrdPath("many_small_chunks.rrd")
        let index = try RecordingIndex(path: path)
        let m = try #require(index.manifests.first { $0.count > 100 })
        // Two rows of one entity whose messages have the same size, so that swapping them keeps the framing.
        var bySize: [UInt64: Int] = [:]
        var pair: (Int, Int)?
        for row in 0..<m.count {
            let size = m.location(row: row).size
            if let other = bySize[size], m.entityPath(row: other) == m.entityPath(row: row) {
                pair = (other, row)
                break
            }
            bySize[size] = row
        }
        let (a, b) = try #require(pair)
        var bytes = try Fixtures.bytes(URL(fileURLWithPath: path))
        let (oa, size) = m.location(row: a)
        let ob = m.location(row: b).offset
        let chunkA = Array(bytes[Int(oa)..<Int(oa + size)])
        bytes.replaceSubrange(Int(oa)..<Int(oa + size), with: bytes[Int(ob)..<Int(ob + size)])
        bytes.replaceSubrange(Int(ob)..<Int(ob + size), with: chunkA)
        let swapped = temporaryPath("swapped")
        defer { try? FileManager.default.removeItem(atPath: swapped) }
        try Data(bytes).write(to: URL(fileURLWithPath: swapped))

        // The footer is intact (its checksum covers only itself): the manifest opens, then a read of either row fails.
        let opened = try RecordingIndex(path: swapped)
        let entity = m.entityPath(row: a)
        let summary = m.summary(row: a)
        let component = try #require(summary.components.first).descriptor.component
        let query: StoreQuery
        if let timeline = summary.timelines.first?.name {
            query = StoreQuery(entity: entity, component: component, mode: .range(timeline: timeline, from: .min, through: .max))
        } else {
            query = StoreQuery(entity: entity, component: component, mode: .staticData)
        }
        #expect(throws: RecordingIndex.Unusable.self) { _ = try opened.load(query) }
        #expect(throws: RecordingIndex.Unusable.self) { _ = try opened.load(query, store: m.storeId.description) }
    }

    @Test(
        "overlapping chunks, nulls, ties and static data (seeded): latest-at and range from the manifest equal the full read",
        arguments: 0..<12)
    func overlappingChunks(seed: UInt64) throws {
        let path = temporaryPath("overlap")
        defer { try? FileManager.default.removeItem(atPath: path) }
        var rng = SplitMix64(seed: seed &+ 0x5EED)
        let store = try SyntheticRecording.write(to: path, seed: seed, rng: &rng)
        let index = try RecordingIndex(path: path)
        let stores = PipelineStores()
        let load = stores.load(paths: [path])
        #expect(load.errors.isEmpty, "\(load.errors)")
        let full = try #require(stores.store(store))
        var readLess = false
        for t in Int64(-1)...Int64(SyntheticRecording.maxTime + 1) {
            let q = StoreQuery(
                entity: SyntheticRecording.entity, component: SyntheticRecording.component,
                mode: .latestAt(timeline: "frame", time: t))
            let loaded = try index.load(q)
            #expect(q.jsonLines(in: loaded.chunkStore) == q.jsonLines(in: full), "seed \(seed) at \(t)")
            readLess = readLess || loaded.chunksRead < loaded.chunksTotal
        }
        for _ in 0..<20 {
            let a = Int64(rng.next() % UInt64(SyntheticRecording.maxTime + 3)) - 1
            let b = a + Int64(rng.next() % 6)
            let q = StoreQuery(
                entity: SyntheticRecording.entity, component: SyntheticRecording.component,
                mode: .range(timeline: "frame", from: a, through: b))
            let loaded = try index.load(q)
            #expect(q.jsonLines(in: loaded.chunkStore) == q.jsonLines(in: full), "seed \(seed) range \(a)...\(b)")
        }
        let q = StoreQuery(entity: SyntheticRecording.entity, component: SyntheticRecording.component, mode: .staticData)
        #expect(q.jsonLines(in: try index.load(q).chunkStore) == q.jsonLines(in: full), "seed \(seed) static")
        // Early times need only the chunks that start by then.
        #expect(readLess, "seed \(seed)")
    }
}

/// Recordings of one entity's `Scalars:scalars` on `frame`, in chunks whose time ranges overlap, with
/// null cells, equal times across chunks and (by seed) a static chunk with a value or with only nulls.
enum SyntheticRecording {
    static let entity = "/plot/sin"
    static let component = "Scalars:scalars"
    static let maxTime = 24

    /// Writes the recording; returns its store.
    static func write(to path: String, seed: UInt64, rng: inout SplitMix64) throws -> StoreId {
        // The template: a chunk of scalars_sequence.rrd (its fields and metadata), and its store's info.
        var reader = try RRDReader(path: Fixtures.rrdPath("scalars_sequence.rrd"))
        var info: SetStoreInfo?
        var template: Chunk?
        while let event = reader.next() {
            guard case .message(let framed) = event else { continue }
            switch framed.message {
            case .setStoreInfo(let i) where info == nil: info = i
            case .arrowMsg(let msg) where template == nil:
                let chunk = try ChunkDecoder().decode(msg)
                if chunk.entityPath == entity { template = chunk }
            default: break
            }
        }
        let storeInfo = try #require(info)
        let parts = try #require(template).recordBatchParts()
        let store = storeInfo.info.storeId
        let writer = try RecordingWriter(path: path)
        try writer.write(storeInfo)
        var nextRowId: [UInt64] = (0..<200).map { UInt64($0) }
        nextRowId.shuffle(using: &rng)
        let chunks = 4 + Int(rng.next() % 8)
        for k in 0..<chunks {
            let rows = 1 + Int(rng.next() % 6)
            let start = Int64(rng.next() % UInt64(maxTime))
            let times = (0..<rows).map { _ in start + Int64(rng.next() % 6) }
            let ids = Array(nextRowId.prefix(rows)).sorted()
            nextRowId.removeFirst(rows)
            let values: [Double?] = (0..<rows).map { i in rng.next() % 4 == 0 ? nil : Double(k * 100 + i) }
            try writer.write(
                try chunk(parts, id: UInt64(1000 + k), rowIds: ids, times: times, values: values), store: store)
        }
        if seed % 3 != 2 {
            // A static chunk: with a value (it wins), or only a null cell (the temporal rows answer).
            let value: Double? = seed % 3 == 0 ? 42 : nil
            try writer.write(
                try chunk(parts, id: 999, rowIds: [nextRowId[0]], times: nil, values: [value]), store: store)
        }
        try writer.finish()
        return store
    }

    /// A chunk like the template, with the given rows (`times` nil: static).
    static func chunk(
        _ parts: RecordBatchParts, id: UInt64, rowIds: [UInt64], times: [Int64]?, values: [Double?]
    ) throws -> Chunk {
        let n = rowIds.count
        let fields = parts.schema.fields
        let rowField = try #require(fields.first { $0.metadata("rerun:kind") == "control" })
        let timeField = try #require(fields.first { $0.metadata("rerun:kind") == "index" })
        let dataField = try #require(fields.first { $0.metadata("rerun:kind") == "data" })
        var columns: [ArrowArray] = []
        var kept: [ArrowField] = []
        let idStorage = ByteStorage(count: 16 * n) { dst in
            for (i, r) in rowIds.enumerated() {
                dst.storeBytes(of: UInt64(1_700_000_000_000_000_000).bigEndian, toByteOffset: 16 * i, as: UInt64.self)
                dst.storeBytes(of: r.bigEndian, toByteOffset: 16 * i + 8, as: UInt64.self)
            }
        }
        var rowFieldUnsorted = rowField
        rowFieldUnsorted.metadata.removeAll { $0.key == "rerun:is_sorted" }
        kept.append(rowFieldUnsorted)
        columns.append(
            ArrowArray(
                assembling: .fixedSizeBinary(16), length: n, nullCount: 0, storage: idStorage, validity: nil,
                values: 0..<idStorage.count, data: 0..<0, children: []))
        if let times {
            var f = timeField
            f.metadata.removeAll { $0.key == "rerun:is_sorted" }
            kept.append(f)
            let s = ByteStorage(count: 8 * n) { dst in
                for (i, t) in times.enumerated() { dst.storeBytes(of: t.littleEndian, toByteOffset: 8 * i, as: Int64.self) }
            }
            columns.append(
                ArrowArray(
                    assembling: .int(bitWidth: 64, signed: true), length: n, nullCount: 0, storage: s, validity: nil,
                    values: 0..<s.count, data: 0..<0, children: []))
        }
        kept.append(dataField)
        guard case .list(let item) = dataField.type else { throw ChunkError("template column is not a list") }
        let present = values.compactMap { $0 }
        let child = ByteStorage(count: 8 * max(present.count, 1)) { dst in
            for (i, v) in present.enumerated() { dst.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 8 * i, as: UInt64.self) }
        }
        let childArray = ArrowArray(
            assembling: item.type, length: present.count, nullCount: 0, storage: child, validity: nil,
            values: 0..<(8 * present.count), data: 0..<0, children: [])
        let nulls = values.filter { $0 == nil }.count
        let list = ByteStorage(count: 8 + 4 * (n + 1)) { dst in
            dst[0..<8].initializeMemory(as: UInt8.self, repeating: 0)
            var offset: Int32 = 0
            dst.storeBytes(of: offset.littleEndian, toByteOffset: 8, as: Int32.self)
            for (i, v) in values.enumerated() {
                if v != nil {
                    dst[i >> 3] |= 1 << UInt8(i & 7)
                    offset += 1
                }
                dst.storeBytes(of: offset.littleEndian, toByteOffset: 8 + 4 * (i + 1), as: Int32.self)
            }
        }
        columns.append(
            ArrowArray(
                assembling: dataField.type, length: n, nullCount: nulls, storage: list, validity: 0,
                values: 8..<list.count, data: 0..<0, children: [childArray]))
        var metadata = parts.schema.metadata
        let chunkId = ChunkId(timeNs: 1_700_000_000_000_000_000, inc: id)
        for k in metadata.indices where metadata[k].key == "rerun:id" { metadata[k].value = chunkId.description }
        let ipc = try ArrowIPCWriter.stream(
            schema: ArrowSchema(fields: kept, metadata: metadata), columns: columns, length: n, compression: .none)
        return try ChunkDecoder().decode(ipc: ByteSlice(copying: ipc))
    }
}
