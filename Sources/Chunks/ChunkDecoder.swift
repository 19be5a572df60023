#if canImport(Glibc)
import Glibc
#endif
import ArrowIPC
import IngestCore

/// Decodes uncompressed Arrow IPC payloads (an `ArrowMsg`'s, once decompressed) into ``Chunk``s:
/// Arrow IPC (schema cache) → Sorbet conventions → rows sorted by RowId. It knows nothing of the
/// RRD framing or its LZ4 compression: the ingestion layer decides where payloads are decompressed
/// and hands over the bytes, with the hints the message carries (chunk id, is-static).
///
/// A chunk decoded from a small payload (``compactionThreshold``) keeps a compact copy of its record
/// batch's body and schema metadata in the decoder's arena; a larger one views its payload without
/// copying.
///
/// Chunks written by older SDKs (rerun-sdk 0.23 … 0.40: `sorbet:version` before 0.1.4, or 0.23's
/// `rerun.`-prefixed keys) are read too, and by default migrated to today's names
/// (``migratesSchemas``, ``SchemaMigration``), once per schema.
///
/// One per worker and store: it caches decoded schemas and their column layout, and its arena holds
/// the store's compacted chunks, so it is not Sendable.
///
/// ```swift
/// let decoder = ChunkDecoder()
/// let chunk = try decoder.decode(ipc: payload, chunkIdHint: msg.chunkId, isStaticHint: msg.isStatic)
/// print(chunk.entityPath, chunk.numRows)
/// ```
public final class ChunkDecoder {
    // Four stored properties read once or twice per chunk skip the runtime's dynamic exclusivity
    // check (`@exclusivity(unchecked)`): `validateFully`, `compactionThreshold`, `internStrings`,
    // `internTable`. Benchmark row: callgrind of `ingest replay scalars_50mb.rrd`, worker thread,
    // 434.9 M instructions with them, 447.3 M without (+2.9 %: four checks per chunk, 36,000 chunks).
    // Sound: a decoder is used by one thread at a time and no method lends one of them `inout` to
    // code that could reach the decoder again. The other properties are off the per-chunk path (or
    // the optimizer drops their checks): none of them measured a difference.

    /// Check every string value's UTF-8 too (``/ArrowIPC/ArrowStreamReader/read(_:validateFully:)``).
    @exclusivity(unchecked) public var validateFully = false
    /// Whether chunks written by older SDKs get today's column names, entity paths and schema
    /// metadata (``SchemaMigration``; default `true`, as 0.41's reader does on load). `false` keeps
    /// the raw view: what the bytes say (`ingest print`, `ingest verify`). Chunks of today's
    /// ``SorbetVersion/current`` are the same either way. Fixed for the decoder's life: its cached
    /// layouts are of one view (and a constant needs no exclusivity check per chunk).
    public let migratesSchemas: Bool
    /// Payloads of at most this many bytes are compacted: the chunk keeps a copy of the record
    /// batch's body and the schema metadata in the decoder's own arena instead of the
    /// whole decompressed payload (of which the schema is about half for a tiny chunk), so the
    /// payload's memory is released (and recycled by the arena it came from) as soon as the message
    /// is dropped. Larger payloads are borrowed without copying. 0 turns compaction off.
    @exclusivity(unchecked) public var compactionThreshold = 64 << 10

    private let reader = ArrowStreamReader()
    /// Where compacted chunks keep their bytes: slabs shared by the chunks of this decoder only (one
    /// decoder per store, so one store's chunks never pin another's memory).
    private let bodyArena = SlabArena(.chunkBodies)
    private var layouts: [Int: Layout] = [:]
    /// Entity paths seen (``intern(_:)``): the strings, and the table of their positions by hash.
    @exclusivity(unchecked) private var internStrings: [String] = []
    @exclusivity(unchecked) private var internTable = PositionTable()

    /// The layout of the previous chunk's schema (consecutive chunks usually share one): no look-up.
    private var lastLayout: (key: Int, layout: Layout)?

