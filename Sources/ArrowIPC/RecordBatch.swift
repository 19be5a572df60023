#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import IngestCore

/// One decoded record batch: its schema and one ``ArrowArray`` per top-level field.
///
/// The schema-level metadata of a batch read from a stream is decoded only when asked for: it stays
/// in the retained message bytes (every tiny chunk of a recording carries its own id there), and
/// ``schemaMetadata(_:)`` / ``withSchemaMetadataValue(_:_:)`` look one key up without decoding the rest.
public struct ArrowRecordBatch: Sendable {
    /// The stream's schema: ``fields`` plus the decoded ``schemaMetadata`` (decodes the metadata on
    /// every access; prefer ``fields`` and ``schemaMetadata(_:)``).
    public var schema: ArrowSchema { ArrowSchema(fields: fields, metadata: schemaMetadata) }
    /// The schema's fields, one per column (shared by every batch of the same schema).
    public let fields: [ArrowField]
    /// Identifies the schema within the ``ArrowStreamReader`` that decoded it: equal ids mean the
    /// schema message bytes were identical, so derived per-schema data can be cached under it.
    public let schemaID: Int
    /// Number of rows.
    public let length: Int
    /// One array per schema field, in schema order.
    public let columns: [ArrowArray]
    /// Columns whose type is not decoded (kept raw), as warnings: `name: type`.
    public let warnings: [String]
    let metadata: SchemaMetadataSource
    /// ``retainedByteCount`` when the batch's maker knew it (a reader knows the storages it used),
    /// else -1: computed by walking the columns.
    let knownRetainedByteCount: Int

    /// `retainedByteCount`: see ``knownRetainedByteCount``; must equal what walking the columns gives.
    init(
        fields: [ArrowField], metadata: SchemaMetadataSource, schemaID: Int, length: Int, columns: [ArrowArray],
        warnings: [String], retainedByteCount: Int = -1
    ) {
        self.fields = fields
        self.metadata = metadata
        self.schemaID = schemaID
        self.length = length
        self.columns = columns
        self.warnings = warnings
        self.knownRetainedByteCount = retainedByteCount
    }

    /// Schema-level `custom_metadata` in order (decoded from the message bytes on every access).
    public var schemaMetadata: [KeyValue] { metadata.decoded }

    /// The value of schema metadata key `key`, if present (decodes only that value).
    public func schemaMetadata(_ key: String) -> String? {
        withSchemaMetadataValue(key) { $0.map { String(decoding: $0, as: UTF8.self) } }
    }

    /// Calls `body` with the UTF-8 bytes of each schema metadata key and value, in order, without
    /// building strings (one pass; the pointers must not escape).
    public func forEachSchemaMetadataEntry(
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void
    ) {
        metadata.forEach(body)
    }

    /// Lends the UTF-8 bytes of the value of schema metadata key `key` (nil when absent) for the
    /// duration of `body`, without building strings; the pointer must not escape.
    public func withSchemaMetadataValue<R>(_ key: String, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        try metadata.withValue(key, body)
    }
}

/// Where a batch's schema metadata lives: already decoded, the `[KeyValue]` vector of the Schema
/// table inside the retained message bytes, or packed next to a compacted batch's body (both checked
/// when the batch was read: bounds and UTF-8).
enum SchemaMetadataSource: Sendable {
    case decoded([KeyValue])
    /// `storage` holds the message; `meta` is the message's flatbuffer (metadata) range in it and
    /// `table` the Schema table's offset inside that range.
    case encoded(storage: ByteStorage, meta: Range<Int>, table: Int)
    /// ``PackedMetadata`` at `range` of `storage`.
    case packed(storage: ByteStorage, range: Range<Int>)

    private func withSchemaTable<R>(_ body: (FBTable) throws(ArrowError) -> R?) -> R? {
        guard case .encoded(let storage, let meta, let table) = self else { return nil }
        return storage.withUnsafeBytes(meta) { buf -> R? in
            do {
                return try body(try FBTable(buf, at: table, base: meta.lowerBound))
            } catch {
                return nil  // unreachable: the bytes were checked when the batch was read
            }
        }
    }

    var decoded: [KeyValue] {
        switch self {
        case .decoded(let kv): return kv
        case .encoded: return withSchemaTable { (t) throws(ArrowError) in try t.keyValues(2) } ?? []
        case .packed:
            var out: [KeyValue] = []
            forEach { k, v in
                out.append(KeyValue(key: String(decoding: k, as: UTF8.self), value: String(decoding: v, as: UTF8.self)))
            }
            return out
        }
    }

    func forEach(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) {
        switch self {
        case .decoded(let kv):
            for var e in kv {
                e.key.withUTF8 { k in e.value.withUTF8 { v in body(UnsafeRawBufferPointer(k), UnsafeRawBufferPointer(v)) } }
            }
        case .encoded(let storage, let meta, let table):
            storage.withUnsafeBytes(meta) { buf in
                do {
                    let t = try FBTable(buf, at: table, base: meta.lowerBound)
                    try t.forEachKeyValue(2) { k, v in
                        body(UnsafeRawBufferPointer(rebasing: buf[k]), UnsafeRawBufferPointer(rebasing: buf[v]))
                    }
                } catch {
                    // unreachable: the bytes were checked when the batch was read
                }
            }
        case .packed(let storage, let range):
            storage.withUnsafeBytes(range) { PackedMetadata.forEach($0, body) }
        }
    }

