#if canImport(Glibc)
import Glibc
#endif

/// A bounds-checked reader of one flatbuffer table (our own, just what Arrow's `Message.fbs` and
/// `Schema.fbs` need). It lives only inside a `withUnsafeBytes` closure over the metadata bytes.
///
/// Every offset read from the input is checked against the buffer before use; a bad offset throws
/// ``ArrowError/Code/malformed`` with the byte position (relative to `base`, the metadata start in the stream)
/// of the field or offset that is wrong, so an error's position always lies inside the metadata.
struct FBTable {
    let buf: UnsafeRawBufferPointer
    /// Offset of this table in `buf`.
    let pos: Int
    /// Offset of the vtable in `buf` and its size in bytes.
    let vt: Int
    let vtSize: Int
    /// Stream offset of `buf[0]`, for error messages.
    let base: Int

    /// The root table: a uoffset at byte 0.
    static func root(_ buf: UnsafeRawBufferPointer, base: Int) throws(ArrowError) -> FBTable {
        let off = try FBTable.u32(buf, 0, base)
        return try FBTable(buf, at: Int(off), base: base, referencedAt: 0)
    }

    /// The table at `pos`, whose offset was read at `ref` (for the error position; `pos` when nil).
    @inline(__always)
    init(_ buf: UnsafeRawBufferPointer, at pos: Int, base: Int, referencedAt ref: Int? = nil) throws(ArrowError) {
        self.buf = buf
        self.base = base
        guard pos >= 0, pos <= buf.count - 4 else {
            throw ArrowError(
                .malformed, offset: base + (ref ?? pos),
                "flatbuffer table offset \(pos) outside the \(buf.count)-byte metadata")
        }
        let soff = Int(Int32(bitPattern: UInt32(littleEndian: buf.loadUnaligned(fromByteOffset: pos, as: UInt32.self))))
        let vt = pos - soff
        guard vt >= 0, vt <= buf.count - 4 else {
            throw ArrowError(
                .malformed, offset: base + pos, "flatbuffer vtable offset \(vt) outside the \(buf.count)-byte metadata")
        }
        let size = Int(UInt16(littleEndian: buf.loadUnaligned(fromByteOffset: vt, as: UInt16.self)))
        guard size >= 4, size % 2 == 0, vt + size <= buf.count else {
            throw ArrowError(.malformed, offset: base + vt, "flatbuffer vtable of \(size) bytes does not fit")
        }
        self.pos = pos
        self.vt = vt
        self.vtSize = size
    }

    @inline(__always)
    static func u32(_ buf: UnsafeRawBufferPointer, _ at: Int, _ base: Int) throws(ArrowError) -> UInt32 {
        guard at >= 0, at <= buf.count - 4 else {
            throw ArrowError(.truncated, offset: base + at, "flatbuffer needs 4 bytes at \(at) of \(buf.count)")
        }
        return UInt32(littleEndian: buf.loadUnaligned(fromByteOffset: at, as: UInt32.self))
    }

    /// Absolute position of field `slot`'s data, or nil when absent.
    @inline(__always)
    func fieldPos(_ slot: Int, size: Int) throws(ArrowError) -> Int? {
        let entry = 4 + 2 * slot
        guard entry + 2 <= vtSize else { return nil }
        let rel = Int(UInt16(littleEndian: buf.loadUnaligned(fromByteOffset: vt + entry, as: UInt16.self)))
        if rel == 0 { return nil }
        let p = pos + rel
        guard p + size <= buf.count else {
            throw ArrowError(
                .truncated, offset: base + vt + entry,
                "flatbuffer field \(slot) (\(size) bytes at \(p)) runs past the \(buf.count)-byte metadata")
        }
        return p
    }

    func int64(_ slot: Int, default d: Int64 = 0) throws(ArrowError) -> Int64 {
        guard let p = try fieldPos(slot, size: 8) else { return d }
        return Int64(littleEndian: buf.loadUnaligned(fromByteOffset: p, as: Int64.self))
    }

    func int32(_ slot: Int, default d: Int32 = 0) throws(ArrowError) -> Int32 {
        guard let p = try fieldPos(slot, size: 4) else { return d }
        return Int32(littleEndian: buf.loadUnaligned(fromByteOffset: p, as: Int32.self))
    }

    func int16(_ slot: Int, default d: Int16 = 0) throws(ArrowError) -> Int16 {
        guard let p = try fieldPos(slot, size: 2) else { return d }
        return Int16(littleEndian: buf.loadUnaligned(fromByteOffset: p, as: Int16.self))
    }

    func uint8(_ slot: Int, default d: UInt8 = 0) throws(ArrowError) -> UInt8 {
        guard let p = try fieldPos(slot, size: 1) else { return d }
        return buf[p]
    }

    func bool(_ slot: Int, default d: Bool = false) throws(ArrowError) -> Bool {
        guard let p = try fieldPos(slot, size: 1) else { return d }
        return buf[p] != 0
    }

