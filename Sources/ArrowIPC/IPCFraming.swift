/// Arrow IPC **stream framing**: the one place that knows how encapsulated messages are laid out and
/// what a stream of them must look like. ``ArrowStreamReader`` reads its messages through it, and
/// ``check(_:)`` walks a whole stream with it (what `ingest print`/`stats` run on every chunk), so the
/// two judge the same bytes by the same rules.
///
/// One message: the continuation marker `FF FF FF FF`, an int32 LE metadata size, that many bytes
/// of flatbuffer `Message` (read with `FBTable`, bounds-checked), then `Message.bodyLength` bytes
/// of body. The metadata size `0` is the end-of-stream marker `FF FF FF FF 00 00 00 00`. The
/// pre-0.15 framing without the continuation marker is not accepted (rrd-format §8.1: it does not
/// occur). Writers pad the metadata so that the body starts 8-byte aligned and pad the body to a
/// multiple of 8; neither is required here: every read of the body is an unaligned load, so an
/// unpadded stream reads as it is.
///
/// The stream: a Schema message, any DictionaryBatch messages, one RecordBatch, then the end of the
/// stream: the end-of-stream marker and no byte after it, or the end of the bytes (the Arrow format
/// lets a writer end a stream by closing it). What follows the record batch is checked by
/// ``check(_:)`` and by a fully validating read; a plain read returns the first record batch without
/// looking further, as the reference reader does.
public enum IPCFraming {
    /// One encapsulated IPC message found by ``check(_:)``.
    public struct Entry: Hashable, Sendable {
        /// Position of the continuation marker inside the stream.
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

    /// Walks the framing of a whole stream without decoding the schema or any array: every message's
    /// prefix, metadata flatbuffer (the `Message` table and its header table), body bounds and order,
    /// the record batch's row count, and the end of the stream.
    ///
    /// Whatever ``ArrowStreamReader/read(_:validateFully:)`` accepts with `validateFully`, this
    /// accepts too, with the same row count: both run these rules.
    ///
    /// - Returns: the messages in order; the last is the record batch.
    /// - Throws: ``ArrowError`` (`.truncated`, `.malformed` or `.unsupported`) whose `offset` is the
    ///   position in `ipc` and whose message says what was expected and found.
    @discardableResult
    public static func check(_ ipc: UnsafeRawBufferPointer) throws(ArrowError) -> [Entry] {
        let schema = try schemaMessage(ipc)
        var entries = [Entry(schema, rowCount: nil)]
        var pos = schema.next
        while true {
            let m = try messageAfterSchema(ipc, at: pos)
            guard m.headerType == 3 else {
                entries.append(Entry(m, rowCount: nil))
                pos = m.next
                continue
            }
            entries.append(Entry(m, rowCount: try m.header.int64(0)))
            try checkEnd(ipc, after: m.next)
            return entries
        }
    }

    /// Decodes only the stream's schema message (fields and metadata): no record batch is read,
    /// which makes it cheap next to ``check(_:)`` (what `ingest print`/`stats` use to learn a chunk's
    /// id and kind of columns when its `ArrowMsg` does not say).
    ///
    /// - Throws: ``ArrowError`` for a stream whose first message is not a valid Schema.
    public static func schema(_ ipc: UnsafeRawBufferPointer) throws(ArrowError) -> ArrowSchema {
        try SchemaDecoding.schema(try schemaMessage(ipc).header)
    }

    // MARK: - The rules (internal: the reader's message loop runs them too)

    /// One encapsulated message, its `Message` table read.
    struct Message {
        /// The `header` table (Schema, DictionaryBatch or RecordBatch).
        var header: FBTable
        var headerType: UInt8
        /// `Message.version` (MetadataVersion: 3 is V4, 4 is V5).
        var version: Int16
        /// Position of the continuation marker.
        var start: Int
        /// The flatbuffer metadata (padding included).
        var metaRange: Range<Int>
        var bodyStart: Int
        var bodyLength: Int
        /// Position just after the body: where the next message starts.
        var next: Int
    }

