/// Walks the Arrow IPC *message framing* of a decompressed `ArrowMsg` payload without decoding
/// the flatbuffers beyond the two `Message` fields the framing needs (`header_type`, `bodyLength`).
///
/// Expected shape (rrd-format §8): a Schema message, any DictionaryBatch messages, exactly one
/// RecordBatch, then the end-of-stream marker `FF FF FF FF 00 00 00 00` and no trailing bytes.
/// Each message: continuation `FF FF FF FF`, int32 LE metadata size, the metadata, then the body.
public enum IPCFraming {
    /// One encapsulated IPC message found by ``check(_:)``.
    public struct Entry: Hashable, Sendable {
        /// Position of the continuation marker inside the payload.
        public var offset: Int
        /// `Message.header_type`: 1 Schema, 2 DictionaryBatch, 3 RecordBatch.
        public var headerType: UInt8
        /// Size of the flatbuffer metadata (padding included) after the 8-byte prefix.
        public var metadataSize: Int
        /// `Message.bodyLength`: bytes of body after the metadata.
        public var bodyLength: Int
        /// `RecordBatch.length` (rows) for a RecordBatch message, else `nil`.
        public var rowCount: Int64?
    }

    /// Checks the framing and returns the messages found.
    ///
    /// - Throws: ``RRDError/Code/badPayload`` whose `offset` is the position inside `ipc` and whose
    ///   text says what was expected and found (`source` is empty: the caller adds context).
    @discardableResult
    public static func check(_ ipc: UnsafeRawBufferPointer) throws(RRDError) -> [Entry] {
        var entries: [Entry] = []
        var pos = 0
        let n = ipc.count
        while true {
            guard n - pos >= 8 else {
                throw fail(pos, "expected an 8-byte message prefix or end-of-stream marker, found \(n - pos) bytes")
            }
            let marker = UInt32(littleEndian: ipc.loadUnaligned(fromByteOffset: pos, as: UInt32.self))
            guard marker == 0xFFFF_FFFF else {
                throw fail(pos, "expected continuation marker FF FF FF FF, found \(hex32(marker))")
            }
            let size = Int32(littleEndian: ipc.loadUnaligned(fromByteOffset: pos + 4, as: Int32.self))
            if size == 0 {
                // End of stream.
                guard entries.contains(where: { $0.headerType == 3 }) else {
                    throw fail(pos, "end-of-stream marker before any RecordBatch message")
                }
                guard pos + 8 == n else {
                    throw fail(pos + 8, "expected nothing after the end-of-stream marker, found \(n - pos - 8) bytes")
                }
                return entries
            }
            guard size > 0, Int(size) <= n - pos - 8 else {
                throw fail(pos + 4, "metadata size \(size) does not fit in the \(n - pos - 8) remaining bytes")
            }
            let metaStart = pos + 8
            let meta = UnsafeRawBufferPointer(rebasing: ipc[metaStart..<(metaStart + Int(size))])
            let (headerType, body, rows) = try messageFields(meta, at: metaStart)
            guard body >= 0, body <= Int64(n - metaStart - Int(size)) else {
                throw fail(
                    metaStart, "body length \(body) does not fit in the \(n - metaStart - Int(size)) remaining bytes")
            }
            switch headerType {
            case 1:
                guard entries.isEmpty else { throw fail(pos, "unexpected second Schema message") }
            case 2, 3:
                guard !entries.isEmpty else {
                    throw fail(pos, "expected a Schema message first, found header type \(headerType)")
                }
                guard !entries.contains(where: { $0.headerType == 3 }) else {
                    throw fail(
                        pos, "expected the end-of-stream marker after the RecordBatch, found header type \(headerType)")
                }
            default:
                throw fail(pos, "unknown Message.header_type \(headerType)")
            }
            entries.append(
                Entry(
                    offset: pos, headerType: headerType, metadataSize: Int(size), bodyLength: Int(body), rowCount: rows)
            )
            pos = metaStart + Int(size) + Int(body)
        }
    }

