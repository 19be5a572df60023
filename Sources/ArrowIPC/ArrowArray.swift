import IngestCore

/// A zero-copy view of one Arrow array inside a decoded record batch.
///
/// It holds a reference to the immutable ``/IngestCore/ByteStorage`` of the message body plus byte offsets of
/// its buffers; pointers are formed only inside accessors. Every buffer length, offset, child
/// length, union type id and dictionary index was checked when the batch was read, so accessors
/// with an index in `0..<length` never read outside the storage.
///
/// Buffers by type (`values`/`data` below): fixed width → values; Binary/Utf8 (and Large) →
/// values = offsets, data = bytes; List/Map (and Large) → values = offsets; ListView → values =
/// offsets, data = sizes; dense Union → values = type ids, data = offsets; sparse Union → values =
/// type ids; views → values = 16-byte views plus `variadicBuffers`; dictionary → values = indices.
///
/// - Complexity: all accessors are O(1) except dictionary lookups across delta segments (O(segments)).
public struct ArrowArray: Sendable {
    /// The logical type (for a dictionary-encoded array: the dictionary's value type).
    public let type: ArrowType
    /// Number of slots.
    public let length: Int
    /// Number of null slots (from the IPC field node).
    public let nullCount: Int
    @usableFromInline let storage: ByteStorage
    /// Start of the validity bitmap in `storage`, or -1 when every slot is valid.
    @usableFromInline let validity: Int
    @usableFromInline let values: Int
    @usableFromInline let valuesCount: Int
    @usableFromInline let data: Int
    @usableFromInline let dataCount: Int
    /// Child arrays (list item, struct fields, union members, map entries).
    public let children: [ArrowArray]
    /// What only view and dictionary-encoded arrays have, in one shared object (nil for all other
    /// arrays), so that copying an array retains as little as possible.
    @usableFromInline let extras: Extras?

    /// The fields of view and dictionary-encoded arrays.
    @usableFromInline
    final class Extras: Sendable {
        @usableFromInline let variadicBuffers: [Range<Int>]
        let dictionaryIndexType: ArrowType?
        let dictionarySegments: [ArrowArray]

        init(variadicBuffers: [Range<Int>], dictionaryIndexType: ArrowType?, dictionarySegments: [ArrowArray]) {
            self.variadicBuffers = variadicBuffers
            self.dictionaryIndexType = dictionaryIndexType
            self.dictionarySegments = dictionarySegments
        }
    }

    /// Data buffers of view types (`start`, `count` in storage).
    @usableFromInline var variadicBuffers: [Range<Int>] { extras?.variadicBuffers ?? [] }
    /// For dictionary-encoded arrays: the index type and the dictionary (one segment per delta).
    public var dictionaryIndexType: ArrowType? { extras?.dictionaryIndexType }
    /// The dictionary values: the first DictionaryBatch, then one segment per delta batch.
    public var dictionarySegments: [ArrowArray] { extras?.dictionarySegments ?? [] }

    init(
        type: ArrowType, length: Int, nullCount: Int, storage: ByteStorage, validity: Int,
        values: Range<Int>, data: Range<Int>, children: [ArrowArray], variadicBuffers: [Range<Int>] = [],
        dictionaryIndexType: ArrowType? = nil, dictionarySegments: [ArrowArray] = []
    ) {
        let noExtras = variadicBuffers.isEmpty && dictionaryIndexType == nil && dictionarySegments.isEmpty
        self.init(
            plainType: type, length: length, nullCount: nullCount, storage: storage, validity: validity,
            values: values, data: data, children: children,
            extras: noExtras
                ? nil
                : Extras(
                    variadicBuffers: variadicBuffers, dictionaryIndexType: dictionaryIndexType,
                    dictionarySegments: dictionarySegments))
    }

