/// Reading `Schema`/`Field`/`Type` tables (Arrow `Schema.fbs`) into ``ArrowSchema``.
enum SchemaDecoding {
    /// Nested types deeper than this are rejected (input controls the depth).
    static let maxDepth = 64

    /// The schema, with its metadata decoded unless `metadata` is false (then empty).
    static func schema(_ t: FBTable, metadata: Bool = true) throws(ArrowError) -> ArrowSchema {
        let endianness = try t.int16(0)
        guard endianness == 0 else {
            throw ArrowError(.unsupported, offset: t.base + t.pos, "big-endian Arrow data is not supported")
        }
        var fields: [ArrowField] = []
        for f in try t.tables(1) { fields.append(try field(f, depth: 0)) }
        return ArrowSchema(fields: fields, metadata: metadata ? try t.keyValues(2) : [])
    }

    static func field(_ t: FBTable, depth: Int) throws(ArrowError) -> ArrowField {
        let name = try t.string(0) ?? ""
        guard depth < maxDepth else {
            throw ArrowError(
                .tooLarge, offset: t.base + t.pos, path: name, "type nesting deeper than \(maxDepth) levels")
        }
        let nullable = try t.bool(1)
        let tag = try t.uint8(2)
        let typeTable = try t.table(3)
        var children: [ArrowField] = []
        for c in try t.tables(5) { children.append(try field(c, depth: depth + 1)) }
        let md = try t.keyValues(6)
        let type = try self.type(tag: tag, typeTable, children: children, at: t.base + t.pos, name: name)
        var dict: DictionaryEncoding?
        if let d = try t.table(4) {
            let id = try d.int64(0)
            var indexType = ArrowType.int(bitWidth: 32, signed: true)
            if let it = try d.table(1) {
                let w = Int(try it.int32(0))
                guard [8, 16, 32, 64].contains(w) else {
                    throw ArrowError(
                        .malformed, offset: t.base + t.pos, path: name,
                        "dictionary index width \(w) is not 8, 16, 32 or 64")
                }
                indexType = .int(bitWidth: w, signed: try it.bool(1))
            }
            dict = DictionaryEncoding(id: id, indexType: indexType, isOrdered: try d.bool(2))
        }
        return ArrowField(name: name, type: type, nullable: nullable, metadata: md, dictionary: dict)
    }

    static func type(
        tag: UInt8, _ t: FBTable?, children: [ArrowField], at offset: Int, name: String
    ) throws(ArrowError) -> ArrowType {
        func need(_ n: Int) throws(ArrowError) {
            guard children.count == n else {
                throw ArrowError(
                    .malformed, offset: offset, path: name,
                    "type tag \(tag) needs \(n) child field(s), found \(children.count)")
            }
        }
        func table() throws(ArrowError) -> FBTable {
            guard let t else {
                throw ArrowError(.malformed, offset: offset, path: name, "type tag \(tag) without its type table")
            }
            return t
        }
        func unit(_ v: Int16) throws(ArrowError) -> TimeUnit {
            guard let u = TimeUnit(rawValue: v) else {
                throw ArrowError(.malformed, offset: offset, path: name, "unknown time unit \(v)")
            }
            return u
        }
        switch tag {
        case 1: return .null
        case 2:
            let t = try table()
            let w = Int(try t.int32(0))
            guard [8, 16, 32, 64].contains(w) else {
                throw ArrowError(
                    .malformed, offset: offset, path: name, "integer bit width \(w) is not 8, 16, 32 or 64")
            }
            return .int(bitWidth: w, signed: try t.bool(1))
        case 3:
            switch try table().int16(0) {
            case 0: return .float16
            case 1: return .float32
            case 2: return .float64
            case let p:
                throw ArrowError(.malformed, offset: offset, path: name, "unknown floating point precision \(p)")
            }
        case 4: return .binary
        case 5: return .utf8
        case 6: return .bool
        case 7:
            let t = try table()
            let w = Int(try t.int32(2, default: 128))
            guard w == 128 || w == 256 || w == 32 || w == 64 else {
                throw ArrowError(.malformed, offset: offset, path: name, "decimal bit width \(w)")
            }
            return .decimal(precision: Int(try t.int32(0)), scale: Int(try t.int32(1)), bitWidth: w)
        case 8:
            switch try table().int16(0, default: 1) {
            case 0: return .date32
            case 1: return .date64
            case let u: throw ArrowError(.malformed, offset: offset, path: name, "unknown date unit \(u)")
            }
        case 9:
            let t = try table()
            let u = try unit(try t.int16(0, default: 1))
            switch try t.int32(1, default: 32) {
            case 32 where u == .second || u == .millisecond: return .time32(u)
            case 64 where u == .microsecond || u == .nanosecond: return .time64(u)
            case let w:
                throw ArrowError(.malformed, offset: offset, path: name, "time of \(w) bits with unit \(u.symbol)")
            }
        case 10:
            let t = try table()
            let tz = try t.string(1)
            return .timestamp(try unit(try t.int16(0)), timezone: (tz?.isEmpty ?? true) ? nil : tz)
        case 11:
            let v = try table().int16(0)
            guard let u = IntervalUnit(rawValue: v) else {
                throw ArrowError(.malformed, offset: offset, path: name, "unknown interval unit \(v)")
            }
            return .interval(u)
        case 12: try need(1); return .list(children[0])
        case 13: return .structure(children)
        case 14:
            let t = try table()
            let mode = try t.int16(0)
            guard let m = UnionMode(rawValue: mode) else {
                throw ArrowError(.malformed, offset: offset, path: name, "unknown union mode \(mode)")
            }
            let ids = try t.int32Vector(1) ?? children.indices.map { Int32($0) }
            guard ids.count == children.count else {
                throw ArrowError(
                    .malformed, offset: offset, path: name,
                    "union has \(children.count) children but \(ids.count) type ids")
            }
            guard ids.allSatisfy({ $0 >= 0 && $0 < 128 }), Set(ids).count == ids.count else {
                throw ArrowError(
                    .malformed, offset: offset, path: name, "union type ids \(ids) are not distinct values in 0..<128")
            }
            return .union(m, children, typeIds: ids)
        case 15:
            let w = Int(try table().int32(0))
            guard w >= 0 else {
                throw ArrowError(.malformed, offset: offset, path: name, "negative fixed_size_binary width \(w)")
            }
            return .fixedSizeBinary(w)
        case 16:
            try need(1)
            let n = Int(try table().int32(0))
            guard n >= 0 else {
                throw ArrowError(.malformed, offset: offset, path: name, "negative fixed_size_list size \(n)")
            }
            return .fixedSizeList(children[0], n)
        case 17:
            try need(1)
            guard case .structure(let kv) = children[0].type, kv.count == 2 else {
                throw ArrowError(.malformed, offset: offset, path: name, "map entries must be a struct of 2 fields")
            }
            return .map(entries: children[0], keysSorted: try table().bool(0))
        case 18: return .duration(try unit(try table().int16(0, default: 1)))
        case 19: return .largeBinary
        case 20: return .largeUtf8
        case 21: try need(1); return .largeList(children[0])
        case 22: return .unsupported(tag: tag, name: "run_end_encoded")
        case 23: return .binaryView
        case 24: return .utf8View
        case 25: try need(1); return .listView(children[0])
        case 26: try need(1); return .largeListView(children[0])
        default:
            throw ArrowError(.malformed, offset: offset, path: name, "unknown Arrow type tag \(tag)")
        }
    }
}