    private static func fail(_ at: Int, _ text: String) -> RRDError {
        RRDError(.badPayload, source: "", offset: UInt64(at), "Arrow IPC framing at payload byte \(at): \(text)")
    }

    /// Reads `Message.header_type` (slot 1), `Message.bodyLength` (slot 3) and, for a RecordBatch,
    /// `RecordBatch.length` (slot 0 of the `header` table, slot 2) from a flatbuffer.
    private static func messageFields(
        _ m: UnsafeRawBufferPointer, at base: Int
    ) throws(RRDError) -> (UInt8, Int64, Int64?) {
        guard m.count >= 8 else { throw fail(base, "metadata of \(m.count) bytes is too small for a flatbuffer") }
        let root = Int(UInt32(littleEndian: m.loadUnaligned(as: UInt32.self)))
        let message = try table(m, at: root, base)
        var headerType: UInt8 = 0
        if let o = try message.field(1, size: 1) { headerType = m[o] }
        var body: Int64 = 0
        if let o = try message.field(3, size: 8) {
            body = Int64(littleEndian: m.loadUnaligned(fromByteOffset: o, as: Int64.self))
        }
        var rows: Int64?
        if headerType == 3, let o = try message.field(2, size: 4) {
            let target = o + Int(UInt32(littleEndian: m.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
            let batch = try table(m, at: target, base)
            rows = 0
            if let l = try batch.field(0, size: 8) {
                rows = Int64(littleEndian: m.loadUnaligned(fromByteOffset: l, as: Int64.self))
            }
        }
        return (headerType, body, rows)
    }

    /// A flatbuffer table located and bounds-checked inside `m`.
    private struct Table {
        let position: Int
        let vtable: Int
        let vtableSize: Int
        let tableSize: Int
        let base: Int
        let buffer: UnsafeRawBufferPointer

        /// The absolute position of field `slot` (of `size` bytes), or `nil` when absent.
        func field(_ slot: Int, size: Int) throws(RRDError) -> Int? {
            let at = 4 + 2 * slot
            guard at + 2 <= vtableSize else { return nil }
            let o = Int(UInt16(littleEndian: buffer.loadUnaligned(fromByteOffset: vtable + at, as: UInt16.self)))
            if o == 0 { return nil }
            guard o + size <= tableSize else {
                throw IPCFraming.fail(
                    base + vtable, "flatbuffer field \(slot) lies outside its \(tableSize)-byte table")
            }
            return position + o
        }
    }

    private static func table(
        _ m: UnsafeRawBufferPointer, at position: Int, _ base: Int
    ) throws(RRDError) -> Table {
        guard position >= 0, position <= m.count - 4 else {
            throw fail(base, "flatbuffer table offset \(position) is outside the \(m.count)-byte metadata")
        }
        let vtable =
            Int64(position) - Int64(Int32(littleEndian: m.loadUnaligned(fromByteOffset: position, as: Int32.self)))
        guard vtable >= 0, vtable <= Int64(m.count - 4) else {
            throw fail(base + position, "flatbuffer vtable offset \(vtable) is outside the metadata")
        }
        let vt = Int(vtable)
        let vtSize = Int(UInt16(littleEndian: m.loadUnaligned(fromByteOffset: vt, as: UInt16.self)))
        let tableSize = Int(UInt16(littleEndian: m.loadUnaligned(fromByteOffset: vt + 2, as: UInt16.self)))
        guard vtSize >= 4, vtSize % 2 == 0, vt + vtSize <= m.count, tableSize >= 4, position + tableSize <= m.count
        else {
            throw fail(
                base + vt, "flatbuffer vtable (size \(vtSize), table size \(tableSize)) does not fit in the metadata")
        }
        return Table(position: position, vtable: vt, vtableSize: vtSize, tableSize: tableSize, base: base, buffer: m)
    }
}
