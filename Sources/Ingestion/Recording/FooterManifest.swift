import ArrowIPC
import Chunks
import IngestCore
import RRD

/// One store's footer manifest read back from a recording (rrd-format.md §11): a row per chunk with
/// where its `ArrowMsg` payload lies and what ``/Chunks/ChunkSummary`` it has, plus the store's union schema.
///
/// ```swift
/// if let manifests = try FooterManifest.read(path: "big.rrd") {
///     for m in manifests { print(m.storeId, m.count) }
/// }
/// ```
///
/// The rows stay as the decoded record batch (a few bytes per chunk and column); a row's summary is
/// built when asked for (``summary(row:)``).
public struct FooterManifest: Sendable {
    /// The store the manifest indexes.
    public let storeId: StoreId
    /// The store's union schema (`sorbet_schema`).
    public let schema: ArrowSchema
    /// Number of chunks.
    public var count: Int { batch.length }

    let batch: ArrowRecordBatch
    let hints: ManifestHints
    /// Column indexes of the fixed columns.
    private let entityColumn: Int, idColumn: Int, staticColumn: Int, rowsColumn: Int, offsetColumn: Int,
        sizeColumn: Int, uncompressedColumn: Int
    private let staticColumns: [(descriptor: ChunkSummary.Descriptor, column: Int)]
    private let timelineColumns: [(name: String, type: ArrowType, start: Int, end: Int)]
    /// Per timeline (in `timelineColumns` order) the per-component columns.
    private let temporalColumns: [[(descriptor: ChunkSummary.Descriptor, start: Int, end: Int, rows: Int)]]
    /// Component types and emptiness by (entity, descriptor), from the schema.
    private let componentTypes: [SorbetColumn.Kind: SorbetColumn]

    /// Reads every manifest of the footer at the end of `path` (see ``/RRD/TrailingFooter/read(path:maxPayload:)``).
    /// - Returns: nil when the file has no usable footer (none, a concatenation of streams, a bad
    ///   checksum) or the footer does not decode as manifests: callers then read the whole file.
    /// - Throws: ``/RRD/RRDError/Code/io`` when the file cannot be read.
    public static func read(path: String) throws(RRDError) -> [FooterManifest]? {
        guard let footer = try TrailingFooter.read(path: path) else { return nil }
        return try? decode(footer.payload, fileSize: footer.payloadOffset)
    }

    /// Decodes the manifests of an End payload; `fileSize` bounds the chunk offsets (the End
    /// message's offset: every chunk lies before it).
    /// - Throws: ``RRD/RRDError`` or ``ArrowIPC/ArrowError`` for a footer that does not decode or
    ///   whose manifests miss columns or point outside the file.
    static func decode(_ payload: ByteSlice, fileSize: UInt64) throws -> [FooterManifest] {
        try MessageDecoding.decodeRrdFooter(payload).map { encoded in
            let schema = try encoded.sorbetSchema.withUnsafeBytes { (b) throws(ArrowError) in try IPCFraming.schema(b) }
            let data = try encoded.decompressedData()
            // A decompressed payload has its storage to itself: read it in place (a 360,000-chunk
            // manifest is tens of MB).
            let whole = data.range == 0..<data.storage.count
            let batch = try ArrowStreamReader().read(whole ? data.storage : ByteStorage(copying: data.bytes))
            let m = try FooterManifest(storeId: encoded.storeId, schema: schema, batch: batch)
            for row in 0..<m.count {
                let (offset, size) = m.location(row: row)
                guard offset >= 16, offset + size <= fileSize else {
                    throw RRDError(
                        .badFooter, source: "", offset: 0,
                        "manifest row \(row) points at bytes \(offset)..<\(offset + size), outside the stream")
                }
            }
            return m
        }
    }