    /// An array without view buffers or a dictionary (no ``Extras``, unless given): what a
    /// ``LoadPlan`` builds.
    @inline(__always)
    init(
        plainType type: ArrowType, length: Int, nullCount: Int, storage: ByteStorage, validity: Int,
        values: Range<Int>, data: Range<Int>, children: [ArrowArray], extras: Extras? = nil
    ) {
        self.type = type
        self.length = length
        self.nullCount = nullCount
        self.storage = storage
        self.validity = validity
        self.values = values.lowerBound
        self.valuesCount = values.count
        self.data = data.lowerBound
        self.dataCount = data.count
        self.children = children
        self.extras = extras
    }

    /// Whether slot `i` is null. Null-typed arrays are all null; unions have no validity of their own.
    @inlinable
    public func isNull(_ i: Int) -> Bool {
        precondition(i >= 0 && i < length, "ArrowArray index \(i) out of 0..<\(length)")
        if validity < 0 {
            if case .null = type { return true }
            return false
        }
        let byte = storage.unsafeBaseAddress.load(fromByteOffset: validity + (i >> 3), as: UInt8.self)
        return byte & (1 << UInt8(i & 7)) == 0
    }

    /// Whether slot `i` holds a value.
    @inlinable
    public func isValid(_ i: Int) -> Bool { !isNull(i) }

    /// The fixed-width value at `i` (ints, floats, dates, times, timestamps, durations, dictionary indices).
    ///
    /// - Precondition: `T`'s size equals the type's byte width (checked in debug builds).
    @inlinable
    public func value<T: BitwiseCopyable>(at i: Int, as: T.Type = T.self) -> T {
        precondition(i >= 0 && i < length, "ArrowArray index \(i) out of 0..<\(length)")
        precondition(MemoryLayout<T>.size * (i + 1) <= valuesCount, "\(T.self) is wider than the values of \(type)")
        return storage.unsafeBaseAddress.loadUnaligned(fromByteOffset: values + i * MemoryLayout<T>.size, as: T.self)
    }

    /// An Int64 view of integer-like fixed-width values of 1, 2, 4 or 8 bytes (sign-extended for signed types).
    @inlinable
    public func int64(at i: Int) -> Int64 {
        switch type {
        case .int(let w, let signed):
            switch (w, signed) {
            case (8, true): return Int64(value(at: i, as: Int8.self))
            case (16, true): return Int64(value(at: i, as: Int16.self))
            case (32, true): return Int64(value(at: i, as: Int32.self))
            case (8, false): return Int64(value(at: i, as: UInt8.self))
            case (16, false): return Int64(value(at: i, as: UInt16.self))
            case (32, false): return Int64(value(at: i, as: UInt32.self))
            default: return value(at: i, as: Int64.self)
            }
        case .date32, .time32: return Int64(value(at: i, as: Int32.self))
        default: return value(at: i, as: Int64.self)
        }
    }

    /// The boolean at `i` (bit-packed values buffer).
    @inlinable
    public func bool(at i: Int) -> Bool {
        precondition(i >= 0 && i < length, "ArrowArray index \(i) out of 0..<\(length)")
        let byte = storage.unsafeBaseAddress.load(fromByteOffset: values + (i >> 3), as: UInt8.self)
        return byte & (1 << UInt8(i & 7)) != 0
    }