    /// Column roles derived from the schema fields (not the schema metadata), cached per schema id.
    /// A class: taking it from the cache for every chunk costs one retain, not one per array.
    private final class Layout {
        let rowIdColumn: Int
        let timelines: [TimelineLayout]
        let components: [ComponentLayout]
        let warnings: [String]
        /// The version the chunks are migrated from (nil: not migrated, the raw view).
        let migratedFrom: SorbetVersion?
        /// Whether an entity path rule applies to the chunks (their paths are checked then).
        let renamesEntityPaths: Bool
        /// The chunks' shared column layout (built from these fields by the first chunk).
        var columns: ColumnLayout?

        init(
            rowIdColumn: Int, timelines: [TimelineLayout], components: [ComponentLayout], warnings: [String],
            migratedFrom: SorbetVersion?
        ) {
            self.rowIdColumn = rowIdColumn
            self.timelines = timelines
            self.components = components
            self.warnings = warnings
            self.migratedFrom = migratedFrom
            self.renamesEntityPaths = migratedFrom.map(SchemaMigration.renamesEntityPaths) ?? false
        }
    }

    // Structs rather than tuples: copying a tuple of this size went through the runtime's generic
    // tuple witness (visible in the small-chunk profile).
    private struct TimelineLayout {
        var column: Int
        var name: String
        var kind: TimelineKind
        var columnName: String
        var arrowType: String
    }

    private struct ComponentLayout {
        var column: Int
        var name: String
        var archetype: String?
        var component: String
        var componentType: String?
        var arrowType: String
    }

    /// Creates a decoder with empty caches; `migratesSchemas` chooses the view (see there).
    public init(migratesSchemas: Bool = true) {
        self.migratesSchemas = migratesSchemas
    }

    /// Decodes one uncompressed Arrow IPC stream holding one chunk: an `ArrowMsg`'s payload, once
    /// decompressed.
    ///
    /// A payload of at most ``compactionThreshold`` bytes is compacted (the chunk keeps a copy of
    /// what it needs, see there) when it is an arena slice or has its storage to itself; a small
    /// slice of a larger storage that is not an arena slab (a read block) is copied, so the chunk
    /// does not pin the block; otherwise the chunk views the payload without copying.
    ///
    /// - Parameters:
    ///   - payload: the Arrow IPC stream (schema, dictionaries, one record batch).
    ///   - chunkIdHint: `ArrowMsg.chunk_id`, used when the schema lacks `rerun:id`.
    ///   - isStaticHint: `ArrowMsg.is_static`, compared with the columns (a mismatch is a warning).
    /// - Throws: ``ChunkError`` for a malformed or invalid Arrow stream (with the column path and
    ///   IPC offset), or a record batch that breaks the chunk conventions (no row-id column, null row
    ///   ids or times, an unsupported timeline type, no entity path or chunk id).
    public func decode(
        ipc payload: ByteSlice, chunkIdHint: ChunkId? = nil, isStaticHint: Bool? = nil
    ) throws(ChunkError) -> Chunk {
        let storage: ByteStorage
        if payload.count <= compactionThreshold && (payload.storage.isArenaSlab || payload.storage.count == payload.count) {
            // Compacted: the reader makes a storage borrowing the payload only if the batch cannot be
            // compacted after all (dictionaries, compressed body), which keeps it then, as below.
            return try decode(
                ipc: .borrowed(payload), chunkIdHint: chunkIdHint, isStaticHint: isStaticHint, compacting: true)
        } else if !payload.storage.isArenaSlab && payload.storage.count > 2 * payload.count + 4096 {
            // An uncompressed payload is a slice of the reader's block: copy it, so the chunk does not pin the block.
            // (An arena's slab is meant to be shared by the chunks decoded from it: no copy.)
            storage = payload.withUnsafeBytes { src in
                ByteStorage(count: src.count) { dst in
                    if src.count > 0 { dst.copyMemory(from: src) }
                }
            }
        } else {
            // The ByteStorage is immutable once built and `owner` keeps it alive for as long as any view does.
            storage = payload.withUnsafeBytes { ByteStorage(unsafeBorrowing: $0, owner: payload.storage) }
        }
        return try decode(
            ipc: .storage(storage), chunkIdHint: chunkIdHint, isStaticHint: isStaticHint,
            compacting: payload.count <= compactionThreshold)
    }

