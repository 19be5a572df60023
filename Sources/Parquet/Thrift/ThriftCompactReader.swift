/// A value of the Thrift compact protocol, as ``ThriftCompactReader`` reads it without a schema.
enum ThriftValue: Hashable, Sendable {
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case binary([UInt8])
    case list([ThriftValue])
    case map([ThriftValue: ThriftValue])
    case `struct`(ThriftStruct)

    var int: Int64? { if case .int(let v) = self { v } else { nil } }
    var bool: Bool? { if case .bool(let v) = self { v } else { nil } }
    var binary: [UInt8]? { if case .binary(let v) = self { v } else { nil } }
    var string: String? { binary.map { String(decoding: $0, as: UTF8.self) } }
    var list: [ThriftValue]? { if case .list(let v) = self { v } else { nil } }
    var `struct`: ThriftStruct? { if case .struct(let v) = self { v } else { nil } }
}

/// A struct's fields by id.
struct ThriftStruct: Hashable, Sendable {
    var fields: [Int16: ThriftValue] = [:]
    subscript(_ id: Int16) -> ThriftValue? { fields[id] }
}

/// The Thrift compact protocol, read side: bounds-checked and depth-limited, for the metadata check of
/// the files we write (and any Parquet footer). Reads a struct into a tree of ``ThriftValue``s.
struct ThriftCompactReader {
    private let bytes: [UInt8]
    private(set) var position: Int
    private let maxDepth = 64

    init(_ bytes: [UInt8], at position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    /// Reads one struct (fields up to its stop byte).
    mutating func readStruct() throws(ParquetError) -> ThriftStruct {
        try readStruct(depth: 0)
    }

    private mutating func readStruct(depth: Int) throws(ParquetError) -> ThriftStruct {
        guard depth < maxDepth else { throw malformed("Thrift structs nested deeper than \(maxDepth)") }
        var result = ThriftStruct()
        var lastId: Int16 = 0
        while true {
            let header = try byte()
            if header == 0 { return result }
            let type = header & 0x0F
            let delta = header >> 4
            let id: Int16
            if delta == 0 {
                let raw = try zigzagVarint()
                guard let v = Int16(exactly: raw) else { throw malformed("Thrift field id \(raw) out of range") }
                id = v
            } else {
                id = lastId &+ Int16(delta)
            }
            lastId = id
            let value: ThriftValue
            switch type {
            case 1: value = .bool(true)
            case 2: value = .bool(false)
            default: value = try readValue(type: type, depth: depth)
            }
            result.fields[id] = value
        }
    }

    private mutating func readValue(type: UInt8, depth: Int) throws(ParquetError) -> ThriftValue {
        switch type {
        case 1, 2:  // a boolean element of a list: one byte
            return .bool(try byte() == 1)
        case 3: return .int(Int64(Int8(bitPattern: try byte())))
        case 4, 5, 6: return .int(try zigzagVarint())
        case 7:
            let raw = try fixed(8)
            var bits: UInt64 = 0
            for (i, b) in raw.enumerated() { bits |= UInt64(b) << (8 * UInt64(i)) }
            return .double(Double(bitPattern: bits))
        case 8:
            let count = try length()
            return .binary(try fixed(count))
        case 9, 10:
            guard depth < maxDepth else { throw malformed("Thrift lists nested deeper than \(maxDepth)") }
            let header = try byte()
            let elementType = header & 0x0F
            var count = Int(header >> 4)
            if count == 15 { count = try length() }
            // Each element takes at least one byte (booleans included): a count beyond the input is damage.
            guard count <= bytes.count - position else {
                throw malformed("Thrift list of \(count) elements exceeds the \(bytes.count - position) bytes left")
            }
            var elements: [ThriftValue] = []
            elements.reserveCapacity(count)
            for _ in 0..<count {
                elements.append(
                    elementType == 12
                        ? .struct(try readStruct(depth: depth + 1)) : try readValue(type: elementType, depth: depth + 1))
            }
            return .list(elements)
        case 11:
            let count = try length()
            guard count > 0 else { return .map([:]) }
            let types = try byte()
            var map: [ThriftValue: ThriftValue] = [:]
            for _ in 0..<count {
                let k = try element(type: types >> 4, depth: depth + 1)
                map[k] = try element(type: types & 0x0F, depth: depth + 1)
            }
            return .map(map)
        case 12: return .struct(try readStruct(depth: depth + 1))
        default: throw malformed("unknown Thrift compact type \(type)")
        }
    }

    private mutating func element(type: UInt8, depth: Int) throws(ParquetError) -> ThriftValue {
        type == 12 ? .struct(try readStruct(depth: depth)) : try readValue(type: type, depth: depth)
    }

    private mutating func byte() throws(ParquetError) -> UInt8 {
        guard position < bytes.count else { throw truncated("a Thrift byte") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func fixed(_ count: Int) throws(ParquetError) -> [UInt8] {
        guard count <= bytes.count - position else { throw truncated("\(count) bytes of a Thrift value") }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    private mutating func length() throws(ParquetError) -> Int {
        let v = try varint()
        guard v <= UInt64(bytes.count) else { throw malformed("Thrift length \(v) exceeds the input") }
        return Int(v)
    }

    private mutating func varint() throws(ParquetError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            guard shift < 64 else { throw malformed("Thrift varint longer than 10 bytes") }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
    }

    private mutating func zigzagVarint() throws(ParquetError) -> Int64 {
        let v = try varint()
        return Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1)
    }

    private func malformed(_ what: String) -> ParquetError {
        ParquetError(.malformed, "at byte \(position): \(what)")
    }

    private func truncated(_ what: String) -> ParquetError {
        ParquetError(.truncated, "at byte \(position): the input ends before \(what)")
    }
}
