import ArrowIPC
import Chunks
import IngestCore
import RRD

/// Builds the footer manifests of a stream being written (rrd-format.md §6.5, §11): per store that has
/// chunks, one row per chunk and the store's union schema, as 0.41 writes them.
///
/// Rows are kept compactly (a few integers per chunk, per timeline and per component) until
/// ``manifests()`` lays them out as columns:
/// - `chunk_entity_path`, `chunk_id` (16 bytes, big-endian), `chunk_is_static`, `chunk_num_rows`,
///   `chunk_byte_offset` (of the `ArrowMsg` payload, from the stream start), `chunk_byte_size`,
///   `chunk_byte_size_uncompressed`;
/// - `DESCRIPTOR:has_static_data` per component descriptor (in Rerun's descriptor order);
/// - `T:start`, `T:end` per timeline (by name; null for static chunks);
/// - `T:DESCRIPTOR:start|end|num_rows` per timeline and descriptor (null and 0 where the chunk has no
///   row holding it).
///
/// The union schema has the row-id column, one index column per timeline and one column per entity
/// and component (`ENTITY:COMPONENT`, with `rerun:is_static` when any chunk is static and
/// `rerun:is_semantically_empty` when every chunk's column is).
struct ManifestBuilder {
    /// The rows of one store.
    struct Store {
        var chunkIds: [ChunkId] = []
        var entities: [Int32] = []
        var isStatic: [Bool] = []
        var numRows: [UInt64] = []
        var offsets: [UInt64] = []
        var sizes: [UInt64] = []
        var uncompressed: [UInt64] = []
        /// Per row, where its entries start in `rowTimelines` and `rowComponents`.
        var timelineStart: [Int32] = [0]
        var componentStart: [Int32] = [0]
        /// (timeline index, range) of each row's timelines.
        var rowTimelines: [(timeline: Int32, lo: Int64, hi: Int64, has: Bool)] = []
        /// (descriptor index, first entry in `componentRanges`) of each row's components.
        var rowComponents: [(descriptor: Int32, ranges: Int32)] = []
        /// One per (row component, row timeline), in that order.
        var componentRanges: [(lo: Int64, hi: Int64, rows: UInt64, has: Bool)] = []

        var entityNames: [String] = []
        var entityIndex: [String: Int32] = [:]
        var timelineNames: [String] = []
        var timelineTypes: [ArrowType] = []
        var timelineIndex: [String: Int32] = [:]
        var descriptors: [ChunkSummary.Descriptor] = []
        var descriptorIndex: [ChunkSummary.Descriptor: Int32] = [:]
        /// Union schema, by column.
        var sorbet: [SorbetColumn.Kind: SorbetColumn] = [:]
        var hints = ManifestHints()

        mutating func entity(_ path: String) -> Int32 {
            if let i = entityIndex[path] { return i }
            let i = Int32(entityNames.count)
            entityNames.append(path)
            entityIndex[path] = i
            return i
        }

        mutating func timeline(_ name: String, _ type: ArrowType) -> Int32 {
            if let i = timelineIndex[name] { return i }
            let i = Int32(timelineNames.count)
            timelineNames.append(name)
            timelineTypes.append(type)
            timelineIndex[name] = i
            return i
        }

        mutating func descriptor(_ d: ChunkSummary.Descriptor) -> Int32 {
            if let i = descriptorIndex[d] { return i }
            let i = Int32(descriptors.count)
            descriptors.append(d)
            descriptorIndex[d] = i
            return i
        }

        mutating func addSorbet(_ column: SorbetColumn) {
            if var existing = sorbet[column.kind] {
                existing.isStatic = existing.isStatic || column.isStatic
                existing.isSemanticallyEmpty = existing.isSemanticallyEmpty && column.isSemanticallyEmpty
                sorbet[column.kind] = existing
            } else {
                sorbet[column.kind] = column
            }
        }
    }

    private(set) var stores: [StoreId: Store] = [:]
    /// Stores in the order their first chunk was added.
    private(set) var order: [StoreId] = []

