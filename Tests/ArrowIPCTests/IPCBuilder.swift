@testable import ArrowIPC

/// Writes Arrow IPC messages for tests: a forward-laid flatbuffer (tables before what they point
/// to, vtables before their tables) for RecordBatch and DictionaryBatch messages, plus framing.
/// Schemas are taken from the pyarrow goldens (optionally with a patched type tag).
struct IPCBuilder {
    private var b: [UInt8] = []

    private mutating func pad(to n: Int, plus: Int = 0) { while (b.count + plus) % n != 0 { b.append(0) } }
    private mutating func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
    private mutating func patch(_ at: Int, _ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { for k in 0..<4 { b[at + k] = $0[k] } }
    }

    /// A RecordBatch table and its vectors; returns the table position.
    private mutating func recordBatch(length: Int, nodes: [(Int, Int)], buffers: [(Int, Int)]) -> Int {
        let vt = b.count
        for v: UInt16 in [10, 24, 8, 16, 20] { put(v) }
        pad(to: 8)
        let t = b.count
        put(Int32(t - vt))
        put(UInt32(0))
        put(Int64(length))
        put(UInt32(0))  // nodes, patched
        put(UInt32(0))  // buffers, patched
        pad(to: 8, plus: 4)
        patch(t + 16, UInt32(b.count - (t + 16)))
        put(UInt32(nodes.count))
        for (l, n) in nodes {
            put(Int64(l))
            put(Int64(n))
        }
        pad(to: 8, plus: 4)
        patch(t + 20, UInt32(b.count - (t + 20)))
        put(UInt32(buffers.count))
        for (o, l) in buffers {
            put(Int64(o))
            put(Int64(l))
        }
        pad(to: 8)
        return t
    }

    /// One framed message: continuation, metadata, body.
    private static func message(headerType: UInt8, bodyLength: Int, header: (inout IPCBuilder) -> Int) -> [UInt8] {
        var m = IPCBuilder()
        m.put(UInt32(0))  // root, patched
        let vt = m.b.count
        for v: UInt16 in [12, 24, 4, 6, 8, 16] { m.put(v) }
        m.pad(to: 8)
        let t = m.b.count
        m.patch(0, UInt32(t))
        m.put(Int32(t - vt))
        m.put(Int16(4))  // V5
        m.put(headerType)
        m.put(UInt8(0))
        m.put(UInt32(0))  // header, patched
        m.put(UInt32(0))
        m.put(Int64(bodyLength))
        let h = header(&m)
        m.patch(t + 8, UInt32(h - (t + 8)))
        m.pad(to: 8)
        var out: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF]
        withUnsafeBytes(of: UInt32(m.b.count).littleEndian) { out += $0 }
        return out + m.b
    }

    /// Body bytes with each buffer 8-byte aligned; returns (body, buffer specs).
    static func body(_ buffers: [[UInt8]]) -> ([UInt8], [(Int, Int)]) {
        var body: [UInt8] = []
        var specs: [(Int, Int)] = []
        for buf in buffers {
            specs.append((body.count, buf.count))
            body += buf
            while body.count % 8 != 0 { body.append(0) }
        }
        return (body, specs)
    }

    /// A RecordBatch message with its body.
    static func recordBatch(length: Int, nodes: [(Int, Int)], buffers: [[UInt8]]) -> [UInt8] {
        let (body, specs) = body(buffers)
        return message(headerType: 3, bodyLength: body.count) {
            $0.recordBatch(length: length, nodes: nodes, buffers: specs)
        }
            + body
    }

    /// A DictionaryBatch message with its body.
    static func dictionaryBatch(
        id: Int64, isDelta: Bool, length: Int, nodes: [(Int, Int)], buffers: [[UInt8]]
    ) -> [UInt8] {
        let (body, specs) = body(buffers)
        return message(headerType: 2, bodyLength: body.count) { m in
            let vt = m.b.count
            for v: UInt16 in [10, 24, 8, 4, 16] { m.put(v) }
            m.pad(to: 8)
            let t = m.b.count
            m.put(Int32(t - vt))
            m.put(UInt32(0))  // data, patched
            m.put(id)
            m.put(UInt8(isDelta ? 1 : 0))
            m.pad(to: 8)
            let rb = m.recordBatch(length: length, nodes: nodes, buffers: specs)
            m.patch(t + 4, UInt32(rb - (t + 4)))
            return t
        } + body
    }

    static let eos: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]

    /// The schema message (framing included) at the start of a golden stream.
    static func schemaMessage(of golden: [UInt8]) -> [UInt8] {
        let size = golden[4..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        return Array(golden[..<(8 + size)])
    }

    /// Replaces the type tag of the first field of a schema message.
    static func patchFirstFieldType(_ schema: [UInt8], tag: UInt8) throws -> [UInt8] {
        var out = schema
        let at = try schema.withUnsafeBytes { raw -> Int in
            let meta = UnsafeRawBufferPointer(rebasing: raw[8...])
            let message = try FBTable.root(meta, base: 8)
            let fields = try message.table(2)!.tables(1)
            return try fields[0].fieldPos(2, size: 1)! + 8
        }
        out[at] = tag
        return out
    }

    static func le<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    }

    static func utf8(_ strings: [String]) -> (offsets: [UInt8], data: [UInt8]) {
        var offsets: [Int32] = [0]
        var data: [UInt8] = []
        for s in strings {
            data += Array(s.utf8)
            offsets.append(Int32(data.count))
        }
        return (le(offsets), data)
    }
}