    init(storeId: StoreId, schema: ArrowSchema, batch: ArrowRecordBatch) throws {
        self.storeId = storeId
        self.schema = schema
        self.batch = batch
        let fields = batch.fields
        func column(_ name: String, _ type: ArrowType) throws -> Int {
            guard let k = fields.firstIndex(where: { $0.name == name }), fields[k].type == type else {
                throw RRDError(.badFooter, source: "", offset: 0, "manifest lacks column \(name): \(type)")
            }
            return k
        }
        let u64 = ArrowType.int(bitWidth: 64, signed: false)
        entityColumn = try column("chunk_entity_path", .utf8)
        idColumn = try column("chunk_id", .fixedSizeBinary(16))
        staticColumn = try column("chunk_is_static", .bool)
        rowsColumn = try column("chunk_num_rows", u64)
        offsetColumn = try column("chunk_byte_offset", u64)
        sizeColumn = try column("chunk_byte_size", u64)
        uncompressedColumn = try column("chunk_byte_size_uncompressed", u64)

        var hints = ManifestHints()
        var statics: [(ChunkSummary.Descriptor, Int)] = []
        var timelines: [(name: String, type: ArrowType, start: Int, end: Int)] = []
        var temporal: [String: [(descriptor: ChunkSummary.Descriptor, start: Int, end: Int, rows: Int)]] = [:]
        func descriptor(_ f: ArrowField) -> ChunkSummary.Descriptor? {
            f.metadata("rerun:component").map {
                ChunkSummary.Descriptor(
                    archetype: f.metadata("rerun:archetype"), component: $0, componentType: f.metadata("rerun:component_type"))
            }
        }
        for (k, f) in fields.enumerated() {
            guard let index = f.metadata("rerun:index") else { continue }
            if f.name.hasSuffix(":has_static_data"), let d = descriptor(f) {
                guard f.type == .bool else { throw RRDError(.badFooter, source: "", offset: 0, "\(f.name) is not bool") }
                statics.append((d, k))
                hints.staticDescriptors.insert(d)
            } else if f.name.hasSuffix(":start") {
                let stem = String(f.name.dropLast(6))
                guard let end = fields.firstIndex(where: { $0.name == stem + ":end" }), fields[end].type == f.type else {
                    throw RRDError(.badFooter, source: "", offset: 0, "manifest column \(f.name) has no matching :end")
                }
                switch f.type {
                case .int(64, true), .timestamp, .duration: break
                default: throw RRDError(.badFooter, source: "", offset: 0, "manifest column \(f.name) is \(f.type)")
                }
                if let d = descriptor(f) {
                    guard let rows = fields.firstIndex(where: { $0.name == stem + ":num_rows" }), fields[rows].type == u64 else {
                        throw RRDError(.badFooter, source: "", offset: 0, "manifest column \(f.name) has no :num_rows")
                    }
                    temporal[index, default: []].append((d, k, end, rows))
                    hints.temporal[TemporalKey(timeline: index, descriptor: d)] = f.type
                } else {
                    timelines.append((index, f.type, k, end))
                    hints.timelines[index] = f.type
                }
            }
        }
        var types: [SorbetColumn.Kind: SorbetColumn] = [:]
        for f in schema.fields {
            guard let c = SorbetColumn(field: f) else { continue }
            hints.sorbet.append(c)
            types[c.kind] = c
        }
        staticColumns = statics
        timelineColumns = timelines.sorted { $0.name < $1.name }
        temporalColumns = timelineColumns.map { temporal[$0.name] ?? [] }
        componentTypes = types
        self.hints = hints
    }

    /// Where row `row`'s `ArrowMsg` payload lies (offset from the stream start) and its size.
    public func location(row: Int) -> (offset: UInt64, size: UInt64) {
        (batch.columns[offsetColumn].value(at: row, as: UInt64.self), batch.columns[sizeColumn].value(at: row, as: UInt64.self))
    }

