import CLZ4
import CZstd
import IngestCore

/// Writes Arrow IPC **streams** (the format ``ArrowStreamReader`` reads): a Schema message, a
/// DictionaryBatch per dictionary segment, one RecordBatch, the end-of-stream marker.
///
/// ```swift
/// let bytes = try ArrowIPCWriter.stream(schema: batch.schema, columns: batch.columns, length: batch.length)
/// let again = try ArrowStreamReader().read(ByteStorage(copying: bytes))
/// ```
///
/// The arrays are written as they are: their buffers are copied into the message body at 64-byte
/// aligned offsets (8 when compressed), each array's validity bitmap only when it has nulls.
/// Dictionary-encoded fields (at any depth) emit one DictionaryBatch per segment of their dictionary
/// (the first, then the deltas, as they were read), before the record batch. Bodies can be compressed
/// per buffer (``BodyCompression``: LZ4 frame or zstd, each buffer prefixed by its uncompressed length).
///
/// - Complexity: O(metadata + buffer bytes); the output is built in one growing array.
public enum ArrowIPCWriter {
    /// Arrow's `BodyCompression` codecs (buffer-wise).
    public enum BodyCompression: Sendable, Hashable {
        /// No compression (what Rerun writes).
        case none
        /// Each buffer an LZ4 frame.
        case lz4Frame
        /// Each buffer a zstd frame at this level.
        case zstd(level: Int32)
    }