    func withValue<R>(_ key: String, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        switch self {
        case .decoded(let kv):
            guard var value = kv.first(where: { $0.key == key })?.value else { return try body(nil) }
            return try value.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
        case .encoded(let storage, let meta, _):
            var key = key
            let range = key.withUTF8 { k in
                withSchemaTable { (t) throws(ArrowError) in
                    try t.keyValueValue(2, key: UnsafeRawBufferPointer(k)).map {
                        (meta.lowerBound + $0.lowerBound)..<(meta.lowerBound + $0.upperBound)
                    }
                }
            }
            guard let range else { return try body(nil) }
            return try withExtendedLifetime(storage) {
                try body(UnsafeRawBufferPointer(start: storage.unsafeBaseAddress + range.lowerBound, count: range.count))
            }
        case .packed(let storage, let range):
            var key = key
            let found = key.withUTF8 { k in
                storage.withUnsafeBytes(range) { PackedMetadata.value(UnsafeRawBufferPointer(k), in: $0) }
            }
            guard let found else { return try body(nil) }
            return try withExtendedLifetime(storage) {
                try body(UnsafeRawBufferPointer(start: storage.unsafeBaseAddress + range.lowerBound + found.lowerBound, count: found.count))
            }
        }
    }
}

/// Schema-level metadata packed for a compacted batch: a `UInt32` entry count, then per entry (in
/// order) the key's and the value's byte counts (`UInt32` each) followed by their UTF-8 bytes. An
/// absent key or value is empty, as the other forms read it. Integers are little-endian, unaligned.
enum PackedMetadata {
    /// Where one key and value lie in the stream being read.
    struct Entry {
        var key: Int
        var keyCount: Int
        var value: Int
        var valueCount: Int
    }

    /// The packed size of `entries`.
    static func size(_ entries: [Entry]) -> Int {
        entries.reduce(4) { $0 + 8 + $1.keyCount + $1.valueCount }
    }

    /// Writes `entries` (ranges of `source`) into `out`, which holds exactly ``size(_:)`` bytes.
    static func pack(_ entries: [Entry], from source: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) {
        assert(out.count == size(entries), "packed metadata size")
        let base = out.baseAddress!
        base.storeBytes(of: UInt32(entries.count).littleEndian, as: UInt32.self)
        var at = 4
        for e in entries {
            (base + at).storeBytes(of: UInt32(e.keyCount).littleEndian, as: UInt32.self)
            (base + at + 4).storeBytes(of: UInt32(e.valueCount).littleEndian, as: UInt32.self)
            at += 8
            if e.keyCount > 0 { (base + at).copyMemory(from: source.baseAddress! + e.key, byteCount: e.keyCount) }
            at += e.keyCount
            if e.valueCount > 0 { (base + at).copyMemory(from: source.baseAddress! + e.value, byteCount: e.valueCount) }
            at += e.valueCount
        }
    }

    /// Calls `body` with each key and value, in order.
    static func forEach(_ packed: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) {
        let n = Int(UInt32(littleEndian: packed.loadUnaligned(as: UInt32.self)))
        var at = 4
        for _ in 0..<n {
            let k = Int(UInt32(littleEndian: packed.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
            let v = Int(UInt32(littleEndian: packed.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self)))
            at += 8
            body(
                UnsafeRawBufferPointer(rebasing: packed[at..<(at + k)]),
                UnsafeRawBufferPointer(rebasing: packed[(at + k)..<(at + k + v)]))
            at += k + v
        }
    }

    /// The range (in `packed`) of the value of the first entry whose key is `key`; nil when absent.
    static func value(_ key: UnsafeRawBufferPointer, in packed: UnsafeRawBufferPointer) -> Range<Int>? {
        let n = Int(UInt32(littleEndian: packed.loadUnaligned(as: UInt32.self)))
        var at = 4
        for _ in 0..<n {
            let k = Int(UInt32(littleEndian: packed.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
            let v = Int(UInt32(littleEndian: packed.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self)))
            at += 8
            if k == key.count && (k == 0 || memcmp(packed.baseAddress! + at, key.baseAddress!, k) == 0) {
                return (at + k)..<(at + k + v)
            }
            at += k + v
        }
        return nil
    }
}

extension ArrowRecordBatch {
    /// Bytes of memory the columns keep alive: the sum of the sizes of the distinct storages they
    /// point into (the whole decompressed IPC stream, or the decompressed body, or the fresh buffers
    /// of an assembled batch; a storage that borrows a slice of a larger block counts that slice).
    /// A batch compacted into a `SlabArena` counts its own range of the shared slab: its
    /// body and packed schema metadata.
    ///
    /// This is what dropping the batch can give back, unlike ``ArrowArray/bufferBytes``, which only
    /// counts the buffers the arrays use (for a tiny message the schema alone is about half of it).
    /// - Complexity: O(1) for a batch read by ``ArrowStreamReader`` without dictionaries (the reader
    ///   records it); otherwise O(arrays), allocating only when the columns use more than one storage.
    public var retainedByteCount: Int {
        knownRetainedByteCount >= 0 ? knownRetainedByteCount : walkedRetainedByteCount
    }

    /// ``retainedByteCount`` found by visiting every array (what a recorded count must equal, except
    /// for a compacted batch, whose arrays point into a slab it shares with other batches).
    var walkedRetainedByteCount: Int {
        var first: ObjectIdentifier?
        var others: [ObjectIdentifier] = []
        var total = 0
        func visit(_ a: ArrowArray) {
            let id = ObjectIdentifier(a.storage)
            if first == nil {
                first = id
                total += a.storage.count
            } else if id != first, !others.contains(id) {
                others.append(id)
                total += a.storage.count
            }
            for c in a.children { visit(c) }
            for d in a.dictionarySegments { visit(d) }
        }
        for c in columns { visit(c) }
        return total
    }
}
