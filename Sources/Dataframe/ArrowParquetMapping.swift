import ArrowIPC
import Parquet

/// How Arrow fields become Parquet columns, and how Arrow arrays are shredded into them (Dremel
/// definition and repetition levels).
///
/// ## The mapping
/// | Arrow | Parquet | stated in `ARROW:schema` |
/// |---|---|---|
/// | null | INT32 (UNKNOWN), always null | null |
/// | bool | BOOLEAN | bool |
/// | int8/16/32, uint8/16/32 | INT32 (INTEGER(bits, signed)) | the same |
/// | int64, uint64 | INT64 (INTEGER(64, signed)) | the same |
/// | halffloat, float, double | FIXED_LEN_BYTE_ARRAY(2) (FLOAT16), FLOAT, DOUBLE | the same |
/// | decimal128/256(p, s) | FIXED_LEN_BYTE_ARRAY(16/32) big-endian (DECIMAL(p, s)) | the same |
/// | date32 | INT32 (DATE) | date32 |
/// | date64 | INT32 (DATE), milliseconds floored to days | date32 (as Arrow's own writer) |
/// | time32[s], time32[ms] | INT32 (TIME(ms)), seconds × 1000 | time32[ms] |
/// | time64[us], time64[ns] | INT64 (TIME(us/ns)) | the same |
/// | timestamp[unit, tz] | INT64 (TIMESTAMP(UTC-adjusted iff tz, ms/us/ns)), seconds × 1000 | timestamp[ms/us/ns, tz] |
/// | duration[unit] | INT64 | the same |
/// | interval (any unit) | FIXED_LEN_BYTE_ARRAY(4/8/16), the raw bytes | fixed_size_binary(4/8/16) |
/// | binary, large_binary, binary_view | BYTE_ARRAY | the same |
/// | string, large_string, string_view | BYTE_ARRAY (STRING) | the same |
/// | fixed_size_binary(w) | FIXED_LEN_BYTE_ARRAY(w) | the same |
/// | list, large_list, list_view, large_list_view, fixed_size_list | three-level LIST (`list` / the item's name) | the same |
/// | struct | group (one with no fields is refused) | the same |
/// | map | three-level MAP (the entries' name / `key`, `value`) | the same |
/// | dense or sparse union | group of one nullable field per member, only the slot's member set | struct of the members, all nullable |
/// | dictionary-encoded | the value type, dictionary decoded | the same dictionary type (pyarrow re-encodes) |
/// | run-end encoded and other undecoded types | refused (``/Parquet/ParquetError/Code/unsupported``) | |
///
/// A nullable Arrow field is an optional node, a non-nullable one required (a union's members are
/// always optional). Unions have no Parquet form: the file states the struct they became, so every
/// reader sees the same type.
public enum ArrowParquetMapping {
    /// The Parquet node for `field`, and the Arrow field a reader restores from the file's
    /// `ARROW:schema` (the same, except where the table above says otherwise).
    public static func node(for field: ArrowField) throws(ParquetError) -> (node: ParquetSchemaNode, stated: ArrowField)
    {
        let repetition: ParquetRepetition = field.nullable ? .optional : .required
        var stated = field
        func leaf(
            _ type: ParquetPhysicalType, _ logical: ParquetLogicalType? = nil, length: Int32? = nil
        )
            -> ParquetSchemaNode
        {
            .leaf(field.name, type, repetition, logical: logical, typeLength: length)
        }
        let node: ParquetSchemaNode
        switch field.type {
        case .null:
            node = .leaf(field.name, .int32, .optional, logical: .unknown)
            stated.nullable = true
        case .bool: node = leaf(.boolean)
        case .int(let w, let signed):
            node =
                w == 64
                ? leaf(.int64, .integer(bitWidth: 64, signed: signed))
                : leaf(.int32, .integer(bitWidth: Int8(w), signed: signed))
        case .float16: node = leaf(.fixedLenByteArray, .float16, length: 2)
        case .float32: node = leaf(.float)
        case .float64: node = leaf(.double)
        case .decimal(let p, let s, let w):
            node = leaf(.fixedLenByteArray, .decimal(scale: Int32(s), precision: Int32(p)), length: Int32(w / 8))
        case .date32: node = leaf(.int32, .date)
        case .date64:
            node = leaf(.int32, .date)
            stated.type = .date32
        case .time32:
            node = leaf(.int32, .time(adjustedToUTC: true, unit: .milliseconds))
            stated.type = .time32(.millisecond)
        case .time64(let u):
            node = leaf(.int64, .time(adjustedToUTC: true, unit: u == .microsecond ? .microseconds : .nanoseconds))
        case .timestamp(let u, let tz):
            let unit: ParquetTimeUnit =
                u == .nanosecond ? .nanoseconds : u == .microsecond ? .microseconds : .milliseconds
            node = leaf(.int64, .timestamp(adjustedToUTC: tz != nil, unit: unit))
            if u == .second { stated.type = .timestamp(.millisecond, timezone: tz) }
        case .duration: node = leaf(.int64)
        case .interval:
            let w = field.type.byteWidth!
            node = leaf(.fixedLenByteArray, length: Int32(w))
            stated.type = .fixedSizeBinary(w)
        case .binary, .largeBinary, .binaryView: node = leaf(.byteArray)
        case .utf8, .largeUtf8, .utf8View: node = leaf(.byteArray, .string)
        case .fixedSizeBinary(let w):
            guard w > 0 else {
                throw ParquetError(.unsupported, "\(field.name): fixed_size_binary[0] has no Parquet form")
            }
            node = leaf(.fixedLenByteArray, length: Int32(w))
        case .list(let item), .largeList(let item), .listView(let item), .largeListView(let item),
            .fixedSizeList(let item, _):
            // The element keeps the Arrow item's name (`item`), so readers restore the exact list type
            // (the three-level structure is what the format requires; the names are free).
            let (element, statedItem) = try self.node(for: item)
            node = .group(field.name, repetition, logical: .list, [.group("list", .repeated, [element])])
            switch field.type {
            case .list: stated.type = .list(statedItem)
            case .largeList: stated.type = .largeList(statedItem)
            case .listView: stated.type = .listView(statedItem)
            case .largeListView: stated.type = .largeListView(statedItem)
            case .fixedSizeList(_, let n): stated.type = .fixedSizeList(statedItem, n)
            default: break
            }
        case .structure(let fields):
            guard !fields.isEmpty else {
                throw ParquetError(.unsupported, "\(field.name): a struct without fields has no Parquet form")
            }
            var children: [ParquetSchemaNode] = []
            var statedFields: [ArrowField] = []
            for f in fields {
                let (n, s) = try self.node(for: f)
                children.append(n)
                statedFields.append(s)
            }
            node = .group(field.name, repetition, children)
            stated.type = .structure(statedFields)
        case .map(let entries, let sorted):
            guard case .structure(let kv) = entries.type, kv.count == 2 else {
                throw ParquetError(.unsupported, "\(field.name): a map whose entries are not struct<key, value>")
            }
            var key = try self.node(for: kv[0])
            key.node.name = "key"
            var value = try self.node(for: kv[1])
            value.node.name = "value"
            node = .group(
                field.name, repetition, logical: .map, [.group(entries.name, .repeated, [key.node, value.node])])
            var statedEntries = entries
            statedEntries.type = .structure(
                [key.stated, value.stated].enumerated().map { i, f in
                    var f = f
                    f.name = kv[i].name
                    return f
                })
            stated.type = .map(entries: statedEntries, keysSorted: sorted)
        case .union(_, let members, _):
            guard !members.isEmpty else { throw ParquetError(.unsupported, "\(field.name): a union without members") }
            var children: [ParquetSchemaNode] = []
            var statedFields: [ArrowField] = []
            for var m in members {
                m.nullable = true
                let (n, s) = try self.node(for: m)
                children.append(n)
                statedFields.append(s)
            }
            node = .group(field.name, repetition, children)
            stated.type = .structure(statedFields)
        case .unsupported(_, let name):
            throw ParquetError(
                .unsupported, "\(field.name): Arrow type \(name) is not decoded, so it cannot be written")
        }
        return (node, stated)
    }