    /// The range of child slots (lists, maps, fixed-size lists, list views) or data bytes (binary,
    /// strings, fixed-size binary) that slot `i` covers.
    @inlinable
    ///
    /// - Precondition: the array is not dictionary-encoded (its slots hold dictionary indices: resolve
    ///   them with ``dictionaryValue(index:)`` and ask the segment).
    public func valueRange(at i: Int) -> Range<Int> {
        precondition(i >= 0 && i < length, "ArrowArray index \(i) out of 0..<\(length)")
        precondition(
            dictionaryIndexType == nil,
            "valueRange(at:) on a dictionary-encoded array: its values are indices (see dictionaryValue(index:))")
        switch type {
        case .binary, .utf8, .list, .map:
            let a = Int(storage.unsafeBaseAddress.loadUnaligned(fromByteOffset: values + 4 * i, as: Int32.self).littleEndian)
            let b = Int(storage.unsafeBaseAddress.loadUnaligned(fromByteOffset: values + 4 * i + 4, as: Int32.self).littleEndian)
            return a..<b
        case .largeBinary, .largeUtf8, .largeList:
            let a = Int(storage.unsafeBaseAddress.loadUnaligned(fromByteOffset: values + 8 * i, as: Int64.self).littleEndian)
            let b = Int(storage.unsafeBaseAddress.loadUnaligned(fromByteOffset: values + 8 * i + 8, as: Int64.self).littleEndian)
            return a..<b
        case .listView:
            let a = Int(storage.unsafeBaseAddress.loadUnaligned(fromByteOffset: values + 4 * i, as: Int32.self).littleEndian)
            let n = Int(storage.unsafeBaseAddress.loadUnaligned(fromByteOffset: data + 4 * i, as: Int32.self).littleEndian)
            return a..<(a + n)
        case .largeListView:
            let a = Int(storage.unsafeBaseAddress.loadUnaligned(fromByteOffset: values + 8 * i, as: Int64.self).littleEndian)
            let n = Int(storage.unsafeBaseAddress.loadUnaligned(fromByteOffset: data + 8 * i, as: Int64.self).littleEndian)
            return a..<(a + n)
        case .fixedSizeList(_, let n): return (i * n)..<(i * n + n)
        case .fixedSizeBinary(let w): return (i * w)..<(i * w + w)
        default: return i..<(i + 1)
        }
    }

    /// Lends the bytes of binary-like slot `i` (binary, string, their large and view forms,
    /// fixed-size binary, and dictionary-encoded arrays of them, through their dictionary) for the
    /// duration of `body`.
    @inlinable
    public func withUnsafeBytes<R>(at i: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if dictionaryIndexType != nil {
            // The slot holds an index into the dictionary (checked when the batch was read, for valid
            // slots; a null slot's index was not checked and reads as empty).
            precondition(i >= 0 && i < length, "ArrowArray index \(i) out of 0..<\(length)")
            guard !isNull(i), let (segment, slot) = dictionaryValue(index: dictionaryIndex(at: i)) else {
                return try body(UnsafeRawBufferPointer(start: storage.unsafeBaseAddress, count: 0))
            }
            return try segment.withUnsafeBytes(at: slot, body)
        }
        switch type {
        case .binaryView, .utf8View:
            precondition(i >= 0 && i < length, "ArrowArray index \(i) out of 0..<\(length)")
            let v = values + 16 * i
            let n = Int(Int32(littleEndian: storage.unsafeBaseAddress.loadUnaligned(fromByteOffset: v, as: Int32.self)))
            if n <= 12 { return try body(UnsafeRawBufferPointer(start: storage.unsafeBaseAddress + v + 4, count: Swift.max(n, 0))) }
            let bufIndex = Int(Int32(littleEndian: storage.unsafeBaseAddress.loadUnaligned(fromByteOffset: v + 8, as: Int32.self)))
            let off = Int(Int32(littleEndian: storage.unsafeBaseAddress.loadUnaligned(fromByteOffset: v + 12, as: Int32.self)))
            // Views of null slots were not validated: an out-of-range view reads as empty.
            guard n >= 0, bufIndex >= 0, bufIndex < variadicBuffers.count, off >= 0,
                off <= variadicBuffers[bufIndex].count - n
            else { return try body(UnsafeRawBufferPointer(start: storage.unsafeBaseAddress, count: 0)) }
            return try body(
                UnsafeRawBufferPointer(start: storage.unsafeBaseAddress + variadicBuffers[bufIndex].lowerBound + off, count: n))
        case .fixedSizeBinary(let w):
            precondition(i >= 0 && i < length, "ArrowArray index \(i) out of 0..<\(length)")
            return try body(UnsafeRawBufferPointer(start: storage.unsafeBaseAddress + values + i * w, count: w))
        default:
            let r = valueRange(at: i)
            return try body(UnsafeRawBufferPointer(start: storage.unsafeBaseAddress + data + r.lowerBound, count: r.count))
        }
    }

    /// The bytes of binary-like slot `i` as an array (allocates; for tests and display).
    public func bytes(at i: Int) -> [UInt8] { withUnsafeBytes(at: i) { Array($0) } }

