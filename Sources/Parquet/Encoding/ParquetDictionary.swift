/// A column chunk's dictionary, built batch by batch: its distinct values in first-seen order and,
/// for each batch, the index of every value. It is kept only while it pays: at most half the values
/// seen so far distinct, not mostly distinct early on, and the PLAIN dictionary within a size.
struct ParquetDictionary {
    /// Distinct fixed-width values (as bit patterns), looked up in a flat table below 2^16 (bytes of
    /// images, small enums: most dictionary hits) and hashed above.
    private struct Fixed {
        var width: Int
        var order: [UInt64] = []
        var small: [UInt32] = []
        var large = IndexTable()
    }

    /// Open addressing from 64-bit keys (at or above 2^16) to indices: the lookup of every value of
    /// columns like packed RGBA colors, where a `Dictionary`'s hashing was the cost.
    struct IndexTable {
        private var keys: [UInt64] = []
        private var indices: [UInt32] = []
        private var shift: UInt64 = 64
        private(set) var count = 0

        @inline(__always)
        private func slot(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift) }

        /// The index of `key`, or nil.
        @inline(__always)
        func find(_ key: UInt64) -> UInt32? {
            guard count > 0 else { return nil }
            let mask = keys.count - 1
            var s = slot(key)
            while true {
                let i = indices[s]
                if i == .max { return nil }
                if keys[s] == key { return i }
                s = (s + 1) & mask
            }
        }

        /// Adds `key` (not present) with `index`.
        mutating func insert(_ key: UInt64, _ index: UInt32) {
            if (count + 1) * 2 > keys.count { grow() }
            let mask = keys.count - 1
            var s = slot(key)
            while indices[s] != .max { s = (s + 1) & mask }
            keys[s] = key
            indices[s] = index
            count += 1
        }