    /// The Parquet schema of `schema`'s fields, and the schema a reader restores (``node(for:)``).
    public static func schema(
        for schema: ArrowSchema
    ) throws(ParquetError) -> (parquet: ParquetSchema, stated: ArrowSchema) {
        var nodes: [ParquetSchemaNode] = []
        var fields: [ArrowField] = []
        for f in schema.fields {
            let (n, s) = try node(for: f)
            nodes.append(n)
            fields.append(s)
        }
        return (ParquetSchema(fields: nodes), ArrowSchema(fields: fields, metadata: schema.metadata))
    }

    /// The `ARROW:schema` value Arrow's Parquet readers restore types from: the base64 of the IPC
    /// Schema message of `stated` (encapsulated: continuation marker, length, flatbuffer).
    public static func arrowSchemaMetadata(_ stated: ArrowSchema) -> String {
        var message = ArrowIPCWriter.schemaStream(stated)
        message.removeLast(8)  // the end-of-stream marker: Arrow stores the message alone
        return Base64.encode(message)
    }

    /// The leaf columns of `array` (a column of `field`) for its rows `rows`, in the order of the
    /// leaves of ``node(for:)``'s node.
    public static func shred(
        _ array: ArrowArray, field: ArrowField, rows: Range<Int>
    ) throws(ParquetError)
        -> [ParquetColumnData]
    {
        var levels = Levels()
        levels.reserve(rows.count)
        for r in rows { levels.append(rep: 0, def: 0, slot: Int32(r)) }
        var out: [ParquetColumnData] = []
        try Shredder.visit(field, array, levels, def: 0, rep: 0, into: &out)
        return out
    }
}

