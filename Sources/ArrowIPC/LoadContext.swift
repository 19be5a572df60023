import IngestCore

/// Walks a record batch's field nodes and buffers depth-first and builds validated ``ArrowArray``s.
/// Lives only inside the reader's `withUnsafeBytes` closure (it holds the raw metadata buffer).
struct LoadContext {
    static let maxLength = 1 << 40

    let message: Int
    let length: Int
    let version: Int16
    let full: Bool
    var storage: ByteStorage
    var dictionaries: [Int64: [ArrowArray]]
    var warnings: [String] = []

    private var nodes: [(length: Int, nullCount: Int)] = []
    private var buffers: [Range<Int>] = []
    private var variadicCounts: [Int64] = []
    private var nodeIndex = 0
    private var bufferIndex = 0
    private var variadicIndex = 0

    /// The per-message arrays, kept by the reader between messages so that their capacity is reused.
    struct Scratch {
        fileprivate var nodes: [(length: Int, nullCount: Int)] = []
        fileprivate var buffers: [Range<Int>] = []
        fileprivate var pathStack: [String] = []
    }

    /// Hands the per-message arrays back to the reader (emptied, capacity kept) for the next message.
    mutating func release(into scratch: inout Scratch) {
        nodes.removeAll(keepingCapacity: true)
        buffers.removeAll(keepingCapacity: true)
        pathStack.removeAll(keepingCapacity: true)
        swap(&scratch.nodes, &nodes)
        swap(&scratch.buffers, &buffers)
        swap(&scratch.pathStack, &pathStack)
    }

    init(
        buf: UnsafeRawBufferPointer, message: Int, batch: FBTable, body: Range<Int>, storage: ByteStorage,
        version: Int16, dictionaries: [Int64: [ArrowArray]], full: Bool, maxBody: Int, scratch: inout Scratch
    ) throws(ArrowError) {
        // Take the reader's arrays (moved, not copied: the reader keeps empty ones meanwhile).
        swap(&scratch.nodes, &nodes)
        swap(&scratch.buffers, &buffers)
        swap(&scratch.pathStack, &pathStack)
        nodes.removeAll(keepingCapacity: true)
        buffers.removeAll(keepingCapacity: true)
        pathStack.removeAll(keepingCapacity: true)
        self.message = message
        self.version = version
        self.full = full
        self.storage = storage
        self.dictionaries = dictionaries
        let len = try batch.int64(0)
        guard len >= 0, len <= Int64(Self.maxLength) else {
            throw ArrowError(.invalidData, offset: message, "record batch length \(len) out of range")
        }
        length = Int(len)
        if let (start, n) = try batch.vector(1, elementSize: 16) {
            nodes.reserveCapacity(n)
            for i in 0..<n {
                let l = Int64(littleEndian: batch.buf.loadUnaligned(fromByteOffset: start + 16 * i, as: Int64.self))
                let nc = Int64(
                    littleEndian: batch.buf.loadUnaligned(fromByteOffset: start + 16 * i + 8, as: Int64.self))
                guard l >= 0, l <= Int64(Self.maxLength), nc >= 0, nc <= l else {
                    throw ArrowError(
                        .invalidData, offset: message, "field node \(i) has length \(l) and null count \(nc)")
                }
                nodes.append((Int(l), Int(nc)))
            }
        }
        if let (start, n) = try batch.vector(2, elementSize: 16) {
            buffers.reserveCapacity(n)
            for i in 0..<n {
                let o = Int64(littleEndian: batch.buf.loadUnaligned(fromByteOffset: start + 16 * i, as: Int64.self))
                let l = Int64(littleEndian: batch.buf.loadUnaligned(fromByteOffset: start + 16 * i + 8, as: Int64.self))
                guard o >= 0, l >= 0, o <= Int64(body.count), l <= Int64(body.count) - o else {
                    throw ArrowError(
                        .invalidData, offset: message,
                        "buffer \(i) at body offset \(o) with length \(l) lies outside the \(body.count)-byte body")
                }
                buffers.append((body.lowerBound + Int(o))..<(body.lowerBound + Int(o) + Int(l)))
            }
        }
        variadicCounts = try batch.int64Vector(4)
        if let comp = try batch.table(3) {
            let codecRaw = try comp.uint8(0)
            guard let codec = BodyCompression.Codec(rawValue: codecRaw) else {
                throw ArrowError(.unsupported, offset: message, "unknown body compression codec \(codecRaw)")
            }
            guard try comp.uint8(1) == 0 else {
                throw ArrowError(.unsupported, offset: message, "body compression method other than BUFFER")
            }
            try decompressBuffers(buf, codec: codec, maxBody: maxBody)
        }
    }