    /// The IPC stream to decode: a storage, or a payload slice (borrowed only if the batch keeps it).
    enum Source {
        case storage(ByteStorage)
        case borrowed(ByteSlice)
    }

    /// Decodes an uncompressed Arrow IPC stream holding one chunk, viewing `storage` (never compacted).
    ///
    /// - Parameters:
    ///   - storage: the Arrow IPC stream (schema, dictionaries, one record batch); the chunk's
    ///     columns view it, so it lives as long as the chunk.
    ///   - chunkIdHint: `ArrowMsg.chunk_id`, used when the schema lacks `rerun:id`.
    ///   - isStaticHint: `ArrowMsg.is_static`, compared with the columns (a mismatch is a warning).
    /// - Returns: the chunk, its rows sorted by row id.
    /// - Throws: ``ChunkError`` as ``decode(ipc:chunkIdHint:isStaticHint:)-(ByteSlice,_,_)`` does.
    public func decode(
        ipc storage: ByteStorage, chunkIdHint: ChunkId? = nil, isStaticHint: Bool? = nil
    ) throws(ChunkError) -> Chunk {
        try decode(ipc: .storage(storage), chunkIdHint: chunkIdHint, isStaticHint: isStaticHint, compacting: false)
    }

    /// ``decode(ipc:chunkIdHint:isStaticHint:)-(ByteStorage,_,_)``, copying what the chunk keeps into
    /// ``bodyArena`` when `compacting` (see ``compactionThreshold``).
    func decode(
        ipc source: Source, chunkIdHint: ChunkId?, isStaticHint: Bool?, compacting: Bool
    ) throws(ChunkError) -> Chunk {
        // The schema metadata values the chunk needs are read straight from the message bytes while
        // the reader checks them (no second pass, nothing else decoded): the path through the
        // interning table, the id parsed from its UTF-8. The first entry of a key counts, as in
        // `ArrowSchema.metadata(_:)`.
        var pick = MetadataPick()
        let batch: ArrowRecordBatch
        do {
            let arena = compacting ? bodyArena : nil
            switch source {
            case .storage(let storage):
                batch = try reader.read(storage, validateFully: validateFully, compactingInto: arena) {
                    pick.take($0, $1, self)
                }
            case .borrowed(let payload):
                // The ByteStorage is immutable once built, and the reader's storage (if it makes one)
                // keeps it alive through `owner` for as long as any view does.
                batch = try payload.withUnsafeBytes { (bytes) throws(ArrowError) in
                    try reader.read(
                        borrowing: bytes, owner: payload.storage, validateFully: validateFully, compactingInto: arena
                    ) { pick.take($0, $1, self) }
                }
            }
        } catch {
            throw ChunkError("Arrow IPC: \(error.description)")
        }
        let entityPath = pick.entityPath
        let legacyPath = pick.legacyPath
        let idBytes = pick.idBytes
        let legacyId = pick.legacyId
        let versionKnown = pick.versionKnown
        // The schema cache ignores metadata values, so one schema id may stand for chunks of several
        // versions: the layout is per (schema, version it is migrated from). Chunks that are not
        // migrated (today's version, or the raw view) share one layout per schema.
        // Integer codes (``SorbetVersion/code``, -1: none); today's chunks take the first branch.
        var code = pick.versionCode
        var migrated = false
        if code != SorbetVersion.current.code {
            if code < 0 && pick.dottedKeys { code = SorbetVersion.dottedKeys.code }
            migrated = migratesSchemas && code >= 0 && code < SorbetVersion.current.code
        }
        let layoutKey = batch.schemaID << 24 | (migrated ? code : 0xFF_FFFF)
        let layout: Layout
        if let last = lastLayout, last.key == layoutKey {
            layout = last.layout
        } else if let l = layouts[layoutKey] {
            layout = l
        } else {
            layout = try Self.layout(
                batch.fields, version: code >= 0 ? SorbetVersion(code: code) : nil, migrating: migrated)
            if layouts.count > 1024 { layouts.removeAll(keepingCapacity: true) }
            layouts[layoutKey] = layout
        }
        lastLayout = (layoutKey, layout)
        let fields = batch.fields
        var warnings = layout.warnings.isEmpty ? batch.warnings : layout.warnings + batch.warnings

        guard var entityPath = entityPath ?? legacyPath else {
            throw ChunkError("schema has no rerun:entity_path metadata")
        }
        if layout.renamesEntityPaths, let from = layout.migratedFrom {
            entityPath = SchemaMigration.entityPath(entityPath, version: from)
        }
        let id: ChunkId
        if idBytes.seen || legacyId.seen {
            guard let parsed = idBytes.seen ? idBytes.parsed : legacyId.parsed else {
                let s = batch.schemaMetadata("rerun:id") ?? batch.schemaMetadata("rerun.id") ?? ""
                throw ChunkError("rerun:id \"\(s)\" is not a TUID")
            }
            id = ChunkId(parsed)
        } else if let hint = chunkIdHint {
            id = hint
        } else {
            throw ChunkError("chunk has no id (no rerun:id metadata and no ArrowMsg.chunk_id)")
        }
        if let hint = chunkIdHint, hint != id {
            warnings.append("ArrowMsg.chunk_id \(hint) differs from rerun:id \(id)")
        }
        if !versionKnown, let v = batch.schemaMetadata("sorbet:version") {
            warnings.append("unknown sorbet:version \(v)")
        }

        // Row ids: FixedSizeBinary(16), big-endian time then counter.
        let n = batch.length
        // Read in place (copying the array would retain its objects).
        let (rowIdNulls, rowIdValues) = batch.columns.withUnsafeBufferPointer { columns in
            precondition(layout.rowIdColumn < columns.count, "row-id column outside the record batch")
            let i = layout.rowIdColumn
            return (columns[i].nullCount, columns[i].withUnsafeBuffers { values, _ in values })
        }
        guard rowIdNulls == 0 else {
            throw ChunkError("column rerun.controls.RowId: \(rowIdNulls) null row ids")
        }
        // Sorted (the common case): the chunk reads its row ids from the column, no array is built.
        // FixedSizeBinary(16) was checked to hold 16 bytes per row when the batch was read; the
        // buffer is checked once more here rather than per row.
        guard rowIdValues.count >= 16 * n else {
            throw ChunkError("column rerun.controls.RowId: \(rowIdValues.count) bytes for \(n) row ids")
        }
        let rowIdBytes = rowIdValues.baseAddress
        func rowId(_ r: Int) -> RowId {
            // The storage stays alive: `batch` (which holds it) lives for the whole function.
            RowId(
                timeNs: UInt64(bigEndian: rowIdValues.loadUnaligned(fromByteOffset: 16 * r, as: UInt64.self)),
                inc: UInt64(bigEndian: rowIdValues.loadUnaligned(fromByteOffset: 16 * r + 8, as: UInt64.self)))
        }
        var sorted = true
        if n > 1 {
            var last = rowId(0)
            for r in 1..<n {
                let t = rowId(r)
                if t < last {
                    sorted = false
                    break
                }
                last = t
            }
        }
        var rowIds: [RowId]?
        var order: [Int32]?
        if !sorted {
            guard n <= Int(Int32.max) else { throw ChunkError("chunk of \(n) rows is too large to sort") }
            let ids = (0..<n).map { rowId($0) }
            var perm = (0..<Int32(n)).map { $0 }
            perm.sort { ids[Int($0)] < ids[Int($1)] || (ids[Int($0)] == ids[Int($1)] && $0 < $1) }
            rowIds = perm.map { ids[Int($0)] }
            order = perm
        }

        for t in layout.timelines {
            let nulls = batch.columns.withUnsafeBufferPointer { $0[t.column].nullCount }
            guard nulls == 0 else {
                throw ChunkError("index column \(fields[t.column].name): \(nulls) null time values")
            }
        }
        // One layout per schema, shared by its chunks: a chunk holds no value per column.
        let columns: ColumnLayout
        if let known = layout.columns {
            columns = known
        } else {
            columns = ColumnLayout.make(
                timelines: layout.timelines.map { ($0.column, $0.name, $0.columnName, $0.kind, $0.arrowType) },
                components: layout.components.map {
                    ($0.column, $0.name, $0.archetype, $0.component, $0.componentType, $0.arrowType)
                }, migratedFrom: layout.migratedFrom)
            layout.columns = columns
        }
        let isStatic = layout.timelines.isEmpty
        if let hint = isStaticHint, hint != isStatic {
            warnings.append("ArrowMsg.is_static = \(hint) but the chunk has \(layout.timelines.count) index column(s)")
        }
        return Chunk(
            id: id, entityPath: entityPath, numRows: n, isStatic: isStatic, rowIds: rowIds,
            // The storage is immutable and the chunk keeps it alive through its record batch.
            rowIdBytes: rowIdBytes, layout: columns, rowOrder: order, schemaMetadata: nil, recordBatch: consume batch,
            wasResorted: !sorted, rowIdsAscending: true, warnings: warnings)
    }