/// The entries at one depth of a column: for each, its repetition and definition level so far and
/// the slot of the current array it stands for (-1: the value ended above, at level `def`).
struct Levels {
    var rep: [UInt8] = []
    var def: [UInt8] = []
    var slot: [Int32] = []

    var count: Int { slot.count }

    mutating func reserve(_ n: Int) {
        rep.reserveCapacity(n)
        def.reserveCapacity(n)
        slot.reserveCapacity(n)
    }

    @inline(__always)
    mutating func append(rep r: UInt8, def d: UInt8, slot s: Int32) {
        rep.append(r)
        def.append(d)
        slot.append(s)
    }
}

enum Shredder {
    /// Shreds the entries `levels` of `array` (a column of `field`); `def` and `rep` are the maximum
    /// levels above this node.
    static func visit(
        _ field: ArrowField, _ array: ArrowArray, _ levels: Levels, def: Int, rep: Int,
        into out: inout [ParquetColumnData]
    ) throws(ParquetError) {
        var levels = levels
        var def = def
        if field.nullable || { if case .null = field.type { return true } else { return false } }() {
            def += 1
            let hasNulls: Bool
            if case .union = array.type {
                hasNulls = false
            } else {
                hasNulls = array.nullCount > 0 || array.type == .null
            }
            for i in 0..<levels.count where levels.slot[i] >= 0 {
                if hasNulls && array.isNull(Int(levels.slot[i])) {
                    levels.slot[i] = -1
                } else {
                    levels.def[i] += 1
                }
            }
        }
        guard def <= Int(UInt8.max), rep < Int(UInt8.max) else {
            throw ParquetError(.unsupported, "\(field.name): nesting deeper than 255 levels")
        }
        switch field.type {
        case .list(let item), .largeList(let item), .listView(let item), .largeListView(let item),
            .fixedSizeList(let item, _):
            let children = expand(array, levels, rep: rep)
            try visit(item, array.children[0], children, def: def + 1, rep: rep + 1, into: &out)
        case .map(let entries, _):
            let children = expand(array, levels, rep: rep)
            guard case .structure(let kv) = entries.type, kv.count == 2, array.children.count == 1,
                array.children[0].children.count == 2
            else { throw ParquetError(.unsupported, "\(field.name): a map whose entries are not struct<key, value>") }
            for k in 0..<2 {
                try visit(kv[k], array.children[0].children[k], children, def: def + 1, rep: rep + 1, into: &out)
            }
        case .structure(let fields):
            for (k, f) in fields.enumerated() {
                try visit(f, array.children[k], levels, def: def, rep: rep, into: &out)
            }
        case .union(_, let members, _):
            var chosen = [Int32](repeating: -1, count: levels.count)
            var member = [Int16](repeating: -1, count: levels.count)
            for i in 0..<levels.count where levels.slot[i] >= 0 {
                let (c, k) = array.unionSlot(at: Int(levels.slot[i]))
                member[i] = Int16(c)
                chosen[i] = Int32(k)
            }
            for (c, var m) in members.enumerated() {
                m.nullable = true
                var memberLevels = levels
                for i in 0..<levels.count { memberLevels.slot[i] = member[i] == Int16(c) ? chosen[i] : -1 }
                try visit(m, array.children[c], memberLevels, def: def, rep: rep, into: &out)
            }
        default:
            let values = try leafValues(field, array, levels.slot)
            out.append(
                ParquetColumnData(
                    definitionLevels: def > 0 ? levels.def : nil, repetitionLevels: rep > 0 ? levels.rep : nil,
                    values: values))
        }
    }