    /// Replaces every compressed buffer by its decompressed bytes in one new storage.
    private mutating func decompressBuffers(
        _ buf: UnsafeRawBufferPointer, codec: BodyCompression.Codec, maxBody: Int
    ) throws(ArrowError) {
        // The message buffer `buf` covers the same bytes as `storage`: compressed buffers are read from it.
        var sizes: [Int] = []
        sizes.reserveCapacity(buffers.count)
        var total = 0
        for (i, r) in buffers.enumerated() {
            if r.isEmpty { sizes.append(0); continue }
            guard r.count >= 8 else {
                throw ArrowError(
                    .invalidData, offset: message, "compressed buffer \(i) of \(r.count) bytes has no length prefix")
            }
            let n = Int64(littleEndian: buf.loadUnaligned(fromByteOffset: r.lowerBound, as: Int64.self))
            let size = n == -1 ? r.count - 8 : Int(clamping: n)
            guard size >= 0, size <= maxBody, total <= maxBody - size else {
                throw ArrowError(
                    .tooLarge, offset: message, "compressed buffer \(i) declares \(n) bytes (cap \(maxBody) per body)")
            }
            sizes.append(size)
            total += (size + 63) & ~63
        }
        let source = buffers
        var newRanges: [Range<Int>] = []
        newRanges.reserveCapacity(buffers.count)
        var at = 0
        for s in sizes {
            newRanges.append(at..<(at + s))
            at += (s + 63) & ~63
        }
        let msg = message
        storage = try ByteStorage(count: total) { (dst) throws(ArrowError) in
            // Zero the padding between buffers: only buffer bytes are read, but keep the block defined.
            dst.initializeMemory(as: UInt8.self, repeating: 0)
            for (i, r) in source.enumerated() where sizes[i] > 0 {
                let out = UnsafeMutableRawBufferPointer(rebasing: dst[newRanges[i]])
                let payload = UnsafeRawBufferPointer(rebasing: buf[(r.lowerBound + 8)..<r.upperBound])
                let declared = Int64(littleEndian: buf.loadUnaligned(fromByteOffset: r.lowerBound, as: Int64.self))
                if declared == -1 {
                    out.copyMemory(from: payload)
                } else {
                    try BodyCompression.decompress(codec, payload, into: out, at: msg)
                }
            }
        }
        buffers = newRanges
    }

    /// Checks that every node and buffer was consumed.
    func finish() throws(ArrowError) {
        guard nodeIndex == nodes.count else {
            throw ArrowError(
                .invalidData, offset: message,
                "record batch has \(nodes.count) field nodes, the schema uses \(nodeIndex)")
        }
        guard bufferIndex == buffers.count else {
            throw ArrowError(
                .invalidData, offset: message,
                "record batch has \(buffers.count) buffers, the schema uses \(bufferIndex)")
        }
    }

    /// Names from the top-level field down to the array being loaded; joined only for errors, so
    /// loading allocates no path strings.
    private var pathStack: [String] = []

    /// `a.b.c` for the array being loaded.
    private var path: String { pathStack.joined(separator: ".") }

    private func fail(_ text: String) -> ArrowError {
        ArrowError(.invalidData, offset: message, path: path, text)
    }