    /// Adds the row of one chunk written at `byteOffset` (its payload, from the stream start).
    mutating func add(
        _ s: ChunkSummary, store id: StoreId, byteOffset: UInt64, byteSize: UInt64, uncompressedSize: UInt64
    ) {
        if stores[id] == nil {
            stores[id] = Store()
            order.append(id)
        }
        stores[id]!.add(s, byteOffset: byteOffset, byteSize: byteSize, uncompressedSize: uncompressedSize)
    }

    /// Adds the columns an input's manifest had for store `id` (the store must get rows too, or it
    /// is left out: a manifest is written only for a store with chunks).
    mutating func merge(_ hints: ManifestHints, store id: StoreId) {
        if stores[id] == nil {
            stores[id] = Store()
            order.append(id)
        }
        stores[id]!.merge(hints)
    }

    /// The number of rows so far.
    var rowCount: Int { stores.values.reduce(0) { $0 + $1.chunkIds.count } }

    /// The manifests of every store that has chunks, in the order they appeared.
    func manifests() throws(ArrowError) -> [MessageEncoding.Manifest] {
        var out: [MessageEncoding.Manifest] = []
        for id in order {
            guard let store = stores[id], !store.chunkIds.isEmpty else { continue }
            out.append(try store.manifest(id))
        }
        return out
    }
}

extension ManifestBuilder.Store {
    mutating func add(_ s: ChunkSummary, byteOffset: UInt64, byteSize: UInt64, uncompressedSize: UInt64) {
        chunkIds.append(s.chunkId)
        let e = entity(s.entityPath)
        entities.append(e)
        isStatic.append(s.isStatic)
        numRows.append(UInt64(s.numRows))
        offsets.append(byteOffset)
        sizes.append(byteSize)
        uncompressed.append(uncompressedSize)
        addSorbet(SorbetColumn(kind: .rowId, type: .fixedSizeBinary(16)))
        var rowTimelineIndex: [Int32] = []
        if !s.isStatic {
            for t in s.timelines {
                let k = timeline(t.name, t.type)
                rowTimelineIndex.append(k)
                rowTimelines.append((k, t.range?.lowerBound ?? 0, t.range?.upperBound ?? 0, t.range != nil))
                addSorbet(SorbetColumn(kind: .index(name: t.name), type: t.type))
            }
        }
        for c in s.components {
            let d = descriptor(c.descriptor)
            rowComponents.append((d, Int32(componentRanges.count)))
            if !s.isStatic {
                for (i, _) in rowTimelineIndex.enumerated() {
                    let r = i < c.perTimeline.count ? c.perTimeline[i] : ChunkSummary.ComponentRange(range: nil, rows: 0)
                    componentRanges.append((r.range?.lowerBound ?? 0, r.range?.upperBound ?? 0, UInt64(r.rows), r.range != nil))
                }
            }
            addSorbet(
                SorbetColumn(
                    kind: .component(entityPath: s.entityPath, c.descriptor), type: c.type, isStatic: s.isStatic,
                    isSemanticallyEmpty: c.isSemanticallyEmpty))
        }
        timelineStart.append(Int32(rowTimelines.count))
        componentStart.append(Int32(rowComponents.count))
    }

    mutating func merge(_ h: ManifestHints) {
        for c in h.sorbet { addSorbet(c) }
        for (name, type) in h.timelines where hints.timelines[name] == nil { hints.timelines[name] = type }
        hints.staticDescriptors.formUnion(h.staticDescriptors)
        for (key, type) in h.temporal where hints.temporal[key] == nil { hints.temporal[key] = type }
    }