    /// The entries one level down a list-like array: each present entry's items (the first keeps the
    /// entry's repetition level, the others repeat at this depth); an empty list ends at this level.
    static func expand(_ array: ArrowArray, _ levels: Levels, rep: Int) -> Levels {
        // Two passes: the entries' count, then the levels written into exactly sized arrays (the
        // hot loop of big nested columns: point clouds, image bytes).
        let n = levels.count
        var ranges = [Range<Int>](repeating: 0..<0, count: n)
        var total = 0
        for i in 0..<n {
            let s = levels.slot[i]
            if s >= 0 {
                let r = array.valueRange(at: Int(s))
                ranges[i] = r
                total += max(r.count, 1)
            } else {
                total += 1
            }
        }
        let repeated = UInt8(rep + 1)
        var outRep = [UInt8](repeating: 0, count: total)
        var outDef = [UInt8](repeating: 0, count: total)
        var outSlot = [Int32](repeating: -1, count: total)
        outRep.withUnsafeMutableBufferPointer { rep in
            outDef.withUnsafeMutableBufferPointer { def in
                outSlot.withUnsafeMutableBufferPointer { slot in
                    var k = 0
                    for i in 0..<n {
                        let r = ranges[i]
                        if levels.slot[i] < 0 || r.isEmpty {
                            // A null or an empty list ends at this level.
                            rep[k] = levels.rep[i]
                            def[k] = levels.def[i]
                            k += 1
                            continue
                        }
                        let d = levels.def[i] + 1
                        rep[k] = levels.rep[i]
                        def[k] = d
                        slot[k] = Int32(r.lowerBound)
                        k += 1
                        var child = r.lowerBound + 1
                        while child < r.upperBound {
                            rep[k] = repeated
                            def[k] = d
                            slot[k] = Int32(child)
                            k += 1
                            child += 1
                        }
                    }
                }
            }
        }
        var out = Levels()
        out.rep = outRep
        out.def = outDef
        out.slot = outSlot
        return out
    }

