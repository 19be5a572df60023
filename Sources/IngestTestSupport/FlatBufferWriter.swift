/// A tiny flatbuffer writer for the Arrow IPC messages test support builds: an object tree laid
/// out forward (each table's vtable right before it, every referenced object after its referrer,
/// so all `uoffset`s are positive), little-endian, with fields aligned to their size.
///
/// Only what Arrow's `Message`/`Schema`/`RecordBatch` tables need: scalar fields, strings,
/// vectors of tables and vectors of 8-byte-aligned structs.
indirect enum FlatNode {
    /// A table; the array index is the field id, `nil` leaves a field absent.
    case table([FlatField?])
    /// A UTF-8 string (NUL-terminated, length-prefixed).
    case string(String)
    /// A vector of tables.
    case tables([FlatNode])
    /// A vector of `count` structs whose little-endian bytes are `bytes` (8-byte aligned).
    case structs(count: Int, bytes: [UInt8])
}

/// One field of a ``FlatNode/table(_:)``.
enum FlatField {
    case bool(Bool)
    case u8(UInt8)
    case i16(Int16)
    case i32(Int32)
    case i64(Int64)
    case ref(FlatNode)

    var size: Int {
        switch self {
        case .bool, .u8: return 1
        case .i16: return 2
        case .i32, .ref: return 4
        case .i64: return 8
        }
    }
}

struct FlatBufferWriter {
    private(set) var bytes: [UInt8] = []

    /// Serializes `root` with its root offset first; the result's length is a multiple of 8.
    static func serialize(_ root: FlatNode) -> [UInt8] {
        var w = FlatBufferWriter()
        w.append(UInt32(0))
        let at = w.write(root)
        w.patch(0, UInt32(at))
        w.align(8)
        return w.bytes
    }

    private mutating func align(_ n: Int, plus: Int = 0) {
        while (bytes.count + plus) % n != 0 { bytes.append(0) }
    }

    private mutating func append<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes += $0 }
    }

    private mutating func patch(_ at: Int, _ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { for k in 0..<4 { bytes[at + k] = $0[k] } }
    }

    /// Writes `node` and what it refers to; returns the node's position.
    private mutating func write(_ node: FlatNode) -> Int {
        switch node {
        case .string(let s):
            align(4)
            let at = bytes.count
            append(UInt32(s.utf8.count))
            bytes += Array(s.utf8)
            bytes.append(0)
            return at
        case .structs(let count, let data):
            align(8, plus: 4)
            let at = bytes.count
            append(UInt32(count))
            bytes += data
            return at
        case .tables(let items):
            align(4)
            let at = bytes.count
            append(UInt32(items.count))
            let slots = bytes.count
            for _ in items { append(UInt32(0)) }
            for (i, item) in items.enumerated() {
                let child = write(item)
                let slot = slots + 4 * i
                patch(slot, UInt32(child - slot))
            }
            return at
        case .table(let fields):
            // Field offsets inside the table: after the 4-byte vtable offset, each aligned to its size.
            var offsets = [Int](repeating: 0, count: fields.count)
            var size = 4
            for (i, f) in fields.enumerated() {
                guard let f else { continue }
                while size % f.size != 0 { size += 1 }
                offsets[i] = size
                size += f.size
            }
            align(2)
            let vtable = bytes.count
            append(UInt16(4 + 2 * fields.count))
            append(UInt16(size))
            for o in offsets { append(UInt16(o)) }
            align(8)
            let table = bytes.count
            append(Int32(table - vtable))
            bytes += [UInt8](repeating: 0, count: size - 4)
            var refs: [(slot: Int, node: FlatNode)] = []
            for (i, f) in fields.enumerated() {
                guard let f else { continue }
                let at = table + offsets[i]
                func put<T: FixedWidthInteger>(_ v: T) {
                    withUnsafeBytes(of: v.littleEndian) { for k in 0..<$0.count { bytes[at + k] = $0[k] } }
                }
                switch f {
                case .bool(let v): put(UInt8(v ? 1 : 0))
                case .u8(let v): put(v)
                case .i16(let v): put(v)
                case .i32(let v): put(v)
                case .i64(let v): put(v)
                case .ref(let n): refs.append((at, n))
                }
            }
            for (slot, n) in refs {
                let child = write(n)
                patch(slot, UInt32(child - slot))
            }
            return table
        }
    }
}
