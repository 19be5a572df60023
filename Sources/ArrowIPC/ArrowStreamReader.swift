#if canImport(Glibc)
import Glibc
#endif
import IngestCore

/// Reads one Arrow IPC **stream** (Schema, DictionaryBatch*, RecordBatch, EOS) into a zero-copy
/// ``ArrowRecordBatch`` whose arrays point into the given storage (or, when compacting into a
/// `SlabArena`, into a copy of just the record batch's body).
///
/// ```swift
/// let reader = ArrowStreamReader()
/// let batch = try reader.read(ByteStorage(copying: bytes))
/// let column = batch.columns[0]
/// if !column.isNull(0) { print(column.value(at: 0, as: Int64.self)) }
/// ```
///
/// Decoded schemas are cached, keyed by the schema message's metadata bytes, so the tiny chunks of a
/// recording (which repeat the same schema) pay for flatbuffer parsing once: a message whose schema
/// bytes equal the previous one's outside the metadata value strings is not walked at all, and a
/// schema of common types loads its batches through a precomputed load plan. Not thread-safe:
/// use one reader per thread.
///
/// Limits: nesting depth 64 (schema decoding), decompressed body at most
/// ``maxDecompressedBodySize`` bytes, array lengths at most 2^40 slots, at most ``maxColumns`` columns,
/// ``maxRows`` rows and ``maxDictionaryLength`` dictionary values (deltas included); above a limit,
/// ``ArrowError/Code/tooLarge``.
/// - Complexity: O(metadata + rows) with a constant number of allocations per column, independent
///   of the row count (validation scans offsets, type ids and indices once).
public final class ArrowStreamReader {
    /// Cap on the total decompressed size of a compressed message body.
    public var maxDecompressedBodySize = 1 << 31
    /// Number of distinct schemas kept; the cache is cleared when full.
    public var maxCachedSchemas = 512
    /// Cap on the number of top-level fields (columns) of a schema.
    @exclusivity(unchecked) public var maxColumns = 1 << 16
    /// Cap on the row count of a record batch.
    @exclusivity(unchecked) public var maxRows = 1 << 40
    /// Cap on the number of values of one dictionary, summed over its delta batches.
    public var maxDictionaryLength = 1 << 32

    /// A class: the entry of the previous message is taken for every message (one retain, not one per field).
    private final class CacheEntry {
        let bytes: [UInt8]
        let masked: [Range<Int>]
        let schema: ArrowSchema
        let id: Int
        /// The bytes of the metadata value strings (`masked` without the length prefixes).
        let contents: [Range<Int>]
        /// Each metadata entry's key and value bytes (empty when absent), in vector order.
        let entries: [(key: Range<Int>, value: Range<Int>)]
        /// How to load the schema's batches quickly, when its types allow.
        let plan: LoadPlan?
        /// `entries` for ``PackedMetadata/pack(_:from:into:)`` (from the metadata bytes), and their packed size.
        let packed: [PackedMetadata.Entry]
        let packedSize: Int

        init(
            bytes: [UInt8], masked: [Range<Int>], schema: ArrowSchema, id: Int,
            entries: [(key: Range<Int>, value: Range<Int>)]
        ) {
            self.bytes = bytes
            self.masked = masked
            self.schema = schema
            self.id = id
            self.contents = masked.map { ($0.lowerBound + 4)..<$0.upperBound }
            self.entries = entries
            self.plan = LoadPlan(schema.fields)
            packed = entries.map {
                PackedMetadata.Entry(
                    key: $0.key.lowerBound, keyCount: $0.key.count, value: $0.value.lowerBound,
                    valueCount: $0.value.count)
            }
            packedSize = PackedMetadata.size(packed)
        }
    }
    private var cache: [Int: [CacheEntry]] = [:]
    private var cachedCount = 0
    private var nextSchemaID = 0
    private var scratchRanges: [Range<Int>] = []
    private var loadScratch = LoadContext.Scratch()
    /// Record batches loaded by a schema's ``LoadPlan`` (tests).
    private(set) var plannedBatches = 0
    /// Whether known schemas load their batches through a ``LoadPlan`` (default); false: always the
    /// general loader. For differential tests and fuzzing: both must accept and reject the same
    /// batches and build the same arrays.
    @_spi(Testing) @exclusivity(unchecked) public var usesLoadPlans = true
    /// The entry that matched (or was added for) the previous message.
    private var lastEntry: CacheEntry?