    /// The end-of-stream marker.
    static let endOfStream: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]

    /// A stream of just `schema` (Schema message + end of stream): what Rerun stores as a manifest's
    /// `sorbet_schema`.
    public static func schemaStream(_ schema: ArrowSchema) -> [UInt8] {
        var out: [UInt8] = []
        appendMessage(&out, header: .schema(schema), body: [])
        out += endOfStream
        return out
    }

    /// A whole stream: `schema`, the dictionaries of its dictionary-encoded fields, one record batch
    /// of `columns` (one per top-level field) with `length` rows, end of stream.
    ///
    /// - Throws: ``ArrowError/Code/invalidData`` when the columns do not match the schema (count,
    ///   a dictionary-encoded field without a dictionary), ``ArrowError/Code/compression`` when a
    ///   compressor fails, ``ArrowError/Code/unsupported`` for a type whose buffers are not decoded.
    public static func stream(
        schema: ArrowSchema, columns: [ArrowArray], length: Int, compression: BodyCompression = .none
    ) throws(ArrowError) -> [UInt8] {
        let messages = try batchMessages(schema: schema, columns: columns, length: length, compression: compression)
        var out: [UInt8] = []
        out.reserveCapacity(1024 + columns.reduce(0) { $0 + $1.bufferBytes } + 64 * 4 * columns.count)
        appendMessage(&out, header: .schema(schema), body: [])
        for (header, body) in messages.dictionaries { appendMessage(&out, header: header, body: body) }
        appendMessage(&out, header: messages.batch.header, body: messages.batch.body)
        out += endOfStream
        return out
    }

    /// The messages of one record batch of `columns` (one per top-level field, `length` rows): the
    /// dictionaries of its dictionary-encoded fields first (inner before outer, each segment its own
    /// batch: the first, then deltas), then the record batch. The stream and file writers frame them.
    static func batchMessages(
        schema: ArrowSchema, columns: [ArrowArray], length: Int, compression: BodyCompression
    ) throws(ArrowError) -> (dictionaries: [(header: Header, body: [UInt8])], batch: (header: Header, body: [UInt8])) {
        guard columns.count == schema.fields.count else {
            throw ArrowError(
                .invalidData, "\(columns.count) columns for a schema of \(schema.fields.count) fields")
        }
        var collected: [(id: Int64, field: ArrowField, segments: [ArrowArray])] = []
        for (field, column) in zip(schema.fields, columns) {
            try collectDictionaries(field, column, into: &collected)
        }
        var dictionaries: [(header: Header, body: [UInt8])] = []
        for d in collected {
            var valueField = d.field
            valueField.dictionary = nil
            for (k, segment) in d.segments.enumerated() {
                var body = BodyBuilder(compression: compression)
                try body.add(valueField, segment)
                dictionaries.append(
                    (.dictionary(id: d.id, batch: body.batch(length: segment.length), isDelta: k > 0), body.bytes))
            }
        }
        var body = BodyBuilder(compression: compression)
        for (field, column) in zip(schema.fields, columns) { try body.add(field, column) }
        return (dictionaries, (.recordBatch(body.batch(length: length)), body.bytes))
    }

    // MARK: - messages

    enum Header {
        case schema(ArrowSchema)
        case recordBatch(FBNode)
        case dictionary(id: Int64, batch: FBNode, isDelta: Bool)
    }

    /// Appends one encapsulated message: continuation, metadata size, the `Message` flatbuffer padded
    /// to 8 bytes, then the body.
    static func appendMessage(_ out: inout [UInt8], header: Header, body: [UInt8]) {
        let (type, table): (UInt8, FBNode)
        switch header {
        case .schema(let s): (type, table) = (1, schemaTable(s))
        case .dictionary(let id, let batch, let isDelta):
            (type, table) = (2, .table([.int64(id), .ref(batch), isDelta ? .bool(true) : nil]))
        case .recordBatch(let batch): (type, table) = (3, batch)
        }
        // Message: version V5, header type, header, body length.
        let message = FBNode.table([.int16(4), .uint8(type), .ref(table), .int64(Int64(body.count))])
        let meta = FlatBufferLayout.serialize(message)
        out += [0xFF, 0xFF, 0xFF, 0xFF]
        withUnsafeBytes(of: Int32(meta.count).littleEndian) { out += $0 }
        out += meta
        out += body
    }

    static func schemaTable(_ s: ArrowSchema) -> FBNode {
        // endianness Little (0) is the default: written anyway, as arrow writers do.
        .table([
            .int16(0), .ref(.vector(s.fields.map(fieldTable))),
            s.metadata.isEmpty ? nil : .ref(keyValues(s.metadata)),
        ])
    }

    static func keyValues(_ kv: [KeyValue]) -> FBNode {
        .vector(kv.map { .table([.ref(.string($0.key)), .ref(.string($0.value))]) })
    }

    static func fieldTable(_ f: ArrowField) -> FBNode {
        let (tag, typeTable) = typeTable(f.type)
        var dictionary: FBField?
        if let d = f.dictionary, case .int(let w, let signed) = d.indexType {
            dictionary = .ref(
                .table([.int64(d.id), .ref(.table([.int32(Int32(w)), .bool(signed)])), d.isOrdered ? .bool(true) : nil]))
        }
        return .table([
            .ref(.string(f.name)), .bool(f.nullable), .uint8(tag), .ref(typeTable), dictionary,
            .ref(.vector(f.type.children.map(fieldTable))), f.metadata.isEmpty ? nil : .ref(keyValues(f.metadata)),
        ])
    }

    /// The `Type` union tag and table of `type` (tags as in `Schema.fbs`).
    static func typeTable(_ type: ArrowType) -> (UInt8, FBNode) {
        let empty = FBNode.table([])
        switch type {
        case .null: return (1, empty)
        case .int(let w, let s): return (2, .table([.int32(Int32(w)), .bool(s)]))
        case .float16: return (3, .table([.int16(0)]))
        case .float32: return (3, .table([.int16(1)]))
        case .float64: return (3, .table([.int16(2)]))
        case .binary: return (4, empty)
        case .utf8: return (5, empty)
        case .bool: return (6, empty)
        case .decimal(let p, let s, let w): return (7, .table([.int32(Int32(p)), .int32(Int32(s)), .int32(Int32(w))]))
        case .date32: return (8, .table([.int16(0)]))
        case .date64: return (8, .table([.int16(1)]))
        case .time32(let u): return (9, .table([.int16(u.rawValue), .int32(32)]))
        case .time64(let u): return (9, .table([.int16(u.rawValue), .int32(64)]))
        case .timestamp(let u, let tz): return (10, .table([.int16(u.rawValue), tz.map { .ref(.string($0)) }]))
        case .interval(let u): return (11, .table([.int16(u.rawValue)]))
        case .list: return (12, empty)
        case .structure: return (13, empty)
        case .union(let mode, _, let ids): return (14, .table([.int16(mode.rawValue), .ref(.int32s(ids))]))
        case .fixedSizeBinary(let w): return (15, .table([.int32(Int32(w))]))
        case .fixedSizeList(_, let n): return (16, .table([.int32(Int32(n))]))
        case .map(_, let sorted): return (17, .table([.bool(sorted)]))
        case .duration(let u): return (18, .table([.int16(u.rawValue)]))
        case .largeBinary: return (19, empty)
        case .largeUtf8: return (20, empty)
        case .largeList: return (21, empty)
        case .binaryView: return (23, empty)
        case .utf8View: return (24, empty)
        case .listView: return (25, empty)
        case .largeListView: return (26, empty)
        case .unsupported(let tag, _): return (tag, empty)
        }
    }

    // MARK: - dictionaries

    /// Collects the dictionaries of `field`/`array` and their descendants, inner ones first.
    static func collectDictionaries(
        _ field: ArrowField, _ array: ArrowArray, into out: inout [(id: Int64, field: ArrowField, segments: [ArrowArray])]
    ) throws(ArrowError) {
        if let d = field.dictionary {
            guard array.dictionaryIndexType != nil else {
                throw ArrowError(.invalidData, path: field.name, "dictionary-encoded field without a dictionary")
            }
            if out.contains(where: { $0.id == d.id }) { return }
            // The values' own dictionaries (a dictionary of lists of dictionaries) come first.
            for segment in array.dictionarySegments {
                for (child, childArray) in zip(field.type.children, segment.children) {
                    try collectDictionaries(child, childArray, into: &out)
                }
            }
            out.append((d.id, field, array.dictionarySegments))
            return
        }
        for (child, childArray) in zip(field.type.children, array.children) {
            try collectDictionaries(child, childArray, into: &out)
        }
    }
}