    /// The schema metadata values a chunk needs, picked from the entries the reader lends (the
    /// first entry of a key counts, as in `ArrowSchema.metadata(_:)`).
    private struct MetadataPick {
        var entityPath: String?
        var legacyPath: String?
        var idBytes: (parsed: Tuid?, seen: Bool) = (nil, false)
        var legacyId: (parsed: Tuid?, seen: Bool) = (nil, false)
        var versionKnown = true
        var versionSeen = false
        /// `sorbet:version`, parsed (``SorbetVersion/code``; -1: absent or not a version).
        var versionCode = -1
        /// `0.1.` as a little-endian UInt32 (the first four bytes of every 0.1.x version).
        static let zeroOneDot = UInt32(0x30) | UInt32(0x2E) << 8 | UInt32(0x31) << 16 | UInt32(0x2E) << 24
        /// Whether a `rerun.`-prefixed key was seen (rerun-sdk 0.23, which writes no `sorbet:version`).
        var dottedKeys = false

        @inline(__always)
        mutating func take(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, _ decoder: ChunkDecoder) {
            if ChunkDecoder.equal(key, "rerun:entity_path") {
                if entityPath == nil { entityPath = decoder.intern(value) }
            } else if ChunkDecoder.equal(key, "rerun:id") {
                if !idBytes.seen { idBytes = (ChunkDecoder.parseTuid(value), true) }
            } else if ChunkDecoder.equal(key, "sorbet:version") {
                if !versionSeen {
                    versionSeen = true
                    // Today's version (nearly every chunk) costs one comparison; others are parsed.
                    if value.count == 5 && value.loadUnaligned(as: UInt32.self) == Self.zeroOneDot
                        && value[4] == UInt8(ascii: "4")
                    {
                        versionCode = SorbetVersion.current.code
                    } else {
                        versionKnown =
                            value.count >= 4 && value[0] == UInt8(ascii: "0") && value[1] == UInt8(ascii: ".")
                            && value[2] == UInt8(ascii: "1") && value[3] == UInt8(ascii: ".")
                        versionCode = SorbetVersion(utf8: value)?.code ?? -1
                    }
                }
            } else if ChunkDecoder.equal(key, "rerun.entity_path") {
                dottedKeys = true
                if legacyPath == nil { legacyPath = decoder.intern(value) }
            } else if ChunkDecoder.equal(key, "rerun.id") {
                dottedKeys = true
                if !legacyId.seen { legacyId = (ChunkDecoder.parseTuid(value), true) }
            } else if ChunkDecoder.equal(key, "rerun.version") {
                dottedKeys = true
            }
        }
    }