    @inline(__always)
    private mutating func nextNode() throws(ArrowError) -> (length: Int, nullCount: Int) {
        guard nodeIndex < nodes.count else { throw fail("record batch has too few field nodes (\(nodes.count))") }
        defer { nodeIndex += 1 }
        return nodes[nodeIndex]
    }

    @inline(__always)
    private mutating func nextBuffer(need: Int = 0, what: String) throws(ArrowError) -> Range<Int> {
        guard bufferIndex < buffers.count else {
            throw fail("record batch has too few buffers (\(buffers.count))")
        }
        let r = buffers[bufferIndex]
        bufferIndex += 1
        guard r.count >= need else { throw fail("\(what) buffer has \(r.count) bytes, needs at least \(need)") }
        return r
    }

    @inline(__always)
    private func product(_ a: Int, _ b: Int) throws(ArrowError) -> Int {
        let (p, o) = a.multipliedReportingOverflow(by: b)
        guard !o, p <= Self.maxLength * 16 else { throw fail("size \(a) × \(b) overflows") }
        return p
    }

    @inline(__always)
    private mutating func validity(length n: Int, nullCount: Int) throws(ArrowError) -> Int {
        let r = try nextBuffer(need: nullCount > 0 ? (n + 7) / 8 : 0, what: "validity")
        return nullCount > 0 ? r.lowerBound : -1
    }

    @inline(__always)
    private func i32(_ at: Int) -> Int {
        Int(Int32(littleEndian: storage.unsafeBaseAddress.loadUnaligned(fromByteOffset: at, as: Int32.self)))
    }
    @inline(__always)
    private func i64(_ at: Int) -> Int64 {
        Int64(littleEndian: storage.unsafeBaseAddress.loadUnaligned(fromByteOffset: at, as: Int64.self))
    }

    /// Checks n+1 monotone offsets (4 or 8 bytes wide) ending at or below `limit`.
    private func checkOffsets(_ r: Range<Int>, n: Int, wide: Bool, limit: Int) throws(ArrowError) {
        if n == 0 && r.isEmpty { return }
        let w = wide ? 8 : 4
        guard r.count >= (n + 1) * w else {
            throw fail("offsets buffer has \(r.count) bytes, needs \((n + 1) * w)")
        }
        var prev = wide ? i64(r.lowerBound) : Int64(i32(r.lowerBound))
        guard prev >= 0 else { throw fail("first offset \(prev) is negative") }
        for i in stride(from: 1, through: n, by: 1) {
            let v = wide ? i64(r.lowerBound + w * i) : Int64(i32(r.lowerBound + w * i))
            guard v >= prev else { throw fail("offset \(i) (\(v)) is below offset \(i - 1) (\(prev))") }
            prev = v
        }
        guard prev <= Int64(limit) else {
            throw fail("last offset \(prev) exceeds the \(limit) available values")
        }
    }

    private func checkUTF8(
        _ offsets: Range<Int>, data: Range<Int>, n: Int, wide: Bool
    ) throws(ArrowError) {
        if n == 0 { return }
        let w = wide ? 8 : 4
        for i in 0..<n {
            let a = wide ? Int(i64(offsets.lowerBound + w * i)) : i32(offsets.lowerBound + w * i)
            let b = wide ? Int(i64(offsets.lowerBound + w * i + w)) : i32(offsets.lowerBound + w * i + w)
            let bytes = UnsafeRawBufferPointer(start: storage.unsafeBaseAddress + data.lowerBound + a, count: b - a)
            guard String(validating: bytes, as: UTF8.self) != nil else {
                throw fail("value \(i) is not valid UTF-8")
            }
        }
    }

