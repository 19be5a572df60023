import IngestCore

/// The Thrift compact protocol, write side: what Parquet's file metadata and page headers are
/// encoded in.
///
/// Facts of the protocol used here: a field header is one byte, the field-id delta from the previous
/// field of the same struct in the high nibble (1…15) and the type in the low one, or the type byte
/// followed by the zigzag-varint id when the delta does not fit; booleans live in the field header's
/// type (1 true, 2 false); integers are zigzag varints; binary is a varint length and the bytes; a list
/// header is the size in the high nibble (below 15) and the element type, or `0xF_` and a varint size;
/// a struct ends with a 0 byte. Every nested struct starts its field-id deltas from 0 again.
struct ThriftCompactWriter {
    enum FieldType: UInt8 {
        case booleanTrue = 1
        case booleanFalse = 2
        case byte = 3
        case i16 = 4
        case i32 = 5
        case i64 = 6
        case double = 7
        case binary = 8
        case list = 9
        case set = 10
        case map = 11
        case `struct` = 12
    }

    private(set) var bytes: [UInt8] = []
    /// The last field id written in each open struct (innermost last).
    private var lastFieldIds: [Int16] = [0]

    init(reservingCapacity capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    // MARK: Fields

    mutating func field(_ id: Int16, _ value: Int32) {
        header(id, .i32)
        varint(zigzag(Int64(value)))
    }

    mutating func field(_ id: Int16, _ value: Int64) {
        header(id, .i64)
        varint(zigzag(value))
    }

    mutating func field(_ id: Int16, _ value: Int16) {
        header(id, .i16)
        varint(zigzag(Int64(value)))
    }

    mutating func field(_ id: Int16, byte value: Int8) {
        header(id, .byte)
        bytes.append(UInt8(bitPattern: value))
    }

    mutating func field(_ id: Int16, _ value: Bool) {
        header(id, value ? .booleanTrue : .booleanFalse)
    }

    mutating func field(_ id: Int16, _ value: String) {
        header(id, .binary)
        binary(Array(value.utf8))
    }

    mutating func field(_ id: Int16, binary value: [UInt8]) {
        header(id, .binary)
        binary(value)
    }

    /// A struct-valued field; `body` writes its fields; the stop byte is written after it.
    mutating func field(_ id: Int16, struct body: (inout ThriftCompactWriter) -> Void) {
        header(id, .struct)
        structBody(body)
    }

    /// A list-valued field of `count` elements of `element` type; `body` writes exactly the elements
    /// (``element(_:)-…``, ``structElement(_:)``).
    mutating func field(_ id: Int16, list element: FieldType, count: Int, body: (inout ThriftCompactWriter) -> Void) {
        header(id, .list)
        if count < 15 {
            bytes.append(UInt8(count) << 4 | element.rawValue)
        } else {
            bytes.append(0xF0 | element.rawValue)
            varint(UInt64(count))
        }
        body(&self)
    }

    // MARK: List elements

    mutating func element(_ value: Int32) { varint(zigzag(Int64(value))) }

    mutating func element(_ value: String) { binary(Array(value.utf8)) }

    mutating func structElement(_ body: (inout ThriftCompactWriter) -> Void) { structBody(body) }

    /// Ends the outermost struct (the message itself): its stop byte.
    mutating func stop() { bytes.append(0) }

    // MARK: Encoding

    private mutating func structBody(_ body: (inout ThriftCompactWriter) -> Void) {
        lastFieldIds.append(0)
        body(&self)
        bytes.append(0)
        lastFieldIds.removeLast()
    }

    private mutating func header(_ id: Int16, _ type: FieldType) {
        let last = lastFieldIds[lastFieldIds.count - 1]
        let delta = Int(id) - Int(last)
        if delta > 0 && delta <= 15 {
            bytes.append(UInt8(delta) << 4 | type.rawValue)
        } else {
            bytes.append(type.rawValue)
            varint(zigzag(Int64(id)))
        }
        lastFieldIds[lastFieldIds.count - 1] = id
    }

    private mutating func binary(_ value: [UInt8]) {
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    private func zigzag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    mutating func varint(_ value: UInt64) {
        bytes.appendVarint(value)
    }
}