/// Builds one message body: the buffers of the arrays added, and their field nodes.
struct BodyBuilder {
    let compression: ArrowIPCWriter.BodyCompression
    private(set) var bytes: [UInt8] = []
    private var nodes: [(Int64, Int64)] = []
    private var buffers: [(Int64, Int64)] = []
    private var variadicCounts: [Int64] = []

    init(compression: ArrowIPCWriter.BodyCompression) { self.compression = compression }

    /// The `RecordBatch` table describing what was added.
    func batch(length: Int) -> FBNode {
        var compressionTable: FBField?
        switch compression {
        case .none: break
        case .lz4Frame: compressionTable = .ref(.table([.uint8(0), .uint8(0)]))
        case .zstd: compressionTable = .ref(.table([.uint8(1), .uint8(0)]))
        }
        return .table([
            .int64(Int64(length)), .ref(.int64Pairs(nodes)), .ref(.int64Pairs(buffers)), compressionTable,
            variadicCounts.isEmpty ? nil : .ref(.int64s(variadicCounts)),
        ])
    }

    /// Adds `array` (of `field`) and its children, depth-first.
    mutating func add(_ field: ArrowField, _ array: ArrowArray) throws(ArrowError) {
        let storage = array.storage
        let base = storage.unsafeBaseAddress
        let hasValidity = array.validity >= 0
        let validityBytes = hasValidity ? (array.length + 7) / 8 : 0
        func validity() throws(ArrowError) {
            try buffer(hasValidity ? UnsafeRawBufferPointer(start: base + array.validity, count: validityBytes) : nil)
        }
        func values() throws(ArrowError) {
            try buffer(UnsafeRawBufferPointer(start: base + array.values, count: array.valuesCount))
        }
        func data() throws(ArrowError) {
            try buffer(UnsafeRawBufferPointer(start: base + array.data, count: array.dataCount))
        }
        try withExtendedLifetime(storage) { () throws(ArrowError) in
            if field.dictionary != nil {
                nodes.append((Int64(array.length), Int64(hasValidity ? array.nullCount : 0)))
                try validity()
                try values()
                return
            }
            switch array.type {
            case .null:
                nodes.append((Int64(array.length), Int64(array.length)))
            case .unsupported(_, let name):
                throw ArrowError(.unsupported, path: field.name, "cannot write a \(name) column (its buffers are kept raw)")
            case .union(let mode, _, _):
                nodes.append((Int64(array.length), 0))
                try values()
                if mode == .dense { try data() }
            default:
                nodes.append((Int64(array.length), Int64(hasValidity ? array.nullCount : 0)))
                try validity()
                switch array.type {
                case .bool, .int, .float16, .float32, .float64, .decimal, .date32, .date64, .time32, .time64,
                    .timestamp, .duration, .interval, .fixedSizeBinary, .list, .largeList, .map:
                    try values()
                case .binary, .utf8, .largeBinary, .largeUtf8, .listView, .largeListView:
                    try values()
                    try data()
                case .binaryView, .utf8View:
                    try values()
                    variadicCounts.append(Int64(array.variadicBuffers.count))
                    for r in array.variadicBuffers {
                        try buffer(UnsafeRawBufferPointer(start: base + r.lowerBound, count: r.count))
                    }
                default:
                    break  // fixed-size lists and structs: validity only, then children
                }
            }
        }
        for (child, childArray) in zip(field.type.children, array.children) { try add(child, childArray) }
    }