    /// The present values of a leaf, in entry order.
    static func leafValues(
        _ field: ArrowField, _ array: ArrowArray, _ slots: [Int32]
    ) throws(ParquetError)
        -> ParquetValues
    {
        // A dictionary-encoded leaf: its values are looked up slot by slot (decoded; rare in Rerun data).
        if array.dictionaryIndexType != nil {
            var result = try plainLeaf(field.type, field.name, array.dictionarySegments.first ?? array, [])
            for s in slots where s >= 0 {
                guard let (segment, k) = array.dictionaryValue(index: array.dictionaryIndex(at: Int(s))) else {
                    throw ParquetError(.invalidInput, "\(field.name): a dictionary index out of range")
                }
                append(try plainLeaf(field.type, field.name, segment, [k]), to: &result)
            }
            return result
        }
        switch field.type {
        case .float32: return .float(loads(array, slots, Float.self) { $0 })
        case .float64: return .double(loads(array, slots, Double.self) { $0 })
        case .int(64, true), .time64, .timestamp(.millisecond, _), .timestamp(.microsecond, _),
            .timestamp(.nanosecond, _), .duration:
            return .int64(loads(array, slots, Int64.self) { $0 })
        case .int(64, false): return .int64(loads(array, slots, UInt64.self) { Int64(bitPattern: $0) })
        case .int(32, true), .date32, .time32(.millisecond): return .int32(loads(array, slots, Int32.self) { $0 })
        case .int(32, false): return .int32(loads(array, slots, UInt32.self) { Int32(bitPattern: $0) })
        case .int(16, true): return .int32(loads(array, slots, Int16.self) { Int32($0) })
        case .int(16, false): return .int32(loads(array, slots, UInt16.self) { Int32($0) })
        case .int(8, true): return .int32(loads(array, slots, Int8.self) { Int32($0) })
        case .int(8, false): return .int32(loads(array, slots, UInt8.self) { Int32($0) })
        default: return try plainLeaf(field.type, field.name, array, slots.lazy.filter { $0 >= 0 }.map { Int($0) })
        }
    }

    /// The present (slot ≥ 0) fixed-width values of `slots`, each converted by `convert`, read from
    /// the values buffer directly (little-endian, as Arrow and Parquet store them).
    @inline(__always)
    static func loads<T: BitwiseCopyable, U>(
        _ array: ArrowArray, _ slots: [Int32], _: T.Type, _ convert: (T) -> U
    ) -> [U] {
        array.withUnsafeBuffers { values, _ in
            let width = MemoryLayout<T>.size
            let count = values.count / width
            var out: [U] = []
            out.reserveCapacity(slots.count)
            slots.withUnsafeBufferPointer { slots in
                for s in slots where s >= 0 {
                    // Slots come from validated offsets; a bad one is left out (the writer then refuses
                    // the column), never read out of bounds.
                    guard Int(s) < count else { continue }
                    out.append(convert(values.loadUnaligned(fromByteOffset: Int(s) * width, as: T.self)))
                }
            }
            return out
        }
    }

    /// Appends `p` to `result` (values of the same physical type).
    static func append(_ p: ParquetValues, to result: inout ParquetValues) {
        switch (result, p) {
        case (.boolean(var a), .boolean(let b)): a += b; result = .boolean(a)
        case (.int32(var a), .int32(let b)): a += b; result = .int32(a)
        case (.int64(var a), .int64(let b)): a += b; result = .int64(a)
        case (.float(var a), .float(let b)): a += b; result = .float(a)
        case (.double(var a), .double(let b)): a += b; result = .double(a)
        case (.byteArray(var d, var o), .byteArray(let d2, let o2)):
            let base = d.count
            d += d2
            o += o2.dropFirst().map { $0 + base }
            result = .byteArray(data: d, offsets: o)
        case (.fixedLenByteArray(var d, let w), .fixedLenByteArray(let d2, _)):
            d += d2
            result = .fixedLenByteArray(data: d, width: w)
        default: break
        }
    }