    /// The manifest of this store.
    func manifest(_ id: StoreId) throws(ArrowError) -> MessageEncoding.Manifest {
        let n = chunkIds.count
        var fields: [ArrowField] = []
        var columns: [ArrowArray] = []
        func add(_ f: ArrowField, _ a: ArrowArray) {
            fields.append(f)
            columns.append(a)
        }
        add(
            ArrowField(name: "chunk_entity_path", type: .utf8, nullable: false),
            ManifestArrays.strings(entities.map { entityNames[Int($0)] }))
        add(
            ArrowField(name: "chunk_id", type: .fixedSizeBinary(16), nullable: false),
            ManifestArrays.tuids(chunkIds.map(\.tuid)))
        add(ArrowField(name: "chunk_is_static", type: .bool, nullable: false), ManifestArrays.bools(isStatic))
        add(ArrowField(name: "chunk_num_rows", type: .int(bitWidth: 64, signed: false), nullable: false), ManifestArrays.uint64s(numRows))
        add(ArrowField(name: "chunk_byte_offset", type: .int(bitWidth: 64, signed: false), nullable: false), ManifestArrays.uint64s(offsets))
        add(ArrowField(name: "chunk_byte_size", type: .int(bitWidth: 64, signed: false), nullable: false), ManifestArrays.uint64s(sizes))
        add(
            ArrowField(name: "chunk_byte_size_uncompressed", type: .int(bitWidth: 64, signed: false), nullable: false),
            ManifestArrays.uint64s(uncompressed))

        // Static columns: every descriptor seen (Rerun pads one for each temporal descriptor too).
        var allDescriptors = Set(descriptors).union(hints.staticDescriptors)
        for key in hints.temporal.keys { allDescriptors.insert(key.descriptor) }
        let sortedDescriptors = allDescriptors.sorted()
        // One pass over the rows scatters their values into the columns.
        var staticValues = [[Bool]](repeating: [Bool](repeating: false, count: n), count: sortedDescriptors.count)
        let staticColumnOf = descriptors.map { d in sortedDescriptors.firstIndex(of: d)! }
        for row in 0..<n where isStatic[row] {
            for c in Int(componentStart[row])..<Int(componentStart[row + 1]) {
                staticValues[staticColumnOf[Int(rowComponents[c].descriptor)]][row] = true
            }
        }
        for (k, d) in sortedDescriptors.enumerated() {
            add(
                ArrowField(
                    name: ManifestNaming.manifestColumn(prefix: nil, descriptor: d, suffix: "has_static_data"), type: .bool,
                    nullable: false, metadata: Self.descriptorMetadata(d, index: "rerun:static")),
                ManifestArrays.bools(staticValues[k]))
        }

        // Timeline-level ranges.
        var timelineTypesByName = hints.timelines
        for (k, name) in timelineNames.enumerated() { timelineTypesByName[name] = timelineTypes[k] }
        let sortedTimelines = timelineTypesByName.keys.sorted()
        let timelineColumnOf = timelineNames.map { sortedTimelines.firstIndex(of: $0)! }
        var timelineLo = [[Int64?]](repeating: [Int64?](repeating: nil, count: n), count: sortedTimelines.count)
        var timelineHi = timelineLo
        for row in 0..<n {
            for t in Int(timelineStart[row])..<Int(timelineStart[row + 1]) where rowTimelines[t].has {
                let column = timelineColumnOf[Int(rowTimelines[t].timeline)]
                timelineLo[column][row] = rowTimelines[t].lo
                timelineHi[column][row] = rowTimelines[t].hi
            }
        }
        for (k, name) in sortedTimelines.enumerated() {
            let type = timelineTypesByName[name]!
            let md = [KeyValue(key: "rerun:index", value: name)]
            add(
                ArrowField(name: ManifestNaming.manifestColumn(prefix: name, descriptor: nil, suffix: "start"), type: type, nullable: true, metadata: md),
                ManifestArrays.times(timelineLo[k], type: type))
            add(
                ArrowField(name: ManifestNaming.manifestColumn(prefix: name, descriptor: nil, suffix: "end"), type: type, nullable: true, metadata: md),
                ManifestArrays.times(timelineHi[k], type: type))
        }

        // Per timeline and descriptor.
        var temporalKeys = hints.temporal
        for row in 0..<n where !isStatic[row] {
            let ts = Int(timelineStart[row])..<Int(timelineStart[row + 1])
            for c in Int(componentStart[row])..<Int(componentStart[row + 1]) {
                for t in ts {
                    let k = Int(rowTimelines[t].timeline)
                    let key = TemporalKey(timeline: timelineNames[k], descriptor: descriptors[Int(rowComponents[c].descriptor)])
                    if temporalKeys[key] == nil { temporalKeys[key] = timelineTypes[k] }
                }
            }
        }
        let sortedKeys = temporalKeys.keys.sorted()
        var keyColumn: [TemporalKey: Int] = [:]
        for (k, key) in sortedKeys.enumerated() { keyColumn[key] = k }
        var lo = [[Int64?]](repeating: [Int64?](repeating: nil, count: n), count: sortedKeys.count)
        var hi = lo
        var rows = [[UInt64]](repeating: [UInt64](repeating: 0, count: n), count: sortedKeys.count)
        for row in 0..<n where !isStatic[row] {
            let ts = Int(timelineStart[row])..<Int(timelineStart[row + 1])
            for c in Int(componentStart[row])..<Int(componentStart[row + 1]) {
                let d = descriptors[Int(rowComponents[c].descriptor)]
                for t in ts {
                    let name = timelineNames[Int(rowTimelines[t].timeline)]
                    let column = keyColumn[TemporalKey(timeline: name, descriptor: d)]!
                    let r = componentRanges[Int(rowComponents[c].ranges) + (t - ts.lowerBound)]
                    if r.has {
                        lo[column][row] = r.lo
                        hi[column][row] = r.hi
                    }
                    rows[column][row] = r.rows
                }
            }
        }
        for (k, key) in sortedKeys.enumerated() {
            let type = temporalKeys[key]!
            let md = Self.descriptorMetadata(key.descriptor, index: key.timeline)
            add(
                ArrowField(name: ManifestNaming.manifestColumn(prefix: key.timeline, descriptor: key.descriptor, suffix: "start"), type: type, nullable: true, metadata: md),
                ManifestArrays.times(lo[k], type: type))
            add(
                ArrowField(name: ManifestNaming.manifestColumn(prefix: key.timeline, descriptor: key.descriptor, suffix: "end"), type: type, nullable: true, metadata: md),
                ManifestArrays.times(hi[k], type: type))
            add(
                ArrowField(
                    name: ManifestNaming.manifestColumn(prefix: key.timeline, descriptor: key.descriptor, suffix: "num_rows"),
                    type: .int(bitWidth: 64, signed: false), nullable: true, metadata: md),
                ManifestArrays.uint64s(rows[k]))
        }

        let data = try ArrowIPCWriter.stream(
            schema: ArrowSchema(fields: fields, metadata: []), columns: columns, length: n)
        let compressed = data.withUnsafeBytes { src -> [UInt8] in
            var out = [UInt8](repeating: 0, count: LZ4Block.compressBound(src.count))
            let c = out.withUnsafeMutableBytes { LZ4Block.compress(src, into: $0) } ?? 0
            out.removeLast(out.count - c)
            return out
        }

        let sorbetFields = sorbet.values.sorted { SorbetColumn.precedes($0.kind, $1.kind) }.map(\.field)
        let schema = ArrowIPCWriter.schemaStream(ArrowSchema(fields: sorbetFields, metadata: []))
        // Rerun hashes the schema with its fields sorted and no metadata, as one IPC schema message.
        var hashed = ArrowSchema(fields: sorbetFields.sorted { $0.name < $1.name }, metadata: [])
        hashed.metadata = []
        let sha = SHA256.hash(ArrowIPCWriter.schemaStream(hashed).dropLast(8).map { $0 })
        return MessageEncoding.Manifest(
            storeId: id, sorbetSchema: schema, sorbetSchemaSHA256: sha, data: compressed.isEmpty ? data : compressed,
            dataCompression: compressed.isEmpty ? .none : .lz4, dataUncompressedSize: UInt64(data.count))
    }