    /// Parses `chunk_` + 32 hex digits (or a bare / `row_`-prefixed TUID) from UTF-8 without
    /// `String` index arithmetic (which showed in the small-chunk profile).
    static func parseTuid(_ s: String) -> Tuid? {
        var s = s
        return s.withUTF8 { parseTuid(UnsafeRawBufferPointer($0)) }
    }

    /// ``parseTuid(_:)`` on UTF-8 bytes.
    static func parseTuid(_ u: UnsafeRawBufferPointer) -> Tuid? {
        var start = 0
        if u.count == 38 { start = 6 } else if u.count == 36 { start = 4 } else if u.count != 32 { return nil }
        guard let a = hex8(u.loadUnaligned(fromByteOffset: start, as: UInt64.self)),
            let b = hex8(u.loadUnaligned(fromByteOffset: start + 8, as: UInt64.self)),
            let c = hex8(u.loadUnaligned(fromByteOffset: start + 16, as: UInt64.self)),
            let d = hex8(u.loadUnaligned(fromByteOffset: start + 24, as: UInt64.self))
        else { return nil }
        return Tuid(timeNs: a << 32 | b, inc: c << 32 | d)
    }

    /// The value of 8 hex digits (either case; the first one most significant), given as the 8
    /// bytes loaded from memory (so, little-endian: the first digit in the low byte); nil when a
    /// byte is not a hex digit. Eight bytes at a time instead of a branch per digit (the digit loop
    /// showed in the small-chunk profile).
    @inline(__always)
    static func hex8(_ raw: UInt64) -> UInt64? {
        let x = UInt64(littleEndian: raw)
        let high: UInt64 = 0x8080_8080_8080_8080
        let ones: UInt64 = 0x0101_0101_0101_0101
        guard x & high == 0 else { return nil }
        // For bytes below 0x80 (no carry leaves a byte): bit 7 of `x + (0x80 - c)` is set iff byte >= c.
        func atLeast(_ v: UInt64, _ c: UInt64) -> UInt64 { (v &+ (0x80 &- c) &* ones) & high }
        let digit = atLeast(x, 0x30) & ~atLeast(x, 0x3A)
        let lower = x | 0x2020_2020_2020_2020  // A-F -> a-f
        let letter = atLeast(lower, 0x61) & ~atLeast(lower, 0x67)
        guard digit | letter == high else { return nil }
        // Nibble per byte: the low 4 bits, plus 9 for a letter ('a' = 0x61 -> 1 + 9).
        var n = (x & 0x0F0F_0F0F_0F0F_0F0F) &+ (letter >> 7) &* 9
        n = n.byteSwapped  // the first digit in the high byte
        n = (n | n >> 4) & 0x00FF_00FF_00FF_00FF
        n = (n | n >> 8) & 0x0000_FFFF_0000_FFFF
        n = (n | n >> 16) & 0x0000_0000_FFFF_FFFF
        return n
    }