    /// Row `row`'s chunk id.
    public func chunkId(row: Int) -> ChunkId {
        batch.columns[idColumn].withUnsafeBytes(at: row) { b in
            ChunkId(
                timeNs: UInt64(bigEndian: b.loadUnaligned(as: UInt64.self)),
                inc: UInt64(bigEndian: b.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
    }

    /// Row `row`'s uncompressed payload size.
    public func uncompressedSize(row: Int) -> UInt64 { batch.columns[uncompressedColumn].value(at: row, as: UInt64.self) }

    /// Row `row`'s row count (`chunk_num_rows`).
    public func numRows(row: Int) -> Int { Int(truncatingIfNeeded: batch.columns[rowsColumn].value(at: row, as: UInt64.self)) }

    /// Row `row`'s entity path.
    public func entityPath(row: Int) -> String { batch.columns[entityColumn].string(at: row) ?? "" }

    /// Whether row `row`'s chunk is static.
    public func isStatic(row: Int) -> Bool { batch.columns[staticColumn].bool(at: row) }

    /// Row `row`'s time range on `timeline`, nil when the chunk has none there.
    public func timeRange(row: Int, timeline: String) -> ClosedRange<Int64>? {
        guard let t = timelineColumns.first(where: { $0.name == timeline }) else { return nil }
        let s = batch.columns[t.start]
        let e = batch.columns[t.end]
        guard !s.isNull(row), !e.isNull(row) else { return nil }
        return s.value(at: row, as: Int64.self)...e.value(at: row, as: Int64.self)
    }

    /// What row `row` says about its chunk. Components of a temporal chunk are those with a row on
    /// some timeline (a column that is null throughout the chunk is not visible in a manifest; the
    /// schema and columns of the manifest, which a rewrite keeps, still have it).
    public func summary(row: Int) -> ChunkSummary {
        let isStatic = self.isStatic(row: row)
        let entity = entityPath(row: row)
        var timelines: [ChunkSummary.TimelineRange] = []
        var present: [Int] = []
        if !isStatic {
            for (k, t) in timelineColumns.enumerated() {
                let s = batch.columns[t.start]
                let e = batch.columns[t.end]
                guard !s.isNull(row), !e.isNull(row) else { continue }
                timelines.append(.init(name: t.name, type: t.type, range: s.value(at: row, as: Int64.self)...e.value(at: row, as: Int64.self)))
                present.append(k)
            }
        }
        var components: [ChunkSummary.Component] = []
        func component(_ d: ChunkSummary.Descriptor, _ perTimeline: [ChunkSummary.ComponentRange]) -> ChunkSummary.Component {
            let column = componentTypes[.component(entityPath: entity, d)]
            return ChunkSummary.Component(
                descriptor: d, type: column?.type ?? .null, isSemanticallyEmpty: column?.isSemanticallyEmpty ?? false,
                perTimeline: perTimeline)
        }
        if isStatic {
            for (d, k) in staticColumns where batch.columns[k].bool(at: row) { components.append(component(d, [])) }
        } else {
            var byDescriptor: [ChunkSummary.Descriptor: [ChunkSummary.ComponentRange]] = [:]
            var order: [ChunkSummary.Descriptor] = []
            for (i, k) in present.enumerated() {
                for c in temporalColumns[k] {
                    let rows = Int(batch.columns[c.rows].value(at: row, as: UInt64.self))
                    let s = batch.columns[c.start]
                    let e = batch.columns[c.end]
                    let range = s.isNull(row) || e.isNull(row) ? nil : s.value(at: row, as: Int64.self)...e.value(at: row, as: Int64.self)
                    guard rows > 0 || range != nil else { continue }
                    if byDescriptor[c.descriptor] == nil {
                        byDescriptor[c.descriptor] = [ChunkSummary.ComponentRange](repeating: .init(range: nil, rows: 0), count: present.count)
                        order.append(c.descriptor)
                    }
                    byDescriptor[c.descriptor]![i] = .init(range: range, rows: rows)
                }
            }
            for d in order { components.append(component(d, byDescriptor[d]!)) }
        }
        return ChunkSummary(
            chunkId: chunkId(row: row), entityPath: entity, isStatic: isStatic,
            numRows: Int(batch.columns[rowsColumn].value(at: row, as: UInt64.self)), timelines: timelines,
            components: components)
    }

    /// The row of the chunk whose payload is at `offset`, by a map built once (``RowIndex``).
    public func rowIndex() -> RowIndex {
        var map: [UInt64: Int] = [:]
        map.reserveCapacity(count)
        for row in 0..<count { map[location(row: row).offset] = row }
        return RowIndex(byOffset: map)
    }

    /// Rows by payload offset.
    public struct RowIndex: Sendable {
        let byOffset: [UInt64: Int]
        /// The row whose chunk's payload starts at `offset` (from the stream start).
        public func row(payloadOffset offset: UInt64) -> Int? { byOffset[offset] }
    }
}