    /// Loads the array of `field` (consuming its nodes and buffers) and validates it.
    mutating func load(_ field: ArrowField, depth: Int, label: String? = nil) throws(ArrowError) -> ArrowArray {
        pathStack.append(label ?? field.name)
        defer { pathStack.removeLast() }
        guard depth <= SchemaDecoding.maxDepth else {
            throw ArrowError(.tooLarge, offset: message, path: path, "nesting deeper than \(SchemaDecoding.maxDepth)")
        }
        let node = try nextNode()
        let n = node.length
        let nc = node.nullCount
        let empty = 0..<0

        if let dict = field.dictionary {
            let v = try validity(length: n, nullCount: nc)
            guard let w = dict.indexType.byteWidth else { throw fail("dictionary index type \(dict.indexType)") }
            let idx = try nextBuffer(need: try product(n, w), what: "dictionary indices")
            guard let segments = dictionaries[dict.id] else {
                throw fail("no DictionaryBatch with id \(dict.id) precedes the record batch")
            }
            let a = ArrowArray(
                type: field.type, length: n, nullCount: nc, storage: storage, validity: v, values: idx, data: empty,
                children: [], dictionaryIndexType: dict.indexType, dictionarySegments: segments)
            let dictLen = a.dictionaryLength
            for i in 0..<n where !a.isNull(i) {
                let k = a.dictionaryIndex(at: i)
                guard k >= 0, k < dictLen else {
                    throw fail("dictionary index \(k) at slot \(i) outside 0..<\(dictLen)")
                }
            }
            return a
        }

        func make(
            _ v: Int, _ values: Range<Int>, _ data: Range<Int> = 0..<0, _ children: [ArrowArray] = [],
            variadic: [Range<Int>] = []
        ) -> ArrowArray {
            ArrowArray(
                type: field.type, length: n, nullCount: nc, storage: storage, validity: v, values: values, data: data,
                children: children, variadicBuffers: variadic)
        }

        switch field.type {
        case .null:
            return ArrowArray(
                type: .null, length: n, nullCount: n, storage: storage, validity: -1, values: empty, data: empty,
                children: [])
        case .bool:
            let v = try validity(length: n, nullCount: nc)
            return make(v, try nextBuffer(need: (n + 7) / 8, what: "values"))
        case .int, .float16, .float32, .float64, .decimal, .date32, .date64, .time32, .time64, .timestamp, .duration,
            .interval, .fixedSizeBinary:
            let w = field.type.byteWidth ?? 0
            let v = try validity(length: n, nullCount: nc)
            return make(v, try nextBuffer(need: try product(n, w), what: "values"))
        case .binary, .utf8, .largeBinary, .largeUtf8:
            let wide = field.type == .largeBinary || field.type == .largeUtf8
            let v = try validity(length: n, nullCount: nc)
            let offsets = try nextBuffer(what: "offsets")
            let data = try nextBuffer(what: "data")
            try checkOffsets(offsets, n: n, wide: wide, limit: data.count)
            if full, field.type == .utf8 || field.type == .largeUtf8 {
                try checkUTF8(offsets, data: data, n: n, wide: wide)
            }
            return make(v, offsets, data)
        case .binaryView, .utf8View:
            let v = try validity(length: n, nullCount: nc)
            let views = try nextBuffer(need: try product(n, 16), what: "views")
            guard variadicIndex < variadicCounts.count else {
                throw fail("record batch lacks a variadic buffer count for this view column")
            }
            let k = variadicCounts[variadicIndex]
            variadicIndex += 1
            guard k >= 0, k <= Int64(buffers.count - bufferIndex) else {
                throw fail("variadic buffer count \(k) exceeds the \(buffers.count - bufferIndex) buffers left")
            }
            var variadic: [Range<Int>] = []
            variadic.reserveCapacity(Int(k))
            for _ in 0..<Int(k) { variadic.append(try nextBuffer(what: "view data")) }
            let a = make(v, views, variadic: variadic)
            for i in 0..<n where !a.isNull(i) {
                let p = views.lowerBound + 16 * i
                let len = i32(p)
                guard len >= 0 else { throw fail("view \(i) has negative length \(len)") }
                if len > 12 {
                    let b = i32(p + 8)
                    let o = i32(p + 12)
                    guard b >= 0, b < variadic.count, o >= 0, o + len <= variadic[b].count else {
                        throw fail("view \(i) points at buffer \(b) offset \(o) length \(len) outside the data buffers")
                    }
                }
                if full, field.type == .utf8View, a.string(at: i) == nil {
                    throw fail("value \(i) is not valid UTF-8")
                }
            }
            return a
        case .list(let child), .largeList(let child), .map(let child, _):
            let wide: Bool
            if case .largeList = field.type { wide = true } else { wide = false }
            let v = try validity(length: n, nullCount: nc)
            let offsets = try nextBuffer(what: "offsets")
            let c = try load(child, depth: depth + 1)
            try checkOffsets(offsets, n: n, wide: wide, limit: c.length)
            if case .map = field.type, c.children.count == 2, c.children[0].nullCount > 0 {
                throw fail("map keys contain nulls")
            }
            return make(v, offsets, empty, [c])
        case .listView(let child), .largeListView(let child):
            let wide: Bool
            if case .largeListView = field.type { wide = true } else { wide = false }
            let w = wide ? 8 : 4
            let v = try validity(length: n, nullCount: nc)
            let offsets = try nextBuffer(need: try product(n, w), what: "offsets")
            let sizes = try nextBuffer(need: try product(n, w), what: "sizes")
            let c = try load(child, depth: depth + 1)
            for i in 0..<n {
                let o = wide ? i64(offsets.lowerBound + 8 * i) : Int64(i32(offsets.lowerBound + 4 * i))
                let s = wide ? i64(sizes.lowerBound + 8 * i) : Int64(i32(sizes.lowerBound + 4 * i))
                guard o >= 0, s >= 0, o <= Int64(c.length), s <= Int64(c.length) - o else {
                    throw fail("list view \(i) (offset \(o), size \(s)) exceeds the \(c.length) child values")
                }
            }
            return make(v, offsets, sizes, [c])
        case .fixedSizeList(let child, let size):
            let v = try validity(length: n, nullCount: nc)
            let c = try load(child, depth: depth + 1)
            let need = try product(n, size)
            guard c.length >= need else {
                throw fail("child has \(c.length) values, needs \(n) × \(size) = \(need)")
            }
            return make(v, empty, empty, [c])
        case .structure(let fields):
            let v = try validity(length: n, nullCount: nc)
            var cs: [ArrowArray] = []
            cs.reserveCapacity(fields.count)
            for f in fields {
                let c = try load(f, depth: depth + 1)
                guard c.length >= n else {
                    throw fail("struct child \(f.name) has \(c.length) values, needs \(n)")
                }
                cs.append(c)
            }
            return make(v, empty, empty, cs)
        case .union(let mode, let fields, let ids):
            if version < 4 { _ = try nextBuffer(what: "validity") }  // V4 unions had a validity buffer
            let types = try nextBuffer(need: n, what: "type ids")
            let offsets = mode == .dense ? try nextBuffer(need: try product(n, 4), what: "offsets") : empty
            var cs: [ArrowArray] = []
            cs.reserveCapacity(fields.count)
            for f in fields {
                let c = try load(f, depth: depth + 1)
                if mode == .sparse, c.length < n {
                    throw fail("sparse union child \(f.name) has \(c.length) values, needs \(n)")
                }
                cs.append(c)
            }
            var childOf = [Int](repeating: -1, count: 128)
            for (i, id) in ids.enumerated() { childOf[Int(id)] = i }
            for i in 0..<n {
                let t = Int(storage.unsafeBaseAddress.load(fromByteOffset: types.lowerBound + i, as: Int8.self))
                guard t >= 0, t < 128, childOf[t] >= 0 else {
                    throw fail("slot \(i) has undeclared union type id \(t)")
                }
                if mode == .dense {
                    let o = i32(offsets.lowerBound + 4 * i)
                    guard o >= 0, o < cs[childOf[t]].length else {
                        throw fail(
                            "slot \(i) has dense union offset \(o) outside child \(childOf[t]) (\(cs[childOf[t]].length) values)"
                        )
                    }
                }
            }
            return ArrowArray(
                type: field.type, length: n, nullCount: 0, storage: storage, validity: -1, values: types, data: offsets,
                children: cs)
        case .unsupported(_, let name):
            warnings.append("\(path): \(name) is not decoded (kept raw)")
            var cs: [ArrowArray] = []
            for f in field.type.children { cs.append(try load(f, depth: depth + 1)) }
            return ArrowArray(
                type: field.type, length: n, nullCount: nc, storage: storage, validity: -1, values: empty, data: empty,
                children: cs)
        }
    }
}