    // Three public properties read once per message skip the runtime's dynamic exclusivity check
    // (`@exclusivity(unchecked)`): `maxColumns`, `maxRows`, `usesLoadPlans`. Benchmark row: callgrind
    // of `ingest replay scalars_50mb.rrd`, worker thread, +9.7 M instructions (+2.2 %) without them
    // (three checks per chunk). Sound: a reader is used by one thread at a time, and no method lends
    // one of them `inout` to code that could reach the reader again. The other properties (limits of
    // rarer paths, the schema cache behind the last entry, counters) showed no difference without.

    /// Creates a reader with an empty schema cache.
    public init() {}

    /// Decodes the first record batch of the stream in `storage`.
    ///
    /// - Parameters:
    ///   - storage: the whole IPC stream; the returned arrays keep it alive.
    ///   - validateFully: also check UTF-8 of every string value (the structural checks always run).
    /// - Throws: ``ArrowError`` with `.truncated`/`.malformed` for framing or metadata problems,
    ///   `.invalidData` for array data that contradicts its metadata (with the column path),
    ///   `.unsupported`, `.decompression` or `.tooLarge`.
    public func read(_ storage: ByteStorage, validateFully: Bool = false) throws(ArrowError) -> ArrowRecordBatch {
        try read(storage, validateFully: validateFully) { _, _ in }
    }

    /// ``read(_:validateFully:)`` that also lends `schemaMetadata` the UTF-8 bytes of each schema
    /// metadata key and value, in order, while it checks them (the batch's
    /// ``ArrowRecordBatch/forEachSchemaMetadataEntry(_:)`` without a second pass over the metadata).
    ///
    /// With a `compactingInto` arena, a batch keeps only what it needs instead of the whole stream:
    /// the record batch's body and the schema-level metadata (keys and values, packed) are copied
    /// into one range of the arena, the arrays point into it and `storage` is not retained. Worth it
    /// for small streams, where the schema message is about half of the bytes and the copy is cheap.
    /// Streams with dictionary batches or a compressed body are read as without an arena (their
    /// arrays point into the stream, or into a decompressed copy anyway).
    ///
    /// `schemaMetadata` runs before the record batch is read: it may have run when the read then
    /// throws. The pointers must not escape it.
    public func read(
        _ storage: ByteStorage, validateFully: Bool = false, compactingInto arena: SlabArena? = nil,
        schemaMetadata: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void
    ) throws(ArrowError) -> ArrowRecordBatch {
        try storage.withUnsafeBytes { (buf) throws(ArrowError) -> ArrowRecordBatch in
            var source = StreamStorage(buf: buf, storage: storage, owner: nil)
            return try readStream(
                buf, storage: &source, validateFully: validateFully, arena: arena, schemaMetadata: schemaMetadata)
        }
    }

    /// ``read(_:validateFully:compactingInto:schemaMetadata:)`` over bytes that `owner` keeps alive:
    /// a storage borrowing them is made only if the batch needs one (not when it is compacted).
    ///
    /// - Precondition: `bytes` stay valid and unchanged for as long as `owner` lives, and the caller
    ///   keeps `owner` alive for the duration of the call.
    public func read(
        borrowing bytes: UnsafeRawBufferPointer, owner: any Sendable & AnyObject, validateFully: Bool = false,
        compactingInto arena: SlabArena? = nil,
        schemaMetadata: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void
    ) throws(ArrowError) -> ArrowRecordBatch {
        var source = StreamStorage(buf: bytes, storage: nil, owner: owner)
        return try readStream(
            bytes, storage: &source, validateFully: validateFully, arena: arena, schemaMetadata: schemaMetadata)
    }

    /// The storage of the stream being read, made when first needed.
    private struct StreamStorage {
        let buf: UnsafeRawBufferPointer
        var storage: ByteStorage?
        let owner: (any Sendable & AnyObject)?

        mutating func get() -> ByteStorage {
            if let storage { return storage }
            let s = ByteStorage(unsafeBorrowing: buf, owner: owner!)
            storage = s
            return s
        }
    }

    // MARK: - Messages

