/// A column chunk's dictionary: its distinct values in first-seen order and, per value, its index.
/// Built only when it pays: at most half the values distinct and the PLAIN dictionary within a size.
struct ParquetDictionary {
    let values: ParquetValues
    let indices: [UInt32]

    /// `nil` when the values do not repeat enough (or are booleans, which PLAIN packs to a bit).
    init?(_ values: ParquetValues, maxSize: Int) {
        let count = values.count
        guard count >= 2 else { return nil }
        let limit = count / 2
        var indices: [UInt32] = []
        indices.reserveCapacity(count)
        switch values {
        case .boolean:
            return nil
        case .int32(let v):
            guard let d = Self.build(v.lazy.map { UInt64(UInt32(bitPattern: $0)) }, limit, maxSize / 4, &indices)
            else { return nil }
            self.values = .int32(d.map { Int32(bitPattern: UInt32(truncatingIfNeeded: $0)) })
        case .int64(let v):
            guard let d = Self.build(v.lazy.map { UInt64(bitPattern: $0) }, limit, maxSize / 8, &indices)
            else { return nil }
            self.values = .int64(d.map { Int64(bitPattern: $0) })
        case .float(let v):
            guard let d = Self.build(v.lazy.map { UInt64($0.bitPattern) }, limit, maxSize / 4, &indices)
            else { return nil }
            self.values = .float(d.map { Float(bitPattern: UInt32(truncatingIfNeeded: $0)) })
        case .double(let v):
            guard let d = Self.build(v.lazy.map { $0.bitPattern }, limit, maxSize / 8, &indices) else { return nil }
            self.values = .double(d.map { Double(bitPattern: $0) })
        case .byteArray(let data, let offsets):
            var seen: [ArraySlice<UInt8>: UInt32] = [:]
            var dictData: [UInt8] = []
            var dictOffsets: [Int] = [0]
            for i in 0..<count {
                let value = data[offsets[i]..<offsets[i + 1]]
                if let index = seen[value] {
                    indices.append(index)
                    continue
                }
                guard seen.count < limit, dictData.count + value.count + 4 * dictOffsets.count <= maxSize,
                    !Self.mostlyDistinct(seen.count, of: i + 1)
                else { return nil }
                let index = UInt32(seen.count)
                seen[value] = index
                dictData += value
                dictOffsets.append(dictData.count)
                indices.append(index)
            }
            self.values = .byteArray(data: dictData, offsets: dictOffsets)
        case .fixedLenByteArray(let data, let width):
            var seen: [ArraySlice<UInt8>: UInt32] = [:]
            var dictData: [UInt8] = []
            for i in 0..<count {
                let value = data[i * width..<(i + 1) * width]
                if let index = seen[value] {
                    indices.append(index)
                    continue
                }
                guard seen.count < limit, dictData.count + width <= maxSize, !Self.mostlyDistinct(seen.count, of: i + 1)
                else { return nil }
                let index = UInt32(seen.count)
                seen[value] = index
                dictData += value
                indices.append(index)
            }
            self.values = .fixedLenByteArray(data: dictData, width: width)
        }
        self.indices = indices
    }

    /// Whether `distinct` new values among the first `seen` say the dictionary will not pay: past 1024
    /// values, more than three quarters distinct (random floats, ids) stop the attempt early instead of
    /// hashing up to half the chunk first.
    @inline(__always)
    static func mostlyDistinct(_ distinct: Int, of seen: Int) -> Bool { seen >= 1024 && distinct * 4 > seen * 3 }

    /// Distinct bit patterns in first-seen order, or `nil` past `limit` distinct or `maxEntries`.
    private static func build<S: Sequence>(_ values: S, _ limit: Int, _ maxEntries: Int, _ indices: inout [UInt32])
        -> [UInt64]? where S.Element == UInt64
    {
        var seen: [UInt64: UInt32] = [:]
        // Values below 2^16 (bytes of images, small enums: most dictionary hits) are looked up in a
        // flat table instead of hashed.
        var small = [UInt32](repeating: .max, count: 1 << 16)
        var order: [UInt64] = []
        var n = 0
        for v in values {
            n += 1
            if v < 1 << 16 {
                let index = small[Int(v)]
                if index != .max {
                    indices.append(index)
                    continue
                }
            } else if let index = seen[v] {
                indices.append(index)
                continue
            }
            guard order.count < limit, order.count < maxEntries, !mostlyDistinct(order.count, of: n) else { return nil }
            let index = UInt32(order.count)
            if v < 1 << 16 { small[Int(v)] = index } else { seen[v] = index }
            order.append(v)
            indices.append(index)
        }
        return order
    }
}