/// A precomputed way to load the record batches of one schema whose arrays are all of the common,
/// simple kinds (null, bool, fixed width, binary and string, lists, fixed-size lists, structs; no
/// dictionaries): the field tree flattened in the order of its field nodes, with the buffer count,
/// so that a batch of a known schema is loaded by one tight pass over its nodes and buffers, with no
/// per-message arrays.
///
/// ``load(_:body:storage:maxRows:)`` checks everything ``LoadContext`` checks for these kinds; when
/// anything is off it returns nil, and the reader loads the batch the general way, which reports
/// the problem precisely. So a plan never accepts what the general path rejects, and builds the
/// same arrays when both accept.
final class LoadPlan {
    enum Kind {
        case null, bool
        /// `width` bytes per value.
        case fixed(width: Int)
        case binary(wide: Bool)
        case list(wide: Bool)
        case fixedSizeList(size: Int)
        case structure(children: Int)
    }

    struct Node {
        var kind: Kind
        var type: ArrowType
    }

    /// One per field node, depth-first in schema order: the kinds, and the types (apart, so that
    /// reading a kind copies no type).
    let kinds: [Kind]
    let types: [ArrowType]
    /// Buffers a record batch of the schema has.
    let bufferCount: Int
    /// Top-level columns.
    let columnCount: Int