    private func readStream(
        _ buf: UnsafeRawBufferPointer, storage source: inout StreamStorage, validateFully: Bool,
        arena: SlabArena?,
        schemaMetadata: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void
    ) throws(ArrowError) -> ArrowRecordBatch {
        // Messages come through IPCFraming, which holds the framing and message-order rules the
        // `check` walk runs too.
        let first = try IPCFraming.schemaMessage(buf)
        // The entry's metadata positions are this message's too: a cache hit means the same bytes
        // outside the value strings, whose lengths and places are part of that.
        let schemaTable = first.header
        let entry = try cachedSchema(
            UnsafeRawBufferPointer(rebasing: buf[first.metaRange]), schemaTable, schemaMetadata: schemaMetadata)
        let fields = entry.schema.fields
        let schemaID = entry.id
        guard fields.count <= maxColumns else {
            throw ArrowError(
                .tooLarge, offset: 0, "schema has \(fields.count) columns, above the cap of \(maxColumns)")
        }

        var dictionaries: [Int64: [ArrowArray]] = [:]
        var pos = first.next
        while true {
            let m = try IPCFraming.messageAfterSchema(buf, at: pos)
            let header = m.header
            if m.headerType == 2 {
                try readDictionary(
                    buf, m, header, fields: fields, storage: source.get(), into: &dictionaries, full: validateFully)
            } else {  // 3: the record batch
                // Compacting: the body and the packed metadata, copied into one storage; the arrays are
                // loaded from there (buffer offsets relative to the copied body).
                var body = m.bodyStart..<m.next
                let loadStorage: ByteStorage
                var packed: Range<Int>?
                if let arena, dictionaries.isEmpty, try header.table(3) == nil {
                    let metaAt = (body.count + 7) & ~7
                    let src = body
                    let packedCount = entry.packedSize
                    let copy = arena.allocate(count: metaAt + packedCount) { dst in
                        let out = dst.baseAddress!
                        if !src.isEmpty { out.copyMemory(from: buf.baseAddress! + src.lowerBound, byteCount: src.count) }
                        // Zero the padding: every byte handed out is defined.
                        if metaAt > src.count { (out + src.count).initializeMemory(as: UInt8.self, repeating: 0, count: metaAt - src.count) }
                        PackedMetadata.pack(
                            entry.packed, from: UnsafeRawBufferPointer(rebasing: buf[first.metaRange]),
                            into: UnsafeMutableRawBufferPointer(rebasing: dst[metaAt...]))
                    }
                    let at = copy.range.lowerBound
                    loadStorage = copy.storage
                    body = at..<(at + src.count)
                    packed = (at + metaAt)..<(at + metaAt + packedCount)
                } else {
                    loadStorage = source.get()
                }
                let streamStorage = source.storage
                // The metadata stays in the message bytes when the columns keep them alive anyway
                // (or in the compacted storage, packed).
                func metadata(_ columnStorage: ByteStorage) throws(ArrowError) -> SchemaMetadataSource {
                    if let packed { return .packed(storage: loadStorage, range: packed) }
                    if let streamStorage, columnStorage === streamStorage {
                        return .encoded(storage: streamStorage, meta: first.metaRange, table: schemaTable.pos)
                    }
                    return .decoded(try schemaTable.keyValues(2))
                }
                // Without dictionaries every array points into the column storage (the stream, or the
                // decompressed body; compacted: its range of a slab shared with other batches, which
                // is what this batch accounts for): the retained bytes are known without visiting the arrays.
                func retained(_ columns: [ArrowArray], _ columnStorage: ByteStorage) -> Int {
                    !dictionaries.isEmpty ? -1
                        : columns.isEmpty ? 0 : packed.map { $0.upperBound - body.lowerBound } ?? columnStorage.count
                }
                if !validateFully, usesLoadPlans, dictionaries.isEmpty, let plan = entry.plan,
                    let (length, columns) = plan.load(
                        header, body: body, storage: loadStorage, maxRows: maxRows, uncompressed: packed != nil)
                {
                    plannedBatches &+= 1
                    return ArrowRecordBatch(
                        fields: fields, metadata: try metadata(loadStorage), schemaID: schemaID, length: length,
                        columns: columns, warnings: [], retainedByteCount: retained(columns, loadStorage))
                }
                var ctx = try LoadContext(
                    buf: buf, message: m.start, batch: header, body: body, storage: loadStorage,
                    version: m.version, dictionaries: dictionaries, full: validateFully,
                    maxBody: maxDecompressedBodySize, scratch: &loadScratch)
                guard ctx.length <= maxRows else {
                    throw ArrowError(
                        .tooLarge, offset: m.start, "record batch has \(ctx.length) rows, above the cap of \(maxRows)")
                }
                var columns: [ArrowArray] = []
                columns.reserveCapacity(fields.count)
                for f in fields {
                    let c = try ctx.load(f, depth: 0)
                    guard c.length == ctx.length else {
                        throw ArrowError(
                            .invalidData, offset: m.start, path: f.name,
                            "column has \(c.length) slots but the record batch has \(ctx.length) rows")
                    }
                    columns.append(c)
                }
                try ctx.finish()
                ctx.release(into: &loadScratch)
                if validateFully { try IPCFraming.checkEnd(buf, after: m.next) }
                return ArrowRecordBatch(
                    fields: fields, metadata: try metadata(ctx.storage), schemaID: schemaID, length: ctx.length,
                    columns: columns, warnings: ctx.warnings, retainedByteCount: retained(columns, ctx.storage))
            }
            pos = m.next
        }
    }