        private mutating func grow() {
            let old = (keys, indices)
            let capacity = max(64, keys.count * 2)
            keys = [UInt64](repeating: 0, count: capacity)
            indices = [UInt32](repeating: .max, count: capacity)
            shift = UInt64(64 - capacity.trailingZeroBitCount)
            count = 0
            for (k, i) in zip(old.0, old.1) where i != .max { insert(k, i) }
        }
    }

    /// Distinct byte strings (own copies, so a batch's buffers are not kept alive).
    private struct Bytes {
        /// The fixed length, or nil for variable-length values.
        var width: Int?
        var seen: [ArraySlice<UInt8>: UInt32] = [:]
        var keys: [ArraySlice<UInt8>] = []
        var data: [UInt8] = []
        var offsets: [Int] = [0]
    }

    private enum Storage {
        case fixed(Fixed)
        case bytes(Bytes)
    }

    private let physicalType: ParquetPhysicalType
    private var storage: Storage
    private let maxSize: Int
    /// Values encoded so far.
    private var seen = 0

    /// An empty dictionary for values of `physicalType`; nil for booleans, which PLAIN packs to a bit.
    init?(_ physicalType: ParquetPhysicalType, typeLength: Int?, maxSize: Int) {
        self.physicalType = physicalType
        self.maxSize = maxSize
        switch physicalType {
        case .boolean: return nil
        case .int32, .float: storage = .fixed(Fixed(width: 4))
        case .int64, .double: storage = .fixed(Fixed(width: 8))
        case .byteArray: storage = .bytes(Bytes(width: nil))
        case .fixedLenByteArray:
            guard let typeLength, typeLength > 0 else { return nil }
            storage = .bytes(Bytes(width: typeLength))
        }
    }

    /// The number of distinct values.
    var count: Int {
        switch storage {
        case .fixed(let f): f.order.count
        case .bytes(let b): b.keys.count
        }
    }

    /// The dictionary's values, in index order.
    var values: ParquetValues {
        switch storage {
        case .fixed(let f):
            switch physicalType {
            case .int32: return .int32(f.order.map { Int32(bitPattern: UInt32(truncatingIfNeeded: $0)) })
            case .float: return .float(f.order.map { Float(bitPattern: UInt32(truncatingIfNeeded: $0)) })
            case .int64: return .int64(f.order.map { Int64(bitPattern: $0) })
            default: return .double(f.order.map { Double(bitPattern: $0) })
            }
        case .bytes(let b):
            if let w = b.width { return .fixedLenByteArray(data: b.data, width: w) }
            return .byteArray(data: b.data, offsets: b.offsets)
        }
    }

    /// Whether `distinct` new values among the first `seen` say the dictionary will not pay: past 1024
    /// values, more than three quarters distinct (random floats, ids) stop the attempt early instead of
    /// hashing up to half the chunk first.
    @inline(__always)
    static func mostlyDistinct(_ distinct: Int, of seen: Int) -> Bool { seen >= 1024 && distinct * 4 > seen * 3 }

    /// The indices of `batch` (values of this dictionary's type), adding its new values; nil when the
    /// dictionary stops paying with them (it is then left as it was before the batch). `total`: the
    /// values the half-distinct limit counts (nil: those seen so far with the batch; more when the
    /// batch is the first of several decided together).
    mutating func indices(_ batch: ParquetValues, total: Int? = nil) -> [UInt32]? {
        let total = total ?? seen + batch.count
        // Fewer than two values in all: nothing to share.
        guard total >= 2 else { return nil }
        let limit = total / 2
        var result: [UInt32]?
        switch (storage, batch) {
        case (.fixed(var f), .int32(let v)):
            let width = f.width
            storage = .fixed(Fixed(width: 0))
            result = v.withUnsafeBufferPointer { Self.add($0, &f, limit, seen, maxEntries: maxSize / width) { UInt64(UInt32(bitPattern: $0)) } }
            storage = .fixed(f)
        case (.fixed(var f), .float(let v)):
            let width = f.width
            storage = .fixed(Fixed(width: 0))
            result = v.withUnsafeBufferPointer { Self.add($0, &f, limit, seen, maxEntries: maxSize / width) { UInt64($0.bitPattern) } }
            storage = .fixed(f)
        case (.fixed(var f), .int64(let v)):
            let width = f.width
            storage = .fixed(Fixed(width: 0))
            result = v.withUnsafeBufferPointer { Self.add($0, &f, limit, seen, maxEntries: maxSize / width) { UInt64(bitPattern: $0) } }
            storage = .fixed(f)
        case (.fixed(var f), .double(let v)):
            let width = f.width
            storage = .fixed(Fixed(width: 0))
            result = v.withUnsafeBufferPointer { Self.add($0, &f, limit, seen, maxEntries: maxSize / width) { $0.bitPattern } }
            storage = .fixed(f)
        case (.bytes(var b), .byteArray(let data, let offsets)) where b.width == nil:
            storage = .fixed(Fixed(width: 0))
            result = add(batch.count, &b, limit, seen) { data[offsets[$0]..<offsets[$0 + 1]] }
            storage = .bytes(b)
        case (.bytes(var b), .fixedLenByteArray(let data, let width)) where b.width == width:
            storage = .fixed(Fixed(width: 0))
            result = add(batch.count, &b, limit, seen) { data[$0 * width..<($0 + 1) * width] }
            storage = .bytes(b)
        default:
            return nil
        }
        if result != nil { seen += batch.count }
        return result
    }

    /// Adds the values of `v` (keyed by their bit pattern) to `f`; nil (and `f` restored) past `limit`
    /// distinct values, `maxEntries`, or when mostly distinct.
    private static func add<T>(
        _ v: UnsafeBufferPointer<T>, _ f: inout Fixed, _ limit: Int, _ seenBefore: Int, maxEntries: Int,
        _ key: (T) -> UInt64
    ) -> [UInt32]? {
        let before = f.order.count
        if f.small.isEmpty { f.small = [UInt32](repeating: .max, count: 1 << 16) }
        var indices = [UInt32](repeating: 0, count: v.count)
        var failed = false
        f.small.withUnsafeMutableBufferPointer { small in
            indices.withUnsafeMutableBufferPointer { out in
                for i in 0..<v.count {
                    let k = key(v[i])
                    if k < 1 << 16 {
                        let index = small[Int(k)]
                        if index != .max {
                            out[i] = index
                            continue
                        }
                    } else if let index = f.large.find(k) {
                        out[i] = index
                        continue
                    }
                    let distinct = f.order.count
                    guard distinct < limit, distinct < maxEntries, !mostlyDistinct(distinct, of: seenBefore + i + 1)
                    else {
                        failed = true
                        return
                    }
                    let index = UInt32(distinct)
                    if k < 1 << 16 { small[Int(k)] = index } else { f.large.insert(k, index) }
                    f.order.append(k)
                    out[i] = index
                }
            }
        }
        guard failed else { return indices }
        // Undone by rebuilding the table of large keys (once per chunk at most: the dictionary closes).
        for k in f.order[before...] where k < 1 << 16 { f.small[Int(k)] = .max }
        f.order.removeLast(f.order.count - before)
        f.large = IndexTable()
        for (i, k) in f.order.enumerated() where k >= 1 << 16 { f.large.insert(k, UInt32(i)) }
        return nil
    }

    private func add(
        _ count: Int, _ b: inout Bytes, _ limit: Int, _ seenBefore: Int, _ value: (Int) -> ArraySlice<UInt8>
    ) -> [UInt32]? {
        let before = (keys: b.keys.count, data: b.data.count)
        var indices: [UInt32] = []
        indices.reserveCapacity(count)
        var failed = false
        for i in 0..<count {
            let v = value(i)
            if let index = b.seen[v] {
                indices.append(index)
                continue
            }
            let size = b.data.count + v.count + (b.width == nil ? 4 * b.offsets.count : 0)
            guard b.keys.count < limit, size <= maxSize, !Self.mostlyDistinct(b.keys.count, of: seenBefore + i + 1)
            else {
                failed = true
                break
            }
            let index = UInt32(b.keys.count)
            let key = ArraySlice(Array(v))
            b.seen[key] = index
            b.keys.append(key)
            b.data += v
            b.offsets.append(b.data.count)
            indices.append(index)
        }
        guard failed else { return indices }
        for key in b.keys[before.keys...] { b.seen[key] = nil }
        b.keys.removeLast(b.keys.count - before.keys)
        b.data.removeLast(b.data.count - before.data)
        b.offsets.removeLast(b.offsets.count - 1 - before.keys)
        return nil
    }
}