    /// Reads the encapsulated message at `pos`; nil at the end-of-stream marker or at the end of the bytes.
    @inline(__always)
    static func message(_ buf: UnsafeRawBufferPointer, at pos: Int) throws(ArrowError) -> Message? {
        let left = buf.count - pos
        if left == 0 { return nil }
        guard left >= 8 else {
            throw ArrowError(
                .truncated, offset: pos,
                "expected an 8-byte message prefix or end-of-stream marker, found \(left) bytes")
        }
        let marker = UInt32(littleEndian: buf.loadUnaligned(fromByteOffset: pos, as: UInt32.self))
        guard marker == 0xFFFF_FFFF else {
            throw ArrowError(
                .malformed, offset: pos, "expected the continuation marker FF FF FF FF, found \(hexBytes(buf, pos, 4))")
        }
        let size = Int(Int32(littleEndian: buf.loadUnaligned(fromByteOffset: pos + 4, as: Int32.self)))
        if size == 0 { return nil }
        let metaStart = pos + 8
        guard size > 0, size <= left - 8 else {
            throw ArrowError(
                size < 0 ? .malformed : .truncated, offset: pos + 4,
                "metadata size \(size) does not fit in the \(left - 8) bytes after the message prefix")
        }
        let metaRange = metaStart..<(metaStart + size)
        let t = try FBTable.root(UnsafeRawBufferPointer(rebasing: buf[metaRange]), base: metaStart)
        let version = try t.int16(0)
        guard version >= 3 else {
            throw ArrowError(.unsupported, offset: pos, "Arrow metadata version V\(version + 1) is older than V4")
        }
        let headerType = try t.uint8(1)
        guard let header = try t.table(2) else {
            throw ArrowError(.malformed, offset: pos, "IPC message (header type \(headerType)) without a header table")
        }
        let bodyLength = try t.int64(3)
        let bodyStart = metaRange.upperBound
        guard bodyLength >= 0, bodyLength <= Int64(buf.count - bodyStart) else {
            throw ArrowError(
                bodyLength < 0 ? .malformed : .truncated, offset: pos,
                "message body of \(bodyLength) bytes does not fit in the \(buf.count - bodyStart) bytes after its metadata"
            )
        }
        return Message(
            header: header, headerType: headerType, version: version, start: pos, metaRange: metaRange,
            bodyStart: bodyStart, bodyLength: Int(bodyLength), next: bodyStart + Int(bodyLength))
    }

    /// The first message, which must be the Schema.
    @inline(__always)
    static func schemaMessage(_ buf: UnsafeRawBufferPointer) throws(ArrowError) -> Message {
        guard let first = try message(buf, at: 0) else {
            throw ArrowError(.malformed, offset: 0, "IPC stream ends before its schema message")
        }
        guard first.headerType == 1 else {
            throw ArrowError(
                .malformed, offset: 0, "first IPC message has header type \(first.headerType), expected 1 (Schema)")
        }
        return first
    }

    /// A message after the schema: a DictionaryBatch (2) or the RecordBatch (3).
    @inline(__always)
    static func messageAfterSchema(_ buf: UnsafeRawBufferPointer, at pos: Int) throws(ArrowError) -> Message {
        guard let m = try message(buf, at: pos) else {
            throw ArrowError(
                .malformed, offset: pos, "IPC stream has no record batch (end of stream after the schema)")
        }
        switch m.headerType {
        case 2, 3: return m
        case 1: throw ArrowError(.malformed, offset: m.start, "second schema message in one IPC stream")
        default:
            throw ArrowError(
                .unsupported, offset: m.start,
                "IPC message header type \(m.headerType), expected 2 (DictionaryBatch) or 3 (RecordBatch)")
        }
    }

    /// After the record batch (ending at `pos`): the end of the bytes, or the end-of-stream marker
    /// and nothing after it.
    static func checkEnd(_ buf: UnsafeRawBufferPointer, after pos: Int) throws(ArrowError) {
        if let extra = try message(buf, at: pos) {
            throw ArrowError(
                .malformed, offset: pos,
                "expected the end-of-stream marker after the record batch, found a message of header type \(extra.headerType)"
            )
        }
        // `message` found the end of the bytes or the 8-byte marker.
        guard pos == buf.count || pos + 8 == buf.count else {
            throw ArrowError(
                .malformed, offset: pos + 8,
                "expected nothing after the end-of-stream marker, found \(buf.count - pos - 8) bytes")
        }
    }

    /// `count` bytes at `at` as upper-case hex pairs (`FE FF FF FF`).
    private static func hexBytes(_ buf: UnsafeRawBufferPointer, _ at: Int, _ count: Int) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for k in 0..<count {
            if k > 0 { out.append(UInt8(ascii: " ")) }
            out.append(digits[Int(buf[at + k] >> 4)])
            out.append(digits[Int(buf[at + k] & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension IPCFraming.Entry {
    init(_ m: IPCFraming.Message, rowCount: Int64?) {
        self.init(
            offset: m.start, headerType: m.headerType, metadataSize: m.metaRange.count, bodyLength: m.bodyLength,
            rowCount: rowCount)
    }
}