    /// Looks the schema up by its metadata bytes, ignoring the contents of the schema-level
    /// metadata *values* (Rerun puts the per-chunk id and the entity path there, so without this
    /// every chunk's schema would differ). The metadata itself is checked (bounds, UTF-8) but not
    /// decoded: the record batch decodes it on demand.
    ///
    /// The schema of the previous message is compared first (consecutive chunks usually share
    /// one), so the common case costs one `memcmp` of the bytes and no hashing.
    ///
    /// - Note: sound as long as no other string of the schema shares its bytes with a metadata
    ///   value (flatbuffers "shared strings"); the Arrow writers (arrow-rs, Arrow C++) do not share.
    @inline(__always)
    private func cachedSchema(
        _ meta: UnsafeRawBufferPointer, _ schemaTable: FBTable,
        schemaMetadata: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void
    ) throws(ArrowError) -> CacheEntry {
        if let e = lastEntry, Self.sameOutsideValues(e, meta) {
            // The bytes differ at most inside the metadata value strings (same lengths, same places):
            // the flatbuffer is the one the entry was made from, except for those strings, which only
            // need their UTF-8 checked. No walk over the metadata tables.
            var valid = true
            for r in e.contents where !FBTable.isValidUTF8(UnsafeRawBufferPointer(rebasing: meta[r])) {
                valid = false
                break
            }
            if valid {
                for kv in e.entries {
                    schemaMetadata(UnsafeRawBufferPointer(rebasing: meta[kv.key]), UnsafeRawBufferPointer(rebasing: meta[kv.value]))
                }
                return e
            }
            // Invalid UTF-8: the walk below reports it where it is.
        }
        try schemaTable.keyValueValueRanges(2, into: &scratchRanges, entry: schemaMetadata)
        // Ranges must be disjoint and ordered for the masked comparison below.
        var disjoint = true
        for k in scratchRanges.indices.dropFirst() where scratchRanges[k].lowerBound < scratchRanges[k - 1].upperBound {
            disjoint = false
        }
        if !disjoint { scratchRanges.removeAll(keepingCapacity: true) }
        if let e = lastEntry, Self.matches(e, meta, masked: scratchRanges) {
            return e
        }
        // IngestCore's byte hash (not `Hasher`: SipHash showed at 11% of a small-chunk profile); a
        // hit is confirmed by comparing the bytes.
        var h = ByteHasher()
        var at = 0
        for r in scratchRanges {
            h.combine(UnsafeRawBufferPointer(rebasing: meta[at..<r.lowerBound]))
            h.combine(r.count)
            at = r.upperBound
        }
        h.combine(UnsafeRawBufferPointer(rebasing: meta[at...]))
        let key = Int(truncatingIfNeeded: h.value)
        if let entries = cache[key] {
            for e in entries where Self.matches(e, meta, masked: scratchRanges) {
                lastEntry = e
                return e
            }
        }
        let schema = try SchemaDecoding.schema(schemaTable, metadata: false)
        if cachedCount >= maxCachedSchemas {
            cache.removeAll(keepingCapacity: true)
            cachedCount = 0
        }
        nextSchemaID += 1
        var entries: [(key: Range<Int>, value: Range<Int>)] = []
        try schemaTable.forEachKeyValue(2) { k, v in entries.append((k, v)) }
        let entry = CacheEntry(
            bytes: Array(meta), masked: scratchRanges, schema: schema, id: nextSchemaID, entries: entries)
        cache[key, default: []].append(entry)
        cachedCount += 1
        lastEntry = entry
        return entry
    }

