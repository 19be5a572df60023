/// The present (non-null) values of one leaf column in one row group, in level order.
public enum ParquetValues: Hashable, Sendable {
    case boolean([Bool])
    case int32([Int32])
    case int64([Int64])
    case float([Float])
    case double([Double])
    /// Variable-length values: value `i` is `data[offsets[i]..<offsets[i + 1]]` (`offsets.count` is one
    /// more than the number of values).
    case byteArray(data: [UInt8], offsets: [Int])
    /// Fixed-length values of `width` bytes each, back to back.
    case fixedLenByteArray(data: [UInt8], width: Int)

    /// The number of values.
    public var count: Int {
        switch self {
        case .boolean(let v): v.count
        case .int32(let v): v.count
        case .int64(let v): v.count
        case .float(let v): v.count
        case .double(let v): v.count
        case .byteArray(_, let offsets): max(offsets.count - 1, 0)
        case .fixedLenByteArray(let data, let width): width == 0 ? 0 : data.count / width
        }
    }

    /// The physical type these values are stored as.
    public var physicalType: ParquetPhysicalType {
        switch self {
        case .boolean: .boolean
        case .int32: .int32
        case .int64: .int64
        case .float: .float
        case .double: .double
        case .byteArray: .byteArray
        case .fixedLenByteArray: .fixedLenByteArray
        }
    }

    /// No values of `type` (`width`: the byte width of fixed-length byte arrays).
    static func empty(_ type: ParquetPhysicalType, width: Int) -> ParquetValues {
        switch type {
        case .boolean: .boolean([])
        case .int32: .int32([])
        case .int64: .int64([])
        case .float: .float([])
        case .double: .double([])
        case .byteArray: .byteArray(data: [], offsets: [0])
        case .fixedLenByteArray: .fixedLenByteArray(data: [], width: width)
        }
    }

    /// The values `range` (indices of values) as their own value list.
    func slice(_ range: Range<Int>) -> ParquetValues {
        switch self {
        case .boolean(let v): .boolean(Array(v[range]))
        case .int32(let v): .int32(Array(v[range]))
        case .int64(let v): .int64(Array(v[range]))
        case .float(let v): .float(Array(v[range]))
        case .double(let v): .double(Array(v[range]))
        case .byteArray(let data, let offsets):
            .byteArray(
                data: Array(data[offsets[range.lowerBound]..<offsets[range.upperBound]]),
                offsets: offsets[range.lowerBound...range.upperBound].map { $0 - offsets[range.lowerBound] })
        case .fixedLenByteArray(let data, let width):
            .fixedLenByteArray(data: Array(data[range.lowerBound * width..<range.upperBound * width]), width: width)
        }
    }

    /// PLAIN encoding: little-endian fixed-width numbers, booleans bit-packed from the least significant
    /// bit, byte arrays as a 4-byte little-endian length and the bytes, fixed-length ones back to back.
    func plainEncoded(into out: inout [UInt8]) {
        switch self {
        case .boolean(let v):
            var byte: UInt8 = 0
            for (i, b) in v.enumerated() {
                if b { byte |= 1 << UInt8(i & 7) }
                if i & 7 == 7 {
                    out.append(byte)
                    byte = 0
                }
            }
            if v.count & 7 != 0 { out.append(byte) }
        case .int32(let v): appendLittleEndian(v, to: &out)
        case .int64(let v): appendLittleEndian(v, to: &out)
        case .float(let v):
            #if _endian(little)
            v.withUnsafeBytes { out.append(contentsOf: $0) }
            #else
            appendLittleEndian(v.map(\.bitPattern), to: &out)
            #endif
        case .double(let v):
            #if _endian(little)
            v.withUnsafeBytes { out.append(contentsOf: $0) }
            #else
            appendLittleEndian(v.map(\.bitPattern), to: &out)
            #endif
        case .byteArray(let data, let offsets):
            out.reserveCapacity(out.count + data.count + 4 * max(offsets.count - 1, 0))
            for i in 0..<max(offsets.count - 1, 0) {
                let length = UInt32(offsets[i + 1] - offsets[i])
                appendLittleEndian(CollectionOfOne(length), to: &out)
                out.append(contentsOf: data[offsets[i]..<offsets[i + 1]])
            }
        case .fixedLenByteArray(let data, _):
            out.append(contentsOf: data)
        }
    }
}

func appendLittleEndian<C: Collection>(_ values: C, to out: inout [UInt8]) where C.Element: FixedWidthInteger {
    #if _endian(little)
    // Contiguous values are their own little-endian bytes: one copy (the PLAIN pages of big columns).
    if values.withContiguousStorageIfAvailable({ out.append(contentsOf: UnsafeRawBufferPointer($0)) }) != nil { return }
    #endif
    let size = MemoryLayout<C.Element>.size
    out.reserveCapacity(out.count + values.count * size)
    for v in values {
        var le = v.littleEndian
        withUnsafeBytes(of: &le) { out.append(contentsOf: $0) }
    }
}