    /// `rerun:index`, then the descriptor's `rerun:archetype`, `rerun:component`, `rerun:component_type`.
    static func descriptorMetadata(_ d: ChunkSummary.Descriptor, index: String) -> [KeyValue] {
        var md: [KeyValue] = []
        if let a = d.archetype { md.append(KeyValue(key: "rerun:archetype", value: a)) }
        md.append(KeyValue(key: "rerun:component", value: d.component))
        if let t = d.componentType { md.append(KeyValue(key: "rerun:component_type", value: t)) }
        md.append(KeyValue(key: "rerun:index", value: index))
        return md
    }
}

/// Arrays built in memory for a manifest's columns.
enum ManifestArrays {
    static func strings(_ values: [String]) -> ArrowArray {
        let utf8 = values.map { Array($0.utf8) }
        let dataCount = utf8.reduce(0) { $0 + $1.count }
        let offsetsCount = 4 * (values.count + 1)
        let storage = ByteStorage(count: offsetsCount + dataCount) { dst in
            var at = 0
            dst.storeBytes(of: Int32(0).littleEndian, toByteOffset: 0, as: Int32.self)
            for (i, s) in utf8.enumerated() {
                s.withUnsafeBytes { src in
                    if !src.isEmpty { (dst.baseAddress! + offsetsCount + at).copyMemory(from: src.baseAddress!, byteCount: src.count) }
                }
                at += s.count
                dst.storeBytes(of: Int32(at).littleEndian, toByteOffset: 4 * (i + 1), as: Int32.self)
            }
        }
        return ArrowArray(
            assembling: .utf8, length: values.count, nullCount: 0, storage: storage, validity: nil,
            values: 0..<offsetsCount, data: offsetsCount..<(offsetsCount + dataCount), children: [])
    }