    /// Appends one buffer (nil or empty: a zero-length buffer) at an aligned offset.
    private mutating func buffer(_ b: UnsafeRawBufferPointer?) throws(ArrowError) {
        let alignment = compression == .none ? 64 : 8
        while bytes.count % alignment != 0 { bytes.append(0) }
        let start = bytes.count
        guard let b, b.count > 0 else {
            buffers.append((Int64(start), 0))
            return
        }
        switch compression {
        case .none:
            bytes += b
        case .lz4Frame:
            withUnsafeBytes(of: Int64(b.count).littleEndian) { bytes += $0 }
            let bound = LZ4F_compressFrameBound(b.count, nil)
            let at = bytes.count
            bytes += [UInt8](repeating: 0, count: bound)
            let n = bytes.withUnsafeMutableBytes { LZ4F_compressFrame($0.baseAddress! + at, bound, b.baseAddress, b.count, nil) }
            guard LZ4F_isError(n) == 0 else {
                throw ArrowError(.compression, "LZ4 frame compression failed: \(String(cString: LZ4F_getErrorName(n)))")
            }
            bytes.removeLast(bound - n)
        case .zstd(let level):
            withUnsafeBytes(of: Int64(b.count).littleEndian) { bytes += $0 }
            let bound = ZSTD_compressBound(b.count)
            let at = bytes.count
            bytes += [UInt8](repeating: 0, count: bound)
            let n = bytes.withUnsafeMutableBytes {
                ZSTD_compress($0.baseAddress! + at, bound, b.baseAddress, b.count, level)
            }
            guard ZSTD_isError(n) == 0 else {
                throw ArrowError(.compression, "zstd compression failed: \(String(cString: ZSTD_getErrorName(n)))")
            }
            bytes.removeLast(bound - n)
        }
        buffers.append((Int64(start), Int64(bytes.count - start)))
    }
}
