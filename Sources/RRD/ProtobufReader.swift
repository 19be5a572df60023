#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A problem found while decoding a protobuf payload: a position inside the payload and a text.
///
/// Internal: the stream decoder turns it into an ``RRDError`` carrying the message's file offset.
struct ProtobufError: Error {
    /// Byte position inside the payload being decoded.
    var position: Int
    var message: String

    init(_ position: Int, _ message: String) {
        self.position = position
        self.message = message
    }
}

/// The protobuf wire types (groups are rejected: proto3 has none).
enum WireType: UInt8 {
    case varint = 0
    case fixed64 = 1
    case lengthDelimited = 2
    case startGroup = 3
    case endGroup = 4
    case fixed32 = 5
}

/// A bounds-checked cursor over a protobuf message lent for the duration of a closure.
///
/// Positions are relative to the start of `bytes`; `base` is added to every reported position so
/// that errors inside nested messages still point into the outermost payload.
struct ProtobufReader {
    let bytes: UnsafeRawBufferPointer
    let base: Int
    private(set) var position = 0

    init(_ bytes: UnsafeRawBufferPointer, base: Int = 0) {
        self.bytes = bytes
        self.base = base
    }

    var isAtEnd: Bool { position >= bytes.count }

    /// The next field's number and wire type, or `nil` at the end of the message.
    @inline(__always)
    mutating func readTag() throws(ProtobufError) -> (field: UInt64, wire: WireType)? {
        if isAtEnd { return nil }
        // Fast path: a one-byte key (fields 1...15, any known wire type; errors take the slow path).
        let first = bytes[position]
        if first < 0x80 && first >= 8, let wire = WireType(rawValue: first & 7) {
            position += 1
            return (UInt64(first >> 3), wire)
        }
        return try readTagSlowly()
    }

    private mutating func readTagSlowly() throws(ProtobufError) -> (field: UInt64, wire: WireType)? {
        let at = position
        let key = try readVarintSlowly()
        let field = key >> 3
        guard field != 0, field <= 0x1FFF_FFFF else {
            throw ProtobufError(base + at, "invalid protobuf field number \(field) (tag \(key))")
        }
        guard let wire = WireType(rawValue: UInt8(key & 7)) else {
            throw ProtobufError(base + at, "invalid protobuf wire type \(key & 7) for field \(field)")
        }
        return (field, wire)
    }

    /// A base-128 varint of at most 10 bytes.
    @inline(__always)
    mutating func readVarint() throws(ProtobufError) -> UInt64 {
        if position < bytes.count {
            let byte = bytes[position]
            if byte < 0x80 {
                position += 1
                return UInt64(byte)
            }
        }
        return try readVarintSlowly()
    }

    private mutating func readVarintSlowly() throws(ProtobufError) -> UInt64 {
        let start = position
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.count else {
                throw ProtobufError(base + start, "truncated varint: input ends after \(position - start) bytes")
            }
            let byte = bytes[position]
            position += 1
            if shift == 63 && byte > 1 {
                throw ProtobufError(base + start, "varint longer than 64 bits")
            }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// A little-endian 64-bit value (wire type 1).
    mutating func readFixed64() throws(ProtobufError) -> UInt64 {
        try need(8, "fixed64")
        let v = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
        position += 8
        return v
    }

    /// A little-endian 32-bit value (wire type 5).
    mutating func readFixed32() throws(ProtobufError) -> UInt32 {
        try need(4, "fixed32")
        let v = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self))
        position += 4
        return v
    }

    /// The range (relative to `bytes`) of a length-delimited field's content.
    @inline(__always)
    mutating func readLengthDelimited() throws(ProtobufError) -> Range<Int> {
        let at = position
        let n = try readVarint()
        guard n <= UInt64(bytes.count - position) else {
            throw ProtobufError(
                base + at, "length-delimited field claims \(n) bytes but only \(bytes.count - position) remain")
        }
        let start = position
        position += Int(n)
        return start..<position
    }

    /// A nested message reader over a length-delimited field.
    mutating func readMessage() throws(ProtobufError) -> ProtobufReader {
        let r = try readLengthDelimited()
        return ProtobufReader(UnsafeRawBufferPointer(rebasing: bytes[r]), base: base + r.lowerBound)
    }

    /// A length-delimited field as validated UTF-8.
    mutating func readString(_ what: String) throws(ProtobufError) -> String {
        let r = try readLengthDelimited()
        guard let s = String(validating: UnsafeRawBufferPointer(rebasing: bytes[r]), as: UTF8.self) else {
            throw ProtobufError(base + r.lowerBound, "\(what) is not valid UTF-8")
        }
        return s
    }

    /// Like ``readString(_:)``, but returns `previous` itself (no allocation, no validation) when the
    /// field holds exactly its bytes: ids repeat message after message.
    mutating func readString(_ what: String, reusing previous: String) throws(ProtobufError) -> String {
        var previous = previous
        let r = try readLengthDelimited()
        let field = UnsafeRawBufferPointer(rebasing: bytes[r])
        let same = previous.utf8.count == field.count
            && previous.withUTF8 { p in field.isEmpty || memcmp(p.baseAddress!, field.baseAddress!, field.count) == 0 }
        if same { return previous }
        guard let s = String(validating: field, as: UTF8.self) else {
            throw ProtobufError(base + r.lowerBound, "\(what) is not valid UTF-8")
        }
        return s
    }

    /// A length-delimited field copied into an array (small values only).
    mutating func readBytes() throws(ProtobufError) -> [UInt8] {
        let r = try readLengthDelimited()
        return Array(UnsafeRawBufferPointer(rebasing: bytes[r]))
    }

    /// Skips a field's value according to its wire type (unknown fields).
    mutating func skip(_ wire: WireType, field: UInt64) throws(ProtobufError) {
        switch wire {
        case .varint: _ = try readVarint()
        case .fixed64: try need(8, "fixed64"); position += 8
        case .fixed32: try need(4, "fixed32"); position += 4
        case .lengthDelimited: _ = try readLengthDelimited()
        case .startGroup, .endGroup:
            throw ProtobufError(base + position, "unsupported protobuf group (field \(field))")
        }
    }

    /// Checks that a known field arrived with the wire type its declaration implies.
    func expect(_ wire: WireType, _ expected: WireType, field: UInt64, in message: String) throws(ProtobufError) {
        guard wire == expected else {
            throw ProtobufError(
                base + position,
                "\(message) field \(field): expected wire type \(expected.rawValue), found \(wire.rawValue)")
        }
    }

    private func need(_ n: Int, _ what: String) throws(ProtobufError) {
        guard bytes.count - position >= n else {
            throw ProtobufError(base + position, "truncated \(what): need \(n) bytes, \(bytes.count - position) remain")
        }
    }
}