    /// The plan of `fields`, or nil when one of them is of a kind the plan does not handle.
    init?(_ fields: [ArrowField]) {
        var nodes: [Node] = []
        var buffers = 0
        func add(_ f: ArrowField, depth: Int) -> Bool {
            guard f.dictionary == nil, depth <= SchemaDecoding.maxDepth else { return false }
            switch f.type {
            case .null:
                nodes.append(Node(kind: .null, type: f.type))
            case .bool:
                nodes.append(Node(kind: .bool, type: f.type))
                buffers += 2
            case .int, .float16, .float32, .float64, .decimal, .date32, .date64, .time32, .time64, .timestamp,
                .duration, .interval, .fixedSizeBinary:
                nodes.append(Node(kind: .fixed(width: f.type.byteWidth ?? 0), type: f.type))
                buffers += 2
            case .binary, .utf8:
                nodes.append(Node(kind: .binary(wide: false), type: f.type))
                buffers += 3
            case .largeBinary, .largeUtf8:
                nodes.append(Node(kind: .binary(wide: true), type: f.type))
                buffers += 3
            case .list(let child), .largeList(let child):
                var wide = false
                if case .largeList = f.type { wide = true }
                nodes.append(Node(kind: .list(wide: wide), type: f.type))
                buffers += 2
                return add(child, depth: depth + 1)
            case .fixedSizeList(let child, let size):
                nodes.append(Node(kind: .fixedSizeList(size: size), type: f.type))
                buffers += 1
                return add(child, depth: depth + 1)
            case .structure(let children):
                nodes.append(Node(kind: .structure(children: children.count), type: f.type))
                buffers += 1
                for c in children where !add(c, depth: depth + 1) { return false }
            default:
                return false
            }
            return true
        }
        for f in fields where !add(f, depth: 0) { return nil }
        kinds = nodes.map(\.kind)
        types = nodes.map(\.type)
        bufferCount = buffers
        columnCount = fields.count
    }

