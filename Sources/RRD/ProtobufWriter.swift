import IngestCore

/// Appends protobuf wire-format fields to a byte array (the counterpart of `ProtobufReader`):
/// varints, fixed64, length-delimited fields and nested messages. Proto3 rules are the caller's:
/// write a scalar only when it differs from its default, an `optional` one whenever it is set.
struct ProtobufWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    mutating func varint(_ value: UInt64) {
        bytes.appendVarint(value)
    }

    mutating func tag(_ field: UInt64, _ wire: WireType) { varint(field << 3 | UInt64(wire.rawValue)) }

    /// A varint field (enums, uint64, bool).
    mutating func varintField(_ field: UInt64, _ value: UInt64) {
        tag(field, .varint)
        varint(value)
    }

    mutating func fixed64Field(_ field: UInt64, _ value: UInt64) {
        tag(field, .fixed64)
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    /// A length-delimited field of `count` bytes whose content the caller appends next (or writes
    /// elsewhere: the payload of an `ArrowMsg`).
    mutating func lengthPrefix(_ field: UInt64, count: Int) {
        tag(field, .lengthDelimited)
        varint(UInt64(count))
    }

    mutating func bytesField(_ field: UInt64, _ value: [UInt8]) {
        lengthPrefix(field, count: value.count)
        bytes += value
    }

    mutating func bytesField(_ field: UInt64, _ value: UnsafeRawBufferPointer) {
        lengthPrefix(field, count: value.count)
        bytes += value
    }

    mutating func stringField(_ field: UInt64, _ value: String) {
        var s = value
        s.withUTF8 { bytesField(field, UnsafeRawBufferPointer($0)) }
    }

    /// A nested message field whose content `body` writes.
    mutating func messageField(_ field: UInt64, _ body: (inout ProtobufWriter) -> Void) {
        var inner = ProtobufWriter()
        body(&inner)
        bytesField(field, inner.bytes)
    }

    mutating func append(_ other: [UInt8]) { bytes += other }

    /// Number of bytes a varint of `value` takes.
    static func varintSize(_ value: UInt64) -> Int {
        var n = 1
        var v = value >> 7
        while v != 0 {
            n += 1
            v >>= 7
        }
        return n
    }
}