    /// The string of these UTF-8 bytes (checked valid when the batch was read), shared with earlier
    /// chunks of this decoder that had the same bytes: a recording repeats few entity paths, so most
    /// chunks allocate no string for theirs. The engine's open-addressing table (``PositionTable``)
    /// keyed by the byte hash (confirmed by comparing the bytes), emptied when ``maxInterned`` are held.
    private func intern(_ bytes: UnsafeRawBufferPointer) -> String {
        let h = ByteHasher.hash(bytes)
        let found = internStrings.withUnsafeBufferPointer { strings in
            internTable.find(hash: h) { Self.equal(strings[Int($0)], bytes) }
        }
        if let found { return internStrings[Int(found)] }
        let s = String(decoding: bytes, as: UTF8.self)
        if internStrings.count >= Self.maxInterned {
            internTable.removeAll(keepingCapacity: true)
            internStrings.removeAll(keepingCapacity: true)
        }
        internTable.insert(hash: h, position: Int32(internStrings.count))
        internStrings.append(s)
        return s
    }

    /// Entity paths interned before the table starts over (the 3/4 of the 4096 slots it had).
    private static let maxInterned = 3072

    private static func equal(_ bytes: UnsafeRawBufferPointer, _ s: StaticString) -> Bool {
        bytes.count == s.utf8CodeUnitCount && memcmp(bytes.baseAddress!, s.utf8Start, bytes.count) == 0
    }