    /// The batch's length and columns, or nil when the batch does not match the plan or fails a check
    /// (the general path then says why).
    ///
    /// - Parameters:
    ///   - batch: the RecordBatch table.
    ///   - body: where the message body lies in `storage` (buffer offsets are relative to its start).
    ///   - uncompressed: the caller checked that the batch has no body compression.
    func load(
        _ batch: FBTable, body: Range<Int>, storage: ByteStorage, maxRows: Int, uncompressed: Bool = false
    ) -> (length: Int, columns: [ArrowArray])? {
        let vectors: (nodes: (start: Int, count: Int)?, buffers: (start: Int, count: Int)?)
        let len: Int64
        do {
            len = try batch.int64(0)
            vectors = (try batch.vector(1, elementSize: 16), try batch.vector(2, elementSize: 16))
            // Compressed bodies and malformed variadic counts take the general path.
            guard try uncompressed || batch.table(3) == nil else { return nil }
            _ = try batch.vector(4, elementSize: 8)
        } catch {
            return nil
        }
        guard len >= 0, len <= Int64(LoadContext.maxLength), len <= Int64(maxRows) else { return nil }
        guard (vectors.nodes?.count ?? 0) == kinds.count, (vectors.buffers?.count ?? 0) == bufferCount else {
            return nil
        }
        let length = Int(len)
        return kinds.withUnsafeBufferPointer { kinds -> (length: Int, columns: [ArrowArray])? in
            types.withUnsafeBufferPointer { types -> (length: Int, columns: [ArrowArray])? in
                var loader = FastLoader(
                    kinds: kinds, types: types, meta: batch.buf, nodesAt: vectors.nodes?.start ?? 0,
                    buffersAt: vectors.buffers?.start ?? 0, body: body, storage: storage)
                var columns: [ArrowArray] = []
                columns.reserveCapacity(columnCount)
                for _ in 0..<columnCount {
                    guard let c = loader.array(), c.length == length else { return nil }
                    columns.append(c)
                }
                return (length, columns)
            }
        }
    }
}

/// The cursor of one ``LoadPlan/load(_:body:storage:maxRows:)``.
private struct FastLoader {
    let kinds: UnsafeBufferPointer<LoadPlan.Kind>
    let types: UnsafeBufferPointer<ArrowType>
    let meta: UnsafeRawBufferPointer
    let nodesAt: Int
    let buffersAt: Int
    let body: Range<Int>
    let storage: ByteStorage
    var planIndex = 0
    var bufferIndex = 0

    init(
        kinds: UnsafeBufferPointer<LoadPlan.Kind>, types: UnsafeBufferPointer<ArrowType>, meta: UnsafeRawBufferPointer,
        nodesAt: Int, buffersAt: Int, body: Range<Int>, storage: ByteStorage
    ) {
        self.kinds = kinds
        self.types = types
        self.meta = meta
        self.nodesAt = nodesAt
        self.buffersAt = buffersAt
        self.body = body
        self.storage = storage
    }

    /// The next buffer's range in the storage, if it lies in the body and has `need` bytes.
    @inline(__always)
    mutating func buffer(need: Int = 0) -> Range<Int>? {
        let at = buffersAt + 16 * bufferIndex
        bufferIndex += 1
        let o = Int64(littleEndian: meta.loadUnaligned(fromByteOffset: at, as: Int64.self))
        let l = Int64(littleEndian: meta.loadUnaligned(fromByteOffset: at + 8, as: Int64.self))
        let size = Int64(body.count)
        guard o >= 0, l >= 0, o <= size, l <= size - o, l >= Int64(need) else { return nil }
        return (body.lowerBound + Int(o))..<(body.lowerBound + Int(o) + Int(l))
    }

    /// The validity bitmap's start (-1 without nulls), consuming its buffer.
    @inline(__always)
    mutating func validity(_ n: Int, _ nullCount: Int) -> Int? {
        guard let r = buffer(need: nullCount > 0 ? (n + 7) / 8 : 0) else { return nil }
        return nullCount > 0 ? r.lowerBound : -1
    }

    @inline(__always)
    func product(_ a: Int, _ b: Int) -> Int? {
        let (p, o) = a.multipliedReportingOverflow(by: b)
        return o || p > LoadContext.maxLength * 16 ? nil : p
    }

