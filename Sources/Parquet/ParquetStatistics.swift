/// Column statistics of a page or column chunk, as the file metadata carries them for predicate
/// push-down: the smallest and largest value (PLAIN-encoded, byte arrays without their length) in the
/// column's sort order, and the count of nulls.
public struct ParquetStatistics: Hashable, Sendable {
    public var minValue: [UInt8]?
    public var maxValue: [UInt8]?
    public var nullCount: Int64

    /// Byte-array bounds longer than this are left out (a truncated maximum would need to be rounded up).
    static let maxBoundLength = 128

    /// The statistics of `values` with `nulls` nulls, ordered as `logicalType` says: unsigned for
    /// unsigned integers, byte arrays bytewise unsigned; NaN is ignored, a zero minimum is written as
    /// -0 and a zero maximum as +0 (the format's rule). Types whose order this writer does not
    /// implement (decimals and float16 stored as fixed-length byte arrays) get only the null count.
    init(_ values: ParquetValues, nulls: Int, logicalType: ParquetLogicalType?) {
        nullCount = Int64(nulls)
        let unsigned: Bool
        if case .integer(_, let signed) = logicalType { unsigned = !signed } else { unsigned = false }
        switch values {
        case .boolean(let v):
            guard !v.isEmpty else { return }
            let lo = v.contains(false) ? false : true
            let hi = v.contains(true)
            minValue = [lo ? 1 : 0]
            maxValue = [hi ? 1 : 0]
        case .int32(let v):
            guard !v.isEmpty else { return }
            if unsigned {
                let (lo, hi) = Self.bounds(v) { UInt32(bitPattern: $0) }
                minValue = Self.littleEndian(lo)
                maxValue = Self.littleEndian(hi)
            } else {
                let (lo, hi) = Self.bounds(v) { $0 }
                minValue = Self.littleEndian(lo)
                maxValue = Self.littleEndian(hi)
            }
        case .int64(let v):
            guard !v.isEmpty else { return }
            if unsigned {
                let (lo, hi) = Self.bounds(v) { UInt64(bitPattern: $0) }
                minValue = Self.littleEndian(lo)
                maxValue = Self.littleEndian(hi)
            } else {
                let (lo, hi) = Self.bounds(v) { $0 }
                minValue = Self.littleEndian(lo)
                maxValue = Self.littleEndian(hi)
            }
        case .float(let v):
            guard let (lo, hi) = Self.floatBounds(v) else { return }
            minValue = Self.littleEndian(lo.bitPattern)
            maxValue = Self.littleEndian(hi.bitPattern)
        case .double(let v):
            guard let (lo, hi) = Self.floatBounds(v) else { return }
            minValue = Self.littleEndian(lo.bitPattern)
            maxValue = Self.littleEndian(hi.bitPattern)
        case .byteArray(let data, let offsets):
            guard offsets.count > 1 else { return }
            var lo = 0
            var hi = 0
            let value = { (i: Int) in data[offsets[i]..<offsets[i + 1]] }
            for i in 1..<offsets.count - 1 {
                if value(i).lexicographicallyPrecedes(value(lo)) { lo = i }
                if value(hi).lexicographicallyPrecedes(value(i)) { hi = i }
            }
            guard value(lo).count <= Self.maxBoundLength, value(hi).count <= Self.maxBoundLength else { return }
            minValue = Array(value(lo))
            maxValue = Array(value(hi))
        case .fixedLenByteArray(let data, let width):
            switch logicalType {
            case .decimal?, .float16?: return
            default: break
            }
            guard width > 0, width <= Self.maxBoundLength, data.count >= width else { return }
            let value = { (i: Int) in data[i * width..<(i + 1) * width] }
            var lo = 0
            var hi = 0
            for i in 1..<data.count / width {
                if value(i).lexicographicallyPrecedes(value(lo)) { lo = i }
                if value(hi).lexicographicallyPrecedes(value(i)) { hi = i }
            }
            minValue = Array(value(lo))
            maxValue = Array(value(hi))
        }
    }

    /// Combines page statistics into a column chunk's.
    mutating func merge(_ other: ParquetStatistics, physicalType: ParquetPhysicalType, logicalType: ParquetLogicalType?) {
        nullCount += other.nullCount
        guard let otherMin = other.minValue, let otherMax = other.maxValue else { return }
        guard let myMin = minValue, let myMax = maxValue else {
            minValue = otherMin
            maxValue = otherMax
            return
        }
        let less = Self.ordering(physicalType: physicalType, logicalType: logicalType)
        if less(otherMin, myMin) { minValue = otherMin }
        if less(myMax, otherMax) { maxValue = otherMax }
    }

    /// The sort order of encoded bounds.
    private static func ordering(physicalType: ParquetPhysicalType, logicalType: ParquetLogicalType?)
        -> ([UInt8], [UInt8]) -> Bool
    {
        var unsigned = false
        if case .integer(_, let signed) = logicalType { unsigned = !signed }
        func load<T: FixedWidthInteger>(_ b: [UInt8], as: T.Type) -> T {
            var v = T.zero
            for (i, byte) in b.enumerated() where i < MemoryLayout<T>.size { v |= T(truncatingIfNeeded: byte) << (8 * i) }
            return v
        }
        switch physicalType {
        case .boolean: return { $0[0] < $1[0] }
        case .int32:
            return unsigned
                ? { load($0, as: UInt32.self) < load($1, as: UInt32.self) }
                : { load($0, as: Int32.self) < load($1, as: Int32.self) }
        case .int64:
            return unsigned
                ? { load($0, as: UInt64.self) < load($1, as: UInt64.self) }
                : { load($0, as: Int64.self) < load($1, as: Int64.self) }
        case .float:
            return { Float(bitPattern: load($0, as: UInt32.self)) < Float(bitPattern: load($1, as: UInt32.self)) }
        case .double:
            return { Double(bitPattern: load($0, as: UInt64.self)) < Double(bitPattern: load($1, as: UInt64.self)) }
        case .byteArray, .fixedLenByteArray:
            return { $0.lexicographicallyPrecedes($1) }
        }
    }

    @inline(__always)
    private static func bounds<T, U: FixedWidthInteger>(_ values: [T], _ key: (T) -> U) -> (U, U) {
        // min/max without branches, so the loop over a page's values vectorizes.
        values.withUnsafeBufferPointer { v in
            var lo = key(v[0])
            var hi = lo
            for x in v {
                lo = min(lo, key(x))
                hi = max(hi, key(x))
            }
            return (lo, hi)
        }
    }

    private static func floatBounds<F: BinaryFloatingPoint>(_ values: [F]) -> (F, F)? {
        values.withUnsafeBufferPointer { v in
            guard let first = v.firstIndex(where: { !$0.isNaN }) else { return nil }
            var l = v[first]
            var h = v[first]
            for x in v[first...] where !x.isNaN {
                if x < l { l = x }
                if x > h { h = x }
            }
            if l == 0 { l = -F(0) }
            if h == 0 { h = F(0) }
            return (l, h)
        }
    }

    private static func littleEndian<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
        var out: [UInt8] = []
        appendLittleEndian(CollectionOfOne(v), to: &out)
        return out
    }
}