    static func tuids(_ values: [Tuid]) -> ArrowArray {
        let storage = ByteStorage(count: 16 * values.count) { dst in
            for (i, t) in values.enumerated() {
                dst.storeBytes(of: t.timeNs.bigEndian, toByteOffset: 16 * i, as: UInt64.self)
                dst.storeBytes(of: t.inc.bigEndian, toByteOffset: 16 * i + 8, as: UInt64.self)
            }
        }
        return ArrowArray(
            assembling: .fixedSizeBinary(16), length: values.count, nullCount: 0, storage: storage, validity: nil,
            values: 0..<storage.count, data: 0..<0, children: [])
    }

    static func bools(_ values: [Bool]) -> ArrowArray {
        let count = (values.count + 7) / 8
        let storage = ByteStorage(count: count) { dst in
            dst.initializeMemory(as: UInt8.self, repeating: 0)
            for (i, v) in values.enumerated() where v { dst[i >> 3] |= 1 << UInt8(i & 7) }
        }
        return ArrowArray(
            assembling: .bool, length: values.count, nullCount: 0, storage: storage, validity: nil, values: 0..<count,
            data: 0..<0, children: [])
    }

    static func uint64s(_ values: [UInt64]) -> ArrowArray {
        let storage = ByteStorage(count: 8 * values.count) { dst in
            for (i, v) in values.enumerated() { dst.storeBytes(of: v.littleEndian, toByteOffset: 8 * i, as: UInt64.self) }
        }
        return ArrowArray(
            assembling: .int(bitWidth: 64, signed: false), length: values.count, nullCount: 0, storage: storage,
            validity: nil, values: 0..<storage.count, data: 0..<0, children: [])
    }

    /// 64-bit times (`int64`, `timestamp`, `duration`), nil for null.
    static func times(_ values: [Int64?], type: ArrowType) -> ArrowArray {
        let nulls = values.reduce(0) { $0 + ($1 == nil ? 1 : 0) }
        let validityCount = nulls > 0 ? ((values.count + 63) / 64) * 8 : 0
        let storage = ByteStorage(count: validityCount + 8 * values.count) { dst in
            if validityCount > 0 { dst[0..<validityCount].initializeMemory(as: UInt8.self, repeating: 0) }
            for (i, v) in values.enumerated() {
                if v != nil, validityCount > 0 { dst[i >> 3] |= 1 << UInt8(i & 7) }
                dst.storeBytes(of: (v ?? 0).littleEndian, toByteOffset: validityCount + 8 * i, as: Int64.self)
            }
        }
        return ArrowArray(
            assembling: type, length: values.count, nullCount: nulls, storage: storage,
            validity: validityCount > 0 ? 0 : nil, values: validityCount..<storage.count, data: 0..<0, children: [])
    }
}