    /// Whether `r` holds n+1 monotone, non-negative offsets ending at or below `limit`.
    func offsetsValid(_ r: Range<Int>, n: Int, wide: Bool, limit: Int) -> Bool {
        if n == 0 && r.isEmpty { return true }
        let w = wide ? 8 : 4
        guard r.count >= (n + 1) * w else { return false }
        let p = storage.unsafeBaseAddress + r.lowerBound
        if wide {
            var prev = Int64(littleEndian: p.loadUnaligned(as: Int64.self))
            guard prev >= 0 else { return false }
            for i in stride(from: 1, through: n, by: 1) {
                let v = Int64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
                guard v >= prev else { return false }
                prev = v
            }
            return prev <= Int64(limit)
        }
        var prev = Int32(littleEndian: p.loadUnaligned(as: Int32.self))
        guard prev >= 0 else { return false }
        for i in stride(from: 1, through: n, by: 1) {
            let v = Int32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))
            guard v >= prev else { return false }
            prev = v
        }
        return Int(prev) <= limit
    }

    /// The next array of the plan (with its children), or nil when a check fails.
    mutating func array() -> ArrowArray? {
        let index = planIndex
        let at = nodesAt + 16 * index
        planIndex += 1
        let l = Int64(littleEndian: meta.loadUnaligned(fromByteOffset: at, as: Int64.self))
        let nc = Int64(littleEndian: meta.loadUnaligned(fromByteOffset: at + 8, as: Int64.self))
        guard l >= 0, l <= Int64(LoadContext.maxLength), nc >= 0, nc <= l else { return nil }
        let n = Int(l)
        let nullCount = Int(nc)
        let empty = 0..<0
        switch kinds[index] {
        case .null:
            return ArrowArray(
                plainType: .null, length: n, nullCount: n, storage: storage, validity: -1, values: empty, data: empty,
                children: [])
        case .bool:
            guard let v = validity(n, nullCount), let values = buffer(need: (n + 7) / 8) else { return nil }
            return ArrowArray(
                plainType: types[index], length: n, nullCount: nullCount, storage: storage, validity: v, values: values,
                data: empty, children: [])
        case .fixed(let w):
            guard let need = product(n, w), let v = validity(n, nullCount), let values = buffer(need: need) else {
                return nil
            }
            return ArrowArray(
                plainType: types[index], length: n, nullCount: nullCount, storage: storage, validity: v, values: values,
                data: empty, children: [])
        case .binary(let wide):
            guard let v = validity(n, nullCount), let offsets = buffer(), let data = buffer(),
                offsetsValid(offsets, n: n, wide: wide, limit: data.count)
            else { return nil }
            return ArrowArray(
                plainType: types[index], length: n, nullCount: nullCount, storage: storage, validity: v, values: offsets,
                data: data, children: [])
        case .list(let wide):
            guard let v = validity(n, nullCount), let offsets = buffer(), let child = array() else { return nil }
            let limit = child.length
            let children = [consume child]  // moved, not copied
            guard offsetsValid(offsets, n: n, wide: wide, limit: limit) else { return nil }
            return ArrowArray(
                plainType: types[index], length: n, nullCount: nullCount, storage: storage, validity: v, values: offsets,
                data: empty, children: children)
        case .fixedSizeList(let size):
            guard let v = validity(n, nullCount), let child = array(), let need = product(n, size),
                child.length >= need
            else { return nil }
            return ArrowArray(
                plainType: types[index], length: n, nullCount: nullCount, storage: storage, validity: v, values: empty,
                data: empty, children: [consume child])
        case .structure(let k):
            guard let v = validity(n, nullCount) else { return nil }
            var children: [ArrowArray] = []
            children.reserveCapacity(k)
            for _ in 0..<k {
                guard let c = array(), c.length >= n else { return nil }
                children.append(c)
            }
            return ArrowArray(
                plainType: types[index], length: n, nullCount: nullCount, storage: storage, validity: v, values: empty,
                data: empty, children: children)
        }
    }
}