    /// The string at `i`, or nil when the bytes are not valid UTF-8 (validated on every access).
    public func string(at i: Int) -> String? {
        withUnsafeBytes(at: i) { String(validating: $0, as: UTF8.self) }
    }

    /// For a dense union: the child index and the slot in that child for slot `i`; for a sparse
    /// union: the child index and `i`.
    @inlinable
    public func unionSlot(at i: Int) -> (child: Int, index: Int) {
        precondition(i >= 0 && i < length, "ArrowArray index \(i) out of 0..<\(length)")
        guard case .union(let mode, _, let ids) = type else { preconditionFailure("unionSlot(at:) on \(type)") }
        let tid = Int32(storage.unsafeBaseAddress.load(fromByteOffset: values + i, as: Int8.self))
        var child = 0
        while child < ids.count && ids[child] != tid { child += 1 }
        if mode == .sparse { return (child, i) }
        let off = Int(Int32(littleEndian: storage.unsafeBaseAddress.loadUnaligned(fromByteOffset: data + 4 * i, as: Int32.self)))
        return (child, off)
    }

    /// For a dictionary-encoded array: the dictionary index at `i`.
    @inlinable
    public func dictionaryIndex(at i: Int) -> Int {
        guard case .int(let w, let signed)? = dictionaryIndexType else { preconditionFailure("not dictionary-encoded") }
        precondition(i >= 0 && i < length, "ArrowArray index \(i) out of 0..<\(length)")
        switch (w, signed) {
        case (8, true): return Int(storage.unsafeBaseAddress.load(fromByteOffset: values + i, as: Int8.self))
        case (8, false): return Int(storage.unsafeBaseAddress.load(fromByteOffset: values + i, as: UInt8.self))
        case (16, true):
            return Int(Int16(littleEndian: storage.unsafeBaseAddress.loadUnaligned(fromByteOffset: values + 2 * i, as: Int16.self)))
        case (16, false):
            return Int(
                UInt16(littleEndian: storage.unsafeBaseAddress.loadUnaligned(fromByteOffset: values + 2 * i, as: UInt16.self)))
        case (32, true):
            return Int(Int32(littleEndian: storage.unsafeBaseAddress.loadUnaligned(fromByteOffset: values + 4 * i, as: Int32.self)))
        case (32, false):
            return Int(
                UInt32(littleEndian: storage.unsafeBaseAddress.loadUnaligned(fromByteOffset: values + 4 * i, as: UInt32.self)))
        case (64, false):
            return Int(
                truncatingIfNeeded: UInt64(
                    littleEndian: storage.unsafeBaseAddress.loadUnaligned(fromByteOffset: values + 8 * i, as: UInt64.self)))
        default:
            return Int(Int64(littleEndian: storage.unsafeBaseAddress.loadUnaligned(fromByteOffset: values + 8 * i, as: Int64.self)))
        }
    }

    /// For a dictionary-encoded array: the dictionary segment and slot that index `index` refers to.
    public func dictionaryValue(index: Int) -> (segment: ArrowArray, slot: Int)? {
        guard index >= 0 else { return nil }
        var k = index
        for s in dictionarySegments {
            if k < s.length { return (s, k) }
            k -= s.length
        }
        return nil
    }

    /// Total length of the dictionary (all delta segments).
    public var dictionaryLength: Int { dictionarySegments.reduce(0) { $0 + $1.length } }

    /// Bytes of the buffers this array and its children reference (an estimate of its size).
    public var bufferBytes: Int {
        var n = valuesCount + dataCount + (validity >= 0 ? (length + 7) / 8 : 0)
        // Through buffer pointers: visiting the arrays without copying (retaining) each one.
        children.withUnsafeBufferPointer { for i in $0.indices { n += $0[i].bufferBytes } }
        if let extras {
            for b in extras.variadicBuffers { n += b.count }
            extras.dictionarySegments.withUnsafeBufferPointer { for i in $0.indices { n += $0[i].bufferBytes } }
        }
        return n
    }
}
