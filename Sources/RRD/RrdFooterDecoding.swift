#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import IngestCore

/// One `RrdManifest` of an End message's `RrdFooter`, its Arrow parts still encoded (slices of the
/// footer payload).
public struct EncodedManifest: Sendable {
    /// The store it indexes.
    public var storeId: StoreId
    /// `sorbet_schema.arrow_schema`: an Arrow IPC stream with the store's schema.
    public var sorbetSchema: ByteSlice
    /// `sorbet_schema_sha256`.
    public var sorbetSchemaSHA256: ByteSlice
    /// `data.payload`: the Arrow IPC stream of the per-chunk record batch, compressed per `dataCompression`.
    public var data: ByteSlice
    /// How ``data`` is compressed (`data.compression`).
    public var dataCompression: PayloadCompression
    /// The size in bytes ``data`` must decompress to (`data.uncompressed_size`).
    public var dataUncompressedSize: UInt64

    /// The data stream, decompressed (at most `maxSize` bytes).
    /// - Throws: ``RRDError/Code/decompression``, ``RRDError/Code/tooLarge``, ``RRDError/Code/badPayload``.
    public func decompressedData(maxSize: UInt64 = 1 << 31) throws(RRDError) -> ByteSlice {
        let msg = ArrowMsg(
            storeId: storeId, compression: dataCompression, uncompressedSize: dataUncompressedSize, encoding: 1,
            payload: data, chunkId: nil, isStatic: nil)
        return try msg.decompressedPayload(maxSize: maxSize)
    }
}

extension MessageDecoding {
    /// Decodes an End message's payload, `RrdFooter { repeated RrdManifest manifests = 1 }`.
    /// - Throws: ``RRDError/Code/badProtobuf``.
    public static func decodeRrdFooter(_ payload: ByteSlice, source: String = "", offset: UInt64 = 0) throws(RRDError)
        -> [EncodedManifest]
    {
        do {
            return try payload.withUnsafeBytes { (b) throws(ProtobufError) -> [EncodedManifest] in
                var r = ProtobufReader(b)
                var out: [EncodedManifest] = []
                while let (field, wire) = try r.readTag() {
                    guard field == 1 else {
                        try r.skip(wire, field: field)
                        continue
                    }
                    try r.expect(wire, .lengthDelimited, field: field, in: "RrdFooter")
                    let range = try r.readLengthDelimited()
                    var m = ProtobufReader(UnsafeRawBufferPointer(rebasing: b[range]), base: range.lowerBound)
                    out.append(try decodeManifest(&m, payload.slice(range)))
                }
                return out
            }
        } catch {
            throw RRDError(
                .badProtobuf, source: source, offset: offset,
                "RrdFooter (\(payload.count) bytes) is not a valid protobuf message: \(error.message) at payload byte \(error.position)")
        }
    }