    private static func equal(_ s: String, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var s = s
        return s.withUTF8 { u in
            u.count == bytes.count && (u.isEmpty || memcmp(u.baseAddress!, bytes.baseAddress!, u.count) == 0)
        }
    }

    /// Classifies the columns by `rerun:kind` (or 0.23's `rerun.kind`) and checks their types; with
    /// `migrating`, component descriptors are those of ``SchemaMigration`` for chunks of `version`
    /// (a dropped column is left out).
    private static func layout(
        _ fields: [ArrowField], version: SorbetVersion?, migrating: Bool
    ) throws(ChunkError) -> Layout {
        var rowId: Int?
        var timelines: [TimelineLayout] = []
        var components: [ComponentLayout] = []
        var warnings: [String] = []
        for (i, f) in fields.enumerated() {
            let kind = f.metadata("rerun:kind") ?? f.metadata("rerun.kind")
            switch kind {
            case "control", "row_id":
                guard case .fixedSizeBinary(16) = f.type, f.dictionary == nil else {
                    throw ChunkError(
                        "row-id column \(f.name) has type \(f.typeDescription), expected fixed_size_binary[16]")
                }
                guard rowId == nil else { throw ChunkError("two row-id columns (\(f.name))") }
                rowId = i
            case "index", "time":
                let kind: TimelineKind
                switch f.type {
                case .int(64, true): kind = .sequence
                case .timestamp(.nanosecond, _): kind = .timestamp
                case .duration(.nanosecond): kind = .duration
                default:
                    throw ChunkError("index column \(f.name) has unsupported time type \(f.typeDescription)")
                }
                guard f.dictionary == nil else { throw ChunkError("index column \(f.name) is dictionary-encoded") }
                timelines.append(
                    TimelineLayout(
                        column: i, name: f.metadata("rerun:index_name") ?? f.metadata("rerun.index_name") ?? f.name,
                        kind: kind, columnName: f.name,
                        arrowType: f.typeDescription))
            default:
                if let kind, kind != "data", kind != "component" {
                    warnings.append("column \(f.name) has unknown rerun:kind \(kind); treated as data")
                }
                switch f.type {
                case .list, .largeList: break
                default:
                    throw ChunkError("component column \(f.name) has type \(f.typeDescription), expected a list")
                }
                guard f.dictionary == nil else { throw ChunkError("component column \(f.name) is dictionary-encoded") }
                guard let c = SchemaMigration.column(f, version: version, migrating: migrating) else { continue }
                components.append(
                    ComponentLayout(
                        column: i, name: c.name, archetype: c.archetype, component: c.component,
                        componentType: c.componentType, arrowType: f.typeDescription))
            }
        }
        guard let rowId else {
            if let f = fields.first(where: { $0.name == "rerun.controls.RowId" }) {
                throw ChunkError("column \(f.name) lacks rerun:kind = control")
            }
            throw ChunkError("chunk has no row-id column (rerun:kind = control)")
        }
        if migrating {
            // 0.41 keeps a migrated chunk's components ordered by name (a renamed column moves: 0.23's
            // `AxisLength` comes first among Transform3D's fields, `TransformAxes3D:axis_length` last).
            components = components.enumerated().sorted { ($0.element.name, $0.offset) < ($1.element.name, $1.offset) }
                .map(\.element)
        }
        return Layout(
            rowIdColumn: rowId, timelines: timelines, components: components, warnings: warnings,
            migratedFrom: migrating ? version : nil)
    }
}