    /// The fixed-width values of `slots` (little-endian, as Arrow and Parquet store them), read from
    /// the values buffer directly: the leaf loop of big numeric columns (point clouds, images).
    static func loads<S: Sequence<Int>, T: BitwiseCopyable>(_ array: ArrowArray, _ slots: S, _: T.Type) -> [T] {
        array.withUnsafeBuffers { values, _ in
            let width = MemoryLayout<T>.size
            let count = values.count / width
            var out: [T] = []
            out.reserveCapacity(slots.underestimatedCount)
            for s in slots {
                // Slots come from validated offsets; the check keeps a bad one an empty read, not a trap.
                guard s < count else { continue }
                out.append(values.loadUnaligned(fromByteOffset: s * width, as: T.self))
            }
            return out
        }
    }

    /// The values of `slots` of a plain (not dictionary-encoded) leaf array.
    static func plainLeaf<S: Sequence<Int>>(
        _ type: ArrowType, _ name: String, _ array: ArrowArray, _ slots: S
    )
        throws(ParquetError) -> ParquetValues
    {
        switch type {
        case .null: return .int32([])
        case .bool: return .boolean(slots.map { array.bool(at: $0) })
        case .float32: return .float(loads(array, slots, Float.self))
        case .float64: return .double(loads(array, slots, Double.self))
        case .int(64, true), .time64, .timestamp(.millisecond, _), .timestamp(.microsecond, _),
            .timestamp(.nanosecond, _), .duration:
            return .int64(loads(array, slots, Int64.self))
        case .int(32, true), .date32, .time32(.millisecond): return .int32(loads(array, slots, Int32.self))
        case .int(32, false): return .int32(loads(array, slots, UInt32.self).map { Int32(bitPattern: $0) })
        case .int(64, false): return .int64(slots.map { Int64(bitPattern: array.value(at: $0, as: UInt64.self)) })
        case .int:
            return .int32(slots.map { Int32(truncatingIfNeeded: array.int64(at: $0)) })
        case .time32:
            return .int32(slots.map { Int32(truncatingIfNeeded: array.int64(at: $0) &* 1000) })
        case .date64:
            return .int32(
                slots.map { s in
                    let ms = array.value(at: s, as: Int64.self)
                    let days = ms >= 0 ? ms / 86_400_000 : -((-ms + 86_399_999) / 86_400_000)
                    return Int32(truncatingIfNeeded: days)
                })
        case .timestamp(.second, _): return .int64(slots.map { array.value(at: $0, as: Int64.self) &* 1000 })
        case .float16:
            var data: [UInt8] = []
            for s in slots {
                let v = array.value(at: s, as: UInt16.self)
                data.append(UInt8(truncatingIfNeeded: v))
                data.append(UInt8(truncatingIfNeeded: v >> 8))
            }
            return .fixedLenByteArray(data: data, width: 2)
        case .decimal(_, _, let w):
            let width = w / 8
            var data: [UInt8] = []
            array.withUnsafeBuffers { values, _ in
                for s in slots {
                    // Arrow: little-endian two's complement; Parquet: big-endian.
                    for b in stride(from: width - 1, through: 0, by: -1) { data.append(values[s * width + b]) }
                }
            }
            return .fixedLenByteArray(data: data, width: width)
        case .interval:
            let width = type.byteWidth!
            var data: [UInt8] = []
            array.withUnsafeBuffers { values, _ in
                for s in slots { data += values[(s * width)..<(s * width + width)] }
            }
            return .fixedLenByteArray(data: data, width: width)
        case .fixedSizeBinary(let w):
            var data: [UInt8] = []
            for s in slots { array.withUnsafeBytes(at: s) { data.append(contentsOf: $0) } }
            return .fixedLenByteArray(data: data, width: w)
        case .binary, .largeBinary, .binaryView, .utf8, .largeUtf8, .utf8View:
            var data: [UInt8] = []
            var offsets: [Int] = [0]
            for s in slots {
                array.withUnsafeBytes(at: s) { data.append(contentsOf: $0) }
                offsets.append(data.count)
            }
            return .byteArray(data: data, offsets: offsets)
        default:
            throw ParquetError(.unsupported, "\(name): Arrow type \(type) is not a Parquet leaf")
        }
    }
}