    static func decodeManifest(_ r: inout ProtobufReader, _ slice: ByteSlice) throws(ProtobufError) -> EncodedManifest {
        var storeId = emptyStoreId
        var hasApplicationId = false
        let empty = ByteSlice(copying: [])
        var m = EncodedManifest(
            storeId: storeId, sorbetSchema: empty, sorbetSchemaSHA256: empty, data: empty, dataCompression: .unspecified,
            dataUncompressedSize: 0)
        while let (field, wire) = try r.readTag() {
            switch field {
            case 1:
                try r.expect(wire, .lengthDelimited, field: field, in: "RrdManifest")
                var sub = try r.readMessage()
                try decodeStoreId(&sub, into: &storeId, hasApplicationId: &hasApplicationId)
            case 2:
                try r.expect(wire, .lengthDelimited, field: field, in: "RrdManifest")
                let range = try r.readLengthDelimited()
                var sub = ProtobufReader(UnsafeRawBufferPointer(rebasing: r.bytes[range]), base: range.lowerBound)
                while let (f, w) = try sub.readTag() {
                    if f == 1 {
                        try sub.expect(w, .lengthDelimited, field: f, in: "Schema")
                        let inner = try sub.readLengthDelimited()
                        m.sorbetSchema = slice.slice((range.lowerBound + inner.lowerBound)..<(range.lowerBound + inner.upperBound))
                    } else {
                        try sub.skip(w, field: f)
                    }
                }
            case 3:
                try r.expect(wire, .lengthDelimited, field: field, in: "RrdManifest")
                m.sorbetSchemaSHA256 = slice.slice(try r.readLengthDelimited())
            case 4:
                try r.expect(wire, .lengthDelimited, field: field, in: "RrdManifest")
                let range = try r.readLengthDelimited()
                var sub = ProtobufReader(UnsafeRawBufferPointer(rebasing: r.bytes[range]), base: range.lowerBound)
                while let (f, w) = try sub.readTag() {
                    switch f {
                    case 2:
                        try sub.expect(w, .lengthDelimited, field: f, in: "DataframePart")
                        let inner = try sub.readLengthDelimited()
                        m.data = slice.slice((range.lowerBound + inner.lowerBound)..<(range.lowerBound + inner.upperBound))
                    case 3:
                        try sub.expect(w, .varint, field: f, in: "DataframePart")
                        m.dataCompression = PayloadCompression(rawValue: try sub.readVarint())
                    case 4:
                        try sub.expect(w, .varint, field: f, in: "DataframePart")
                        m.dataUncompressedSize = try sub.readVarint()
                    default:
                        try sub.skip(w, field: f)
                    }
                }
            default:
                try r.skip(wire, field: field)
            }
        }
        m.storeId = storeId
        return m
    }
}

/// The footer at the end of an RRD file: its 32-byte stream footer and the End payload it points at,
/// read without reading the rest of the file.
public struct TrailingFooter: Sendable {
    /// The End payload (the `RrdFooter`).
    public var payload: ByteSlice
    /// Its offset in the file.
    public var payloadOffset: UInt64
    /// The file's size.
    public var fileSize: UInt64

    /// Reads the footer of the regular file at `path` when the file is one stream that ends with an
    /// End message and a stream footer whose checksum matches; nil otherwise (no footer, a
    /// concatenation of streams, a mismatched checksum: callers then read the whole file).
    /// - Throws: ``RRDError/Code/io`` when the file cannot be read.
    public static func read(path: String, maxPayload: UInt64 = 1 << 30) throws(RRDError) -> TrailingFooter? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw RRDError(.io, source: path, offset: 0, "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        let size = UInt64(st.st_size)
        guard size >= UInt64(StreamHeader.size + 16 + StreamFooterInfo.size) else { return nil }
        func pread(_ count: Int, at offset: UInt64) throws(RRDError) -> ByteStorage {
            try ByteStorage(count: count, alignment: 16) { (dst) throws(RRDError) in
                var done = 0
                while done < count {
                    let n = Glibc.pread(fd, dst.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else {
                        throw RRDError(.io, source: path, offset: offset, "read failed: \(String(cString: strerror(errno)))")
                    }
                    done += n
                }
            }
        }
        let tail = try pread(StreamFooterInfo.size, at: size - UInt64(StreamFooterInfo.size))
        let (start, length, crc, magicOK, entries) = tail.withUnsafeBytes { b in
            (
                UInt64(littleEndian: b.loadUnaligned(as: UInt64.self)),
                UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 16, as: UInt32.self)),
                Array(b[20..<28]) == Array("RRF2FOOT".utf8),
                UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 28, as: UInt32.self))
            )
        }
        // One stream starting at byte 0: the footer's offsets are then file offsets, and its End
        // payload ends right before the stream footer.
        guard magicOK, entries == 1, length <= maxPayload, start >= 16 + UInt64(StreamHeader.size),
            start + length + UInt64(StreamFooterInfo.size) == size
        else { return nil }
        let head = try pread(16, at: start - 16)
        let (kind, declared) = head.withUnsafeBytes {
            (UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)), UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
        guard kind == MessageKind.end.rawValue, declared == length else { return nil }
        let payload = ByteSlice(try pread(Int(length), at: start))
        guard payload.withUnsafeBytes({ XXHash32.hash($0, seed: StreamFooterInfo.checksumSeed) }) == crc else { return nil }
        return TrailingFooter(payload: payload, payloadOffset: start, fileSize: size)
    }
}