    /// Follows the uoffset stored in field `slot`.
    @inline(__always)
    private func target(_ slot: Int) throws(ArrowError) -> Int? {
        guard let p = try fieldPos(slot, size: 4) else { return nil }
        let t = p + Int(try FBTable.u32(buf, p, base))
        guard t < buf.count else {
            throw ArrowError(
                .malformed, offset: base + p, "flatbuffer offset in field \(slot) points past the metadata")
        }
        return t
    }

    func table(_ slot: Int) throws(ArrowError) -> FBTable? {
        guard let t = try target(slot) else { return nil }
        return try FBTable(buf, at: t, base: base)
    }

    func string(_ slot: Int) throws(ArrowError) -> String? {
        guard let t = try target(slot) else { return nil }
        return try FBTable.string(buf, at: t, base: base)
    }

    static func string(_ buf: UnsafeRawBufferPointer, at t: Int, base: Int) throws(ArrowError) -> String {
        let n = Int(try u32(buf, t, base))
        guard n <= buf.count - t - 4 else {
            throw ArrowError(.truncated, offset: base + t, "flatbuffer string of \(n) bytes runs past the metadata")
        }
        let bytes = UnsafeRawBufferPointer(rebasing: buf[(t + 4)..<(t + 4 + n)])
        var ascii = true
        for b in bytes where b >= 0x80 {
            ascii = false
            break
        }
        // ASCII needs no validation (the common case: keys, names, ids); the validating initializer
        // is generic and showed in the small-chunk profile.
        if ascii {
            return String(unsafeUninitializedCapacity: n) { dst in
                if n > 0 { UnsafeMutableRawBufferPointer(dst).copyMemory(from: bytes) }
                return n
            }
        }
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw ArrowError(.malformed, offset: base + t, "flatbuffer string is not valid UTF-8")
        }
        return s
    }

    /// A vector in field `slot`: (position of first element, count), checked for `elementSize`.
    @inline(__always)
    func vector(_ slot: Int, elementSize: Int) throws(ArrowError) -> (start: Int, count: Int)? {
        guard let t = try target(slot) else { return nil }
        let n = Int(try FBTable.u32(buf, t, base))
        guard n <= (buf.count - t - 4) / elementSize else {
            throw ArrowError(
                .truncated, offset: base + t, "flatbuffer vector of \(n)×\(elementSize) bytes runs past the metadata")
        }
        return (t + 4, n)
    }

    /// The tables of a vector of tables.
    func tables(_ slot: Int) throws(ArrowError) -> [FBTable] {
        guard let (start, n) = try vector(slot, elementSize: 4) else { return [] }
        var out: [FBTable] = []
        out.reserveCapacity(n)
        for i in 0..<n {
            let p = start + 4 * i
            let t = p + Int(try FBTable.u32(buf, p, base))
            out.append(try FBTable(buf, at: t, base: base, referencedAt: p))
        }
        return out
    }

    func int64Vector(_ slot: Int) throws(ArrowError) -> [Int64] {
        guard let (start, n) = try vector(slot, elementSize: 8) else { return [] }
        var out: [Int64] = []
        out.reserveCapacity(n)
        for i in 0..<n {
            out.append(Int64(littleEndian: buf.loadUnaligned(fromByteOffset: start + 8 * i, as: Int64.self)))
        }
        return out
    }

    func int32Vector(_ slot: Int) throws(ArrowError) -> [Int32]? {
        guard let (start, n) = try vector(slot, elementSize: 4) else { return nil }
        var out: [Int32] = []
        out.reserveCapacity(n)
        for i in 0..<n {
            out.append(Int32(littleEndian: buf.loadUnaligned(fromByteOffset: start + 4 * i, as: Int32.self)))
        }
        return out
    }

    /// Calls `body` with each table of a vector of tables, without building an array.
    func forEachTable(_ slot: Int, _ body: (FBTable) throws(ArrowError) -> Void) throws(ArrowError) {
        guard let (start, n) = try vector(slot, elementSize: 4) else { return }
        for i in 0..<n {
            let p = start + 4 * i
            let t = p + Int(try FBTable.u32(buf, p, base))
            try body(try FBTable(buf, at: t, base: base, referencedAt: p))
        }
    }

    /// The bytes (in `buf`) of the string that the uoffset at `p` points to, checked to lie in the metadata.
    @inline(__always)
    private func stringBytes(at p: Int) throws(ArrowError) -> Range<Int> {
        let t = p + Int(try FBTable.u32(buf, p, base))
        guard t <= buf.count - 4 else {
            throw ArrowError(
                .malformed, offset: base + p, "flatbuffer string offset \(t) outside the \(buf.count)-byte metadata")
        }
        let n = Int(try FBTable.u32(buf, t, base))
        guard n <= buf.count - t - 4 else {
            throw ArrowError(.truncated, offset: base + t, "flatbuffer string of \(n) bytes runs past the metadata")
        }
        return (t + 4)..<(t + 4 + n)
    }

    /// Checks every key and value string of a `[KeyValue]` vector (bounds and UTF-8, as ``keyValues(_:)``
    /// would) without building strings, and appends to `out` the byte ranges (in `buf`) of the value
    /// strings, length prefix included, in ascending order. Calls `entry` with the bytes of each
    /// checked key and value in vector order (an absent key or value is empty), so a caller can read
    /// the metadata in the same pass.
    func keyValueValueRanges(
        _ slot: Int, into out: inout [Range<Int>],
        entry: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void
    ) throws(ArrowError) {
        out.removeAll(keepingCapacity: true)
        let empty = UnsafeRawBufferPointer(start: buf.baseAddress, count: 0)
        try forEachTable(slot) { (kv) throws(ArrowError) in
            var key = empty
            if let p = try kv.fieldPos(0, size: 4) {
                let r = try stringBytes(at: p)
                try checkUTF8(r)
                key = UnsafeRawBufferPointer(rebasing: buf[r])
            }
            guard let p = try kv.fieldPos(1, size: 4) else {
                entry(key, empty)
                return
            }
            let r = try stringBytes(at: p)
            try checkUTF8(r)
            out.append((r.lowerBound - 4)..<r.upperBound)
            entry(key, UnsafeRawBufferPointer(rebasing: buf[r]))
        }
        var ordered = true
        for k in out.indices.dropFirst() where out[k].lowerBound < out[k - 1].lowerBound { ordered = false }
        if !ordered { out.sort { $0.lowerBound < $1.lowerBound } }
    }

    private func checkUTF8(_ r: Range<Int>) throws(ArrowError) {
        guard Self.isValidUTF8(UnsafeRawBufferPointer(rebasing: buf[r])) else {
            throw ArrowError(.malformed, offset: base + r.lowerBound - 4, "flatbuffer string is not valid UTF-8")
        }
    }

    /// Whether `bytes` are valid UTF-8 (ASCII, the common case, checked 8 bytes at a time).
    static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        // ASCII needs no validation: test 8 bytes at a time for a high bit.
        var i = 0
        var high: UInt64 = 0
        while i + 8 <= bytes.count {
            high |= bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < bytes.count {
            high |= UInt64(bytes[i])
            i += 1
        }
        if high & 0x8080_8080_8080_8080 == 0 { return true }
        return String(validating: bytes, as: UTF8.self) != nil
    }

    /// Calls `body` with the byte ranges (in `buf`) of each key and value of a `[KeyValue]` vector, in
    /// order, without building strings (an absent key or value is empty).
    func forEachKeyValue(_ slot: Int, _ body: (Range<Int>, Range<Int>) -> Void) throws(ArrowError) {
        guard let (start, n) = try vector(slot, elementSize: 4) else { return }
        for i in 0..<n {
            let p = start + 4 * i
            let kv = try FBTable(buf, at: p + Int(try FBTable.u32(buf, p, base)), base: base, referencedAt: p)
            let k = try kv.fieldPos(0, size: 4).map { (q) throws(ArrowError) in try stringBytes(at: q) } ?? 0..<0
            let v = try kv.fieldPos(1, size: 4).map { (q) throws(ArrowError) in try stringBytes(at: q) } ?? 0..<0
            body(k, v)
        }
    }

    /// The bytes (in `buf`) of the value of the first entry of a `[KeyValue]` vector whose key is
    /// `key`, without building strings; nil when absent (an entry without a value has an empty one).
    func keyValueValue(_ slot: Int, key: UnsafeRawBufferPointer) throws(ArrowError) -> Range<Int>? {
        guard let (start, n) = try vector(slot, elementSize: 4) else { return nil }
        for i in 0..<n {
            let p = start + 4 * i
            let kv = try FBTable(buf, at: p + Int(try FBTable.u32(buf, p, base)), base: base, referencedAt: p)
            let k = try kv.fieldPos(0, size: 4).map { (q) throws(ArrowError) in try stringBytes(at: q) } ?? 0..<0
            guard k.count == key.count,
                k.isEmpty || memcmp(buf.baseAddress! + k.lowerBound, key.baseAddress!, k.count) == 0
            else { continue }
            guard let q = try kv.fieldPos(1, size: 4) else { return 0..<0 }
            return try stringBytes(at: q)
        }
        return nil
    }

    /// A `[KeyValue]` vector as ``KeyValue``s in order.
    func keyValues(_ slot: Int) throws(ArrowError) -> [KeyValue] {
        var out: [KeyValue] = []
        if let (_, n) = try vector(slot, elementSize: 4) { out.reserveCapacity(n) }
        try forEachTable(slot) { (kv) throws(ArrowError) in
            out.append(KeyValue(key: try kv.string(0) ?? "", value: try kv.string(1) ?? ""))
        }
        return out
    }
}