    /// Whether `meta` has the entry's length and equals its bytes everywhere but inside the metadata
    /// value strings (their length prefixes included in the comparison).
    ///
    /// Then every flatbuffer offset, vtable, length and key is the entry's: reading `meta` would find
    /// the same schema and the same key and value positions (the values need only their UTF-8 checked).
    @inline(__always)
    private static func sameOutsideValues(_ e: CacheEntry, _ meta: UnsafeRawBufferPointer) -> Bool {
        guard e.bytes.count == meta.count else { return false }
        return e.bytes.withUnsafeBytes { stored -> Bool in
            var at = 0
            for r in e.contents {
                if memcmp(stored.baseAddress! + at, meta.baseAddress! + at, r.lowerBound - at) != 0 { return false }
                at = r.upperBound
            }
            return memcmp(stored.baseAddress! + at, meta.baseAddress! + at, meta.count - at) == 0
        }
    }

    /// Whether `meta` equals the entry's bytes outside the metadata values (`masked`, which must be
    /// the entry's own masked ranges).
    private static func matches(_ e: CacheEntry, _ meta: UnsafeRawBufferPointer, masked: [Range<Int>]) -> Bool {
        guard e.bytes.count == meta.count, e.masked == masked else { return false }
        return e.bytes.withUnsafeBytes { stored -> Bool in
            var at = 0
            for r in masked {
                if memcmp(stored.baseAddress! + at, meta.baseAddress! + at, r.lowerBound - at) != 0 {
                    return false
                }
                at = r.upperBound
            }
            return memcmp(stored.baseAddress! + at, meta.baseAddress! + at, meta.count - at) == 0
        }
    }

    private func readDictionary(
        _ buf: UnsafeRawBufferPointer, _ m: IPCFraming.Message, _ header: FBTable, fields: [ArrowField],
        storage: ByteStorage, into dictionaries: inout [Int64: [ArrowArray]], full: Bool
    ) throws(ArrowError) {
        let id = try header.int64(0)
        guard let batch = try header.table(1) else {
            throw ArrowError(.malformed, offset: m.start, "DictionaryBatch \(id) without data")
        }
        let isDelta = try header.bool(2)
        guard var field = Self.dictionaryField(id: id, in: fields) else {
            throw ArrowError(
                .malformed, offset: m.start, "DictionaryBatch id \(id) matches no dictionary-encoded field")
        }
        field.dictionary = nil
        var ctx = try LoadContext(
            buf: buf, message: m.start, batch: batch, body: m.bodyStart..<m.next, storage: storage,
            version: m.version, dictionaries: dictionaries, full: full, maxBody: maxDecompressedBodySize,
            scratch: &loadScratch)
        let values = try ctx.load(field, depth: 0, label: field.name + "(dictionary \(id))")
        try ctx.finish()
        ctx.release(into: &loadScratch)
        let total = values.length + (isDelta ? (dictionaries[id] ?? []).reduce(0) { $0 + $1.length } : 0)
        guard total <= maxDictionaryLength else {
            throw ArrowError(
                .tooLarge, offset: m.start, path: field.name,
                "dictionary \(id) would hold \(total) values, above the cap of \(maxDictionaryLength)")
        }
        if isDelta {
            dictionaries[id, default: []].append(values)
        } else {
            dictionaries[id] = [values]
        }
    }

    private static func dictionaryField(id: Int64, in fields: [ArrowField]) -> ArrowField? {
        for f in fields {
            if let d = f.dictionary, d.id == id { return f }
            if let found = dictionaryField(id: id, in: f.type.children) { return found }
        }
        return nil
    }
}
