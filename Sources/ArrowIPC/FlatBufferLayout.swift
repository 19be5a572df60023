/// A flatbuffer object tree for the writer (``ArrowIPCWriter``): the Arrow `Message`, `Schema`,
/// `Field`, type, `RecordBatch` and `DictionaryBatch` tables.
///
/// Serialized front to back (``FlatBufferLayout``): each table's vtable right before the table, every
/// object a table refers to after it, so every `uoffset` points forward, as the format requires.
package indirect enum FBNode {
    /// A table: `fields[i]` is vtable slot `i`, `nil` leaves the slot absent.
    case table([FBField?])
    /// A UTF-8 string (length-prefixed, NUL-terminated).
    case string(String)
    /// A vector of tables (or strings).
    case vector([FBNode])
    /// A vector of `count` inline structs (or scalars) of `stride` bytes each, little-endian in `bytes`,
    /// aligned to `alignment`.
    case inline(count: Int, stride: Int, alignment: Int, bytes: [UInt8])

    /// An `[int]` vector.
    package static func int32s(_ values: [Int32]) -> FBNode {
        var b: [UInt8] = []
        b.reserveCapacity(4 * values.count)
        for v in values { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
        return .inline(count: values.count, stride: 4, alignment: 4, bytes: b)
    }

    /// A `[long]` vector.
    package static func int64s(_ values: [Int64]) -> FBNode {
        var b: [UInt8] = []
        b.reserveCapacity(8 * values.count)
        for v in values { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
        return .inline(count: values.count, stride: 8, alignment: 8, bytes: b)
    }

    /// A vector of structs of two `long`s (`FieldNode`, `Buffer`).
    package static func int64Pairs(_ pairs: [(Int64, Int64)]) -> FBNode {
        var b: [UInt8] = []
        b.reserveCapacity(16 * pairs.count)
        for (x, y) in pairs {
            withUnsafeBytes(of: x.littleEndian) { b += $0 }
            withUnsafeBytes(of: y.littleEndian) { b += $0 }
        }
        return .inline(count: pairs.count, stride: 16, alignment: 8, bytes: b)
    }
}

/// One slot of an ``FBNode/table(_:)``.
package enum FBField {
    case bool(Bool)
    case uint8(UInt8)
    case int16(Int16)
    case int32(Int32)
    case int64(Int64)
    /// An offset to another object.
    case ref(FBNode)

    /// Size (and alignment) of the slot inside its table.
    var size: Int {
        switch self {
        case .bool, .uint8: 1
        case .int16: 2
        case .int32, .ref: 4
        case .int64: 8
        }
    }
}

/// Lays an ``FBNode`` tree out as flatbuffer bytes.
package struct FlatBufferLayout {
    private(set) var bytes: [UInt8] = []

    /// The bytes of `root` (a table) with its root `uoffset` first, padded to a multiple of 8.
    package static func serialize(_ root: FBNode) -> [UInt8] {
        var w = FlatBufferLayout()
        w.bytes.reserveCapacity(512)
        w.put(UInt32(0))
        let at = w.write(root)
        w.patch(0, UInt32(at))
        w.pad(to: 8)
        return w.bytes
    }

    private mutating func pad(to alignment: Int, plus: Int = 0) {
        while (bytes.count + plus) % alignment != 0 { bytes.append(0) }
    }

    private mutating func put<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes += $0 }
    }

    private mutating func patch(_ at: Int, _ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { for k in 0..<4 { bytes[at + k] = $0[k] } }
    }

    /// Writes `node` and everything it refers to; returns the position a `uoffset` to it must reach.
    private mutating func write(_ node: FBNode) -> Int {
        switch node {
        case .string(let s):
            let utf8 = Array(s.utf8)
            pad(to: 4)
            let at = bytes.count
            put(UInt32(utf8.count))
            bytes += utf8
            bytes.append(0)
            return at
        case .inline(let count, _, let alignment, let payload):
            // The elements (after the 4-byte count) start aligned.
            pad(to: max(alignment, 4), plus: 4)
            let at = bytes.count
            put(UInt32(count))
            bytes += payload
            return at
        case .vector(let items):
            pad(to: 4)
            let at = bytes.count
            put(UInt32(items.count))
            let slots = bytes.count
            bytes += [UInt8](repeating: 0, count: 4 * items.count)
            for (k, item) in items.enumerated() {
                let target = write(item)
                patch(slots + 4 * k, UInt32(target - (slots + 4 * k)))
            }
            return at
        case .table(let fields):
            return writeTable(fields)
        }
    }

    private mutating func writeTable(_ fields: [FBField?]) -> Int {
        // Inline layout: after the 4-byte soffset, fields by decreasing size (each aligned to its size).
        let present = fields.indices.filter { fields[$0] != nil }.sorted { fields[$0]!.size > fields[$1]!.size }
        var offsets = [Int](repeating: 0, count: fields.count)
        var cursor = 4
        var maxAlign = 4
        for i in present {
            let size = fields[i]!.size
            maxAlign = max(maxAlign, size)
            while cursor % size != 0 { cursor += 1 }
            offsets[i] = cursor
            cursor += size
        }
        let tableSize = cursor
        // The vtable: its size, the table's size, one u16 per slot.
        let vtableSize = 4 + 2 * fields.count
        pad(to: 2)
        // The table must start aligned to `maxAlign` right after the vtable: pad before the vtable.
        pad(to: maxAlign, plus: vtableSize)
        let vtable = bytes.count
        put(UInt16(vtableSize))
        put(UInt16(tableSize))
        for i in fields.indices { put(UInt16(fields[i] == nil ? 0 : offsets[i])) }
        let table = bytes.count
        bytes += [UInt8](repeating: 0, count: tableSize)
        withUnsafeBytes(of: Int32(table - vtable).littleEndian) { for k in 0..<4 { bytes[table + k] = $0[k] } }
        var refs: [(slot: Int, node: FBNode)] = []
        for i in present {
            let at = table + offsets[i]
            switch fields[i]! {
            case .bool(let b): bytes[at] = b ? 1 : 0
            case .uint8(let v): bytes[at] = v
            case .int16(let v): store(v, at)
            case .int32(let v): store(v, at)
            case .int64(let v): store(v, at)
            case .ref(let node): refs.append((at, node))
            }
        }
        for (slot, node) in refs {
            let target = write(node)
            patch(slot, UInt32(target - slot))
        }
        return table
    }

    private mutating func store<T: FixedWidthInteger>(_ v: T, _ at: Int) {
        withUnsafeBytes(of: v.littleEndian) { for k in 0..<MemoryLayout<T>.size { bytes[at + k] = $0[k] } }
    }
}
