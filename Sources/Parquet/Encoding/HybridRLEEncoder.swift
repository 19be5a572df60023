import IngestCore

/// Parquet's RLE / bit-packing hybrid encoding, for definition and repetition levels and dictionary
/// indices.
///
/// A run of 8 or more equal values becomes an RLE run (varint `count << 1`, then the value in
/// `ceil(bitWidth / 8)` little-endian bytes); anything else goes into bit-packed runs (varint
/// `groups << 1 | 1`, then groups of 8 values packed least significant bit first). Only the last
/// bit-packed run is padded to a whole group; readers stop at the page's value count.
struct HybridRLEEncoder {
    let bitWidth: Int
    private(set) var bytes: [UInt8] = []
    /// Values waiting for a bit-packed run (always fewer than one more group when an RLE run starts).
    private var pending: [UInt32] = []

    init(bitWidth: Int) {
        precondition(bitWidth >= 0 && bitWidth <= 32, "bit width \(bitWidth) outside 0...32")
        self.bitWidth = bitWidth
    }

    /// The number of bits needed for values up to `maxValue`.
    static func bitWidth(forMax maxValue: UInt64) -> Int {
        maxValue == 0 ? 0 : 64 - maxValue.leadingZeroBitCount
    }

    /// Encodes `values` (each below `1 << bitWidth`) and returns the bytes.
    static func encode<C: RandomAccessCollection>(_ values: C, bitWidth: Int) -> [UInt8]
    where C.Element: BinaryInteger, C.Index == Int {
        var encoder = HybridRLEEncoder(bitWidth: bitWidth)
        encoder.append(values)
        return encoder.finish()
    }

    mutating func append<C: RandomAccessCollection>(_ values: C) where C.Element: BinaryInteger, C.Index == Int {
        var i = values.startIndex
        let end = values.endIndex
        while i < end {
            let v = values[i]
            var run = 1
            while i + run < end && values[i + run] == v { run += 1 }
            if run >= 8 {
                // Fill the pending values to a whole group first, so no padding lands mid-stream.
                let fill = (8 - pending.count % 8) % 8
                for _ in 0..<fill { pending.append(UInt32(truncatingIfNeeded: v)) }
                let rest = run - fill
                if rest >= 8 {
                    flushPending()
                    rle(UInt32(truncatingIfNeeded: v), count: rest)
                } else {
                    for _ in 0..<rest { pending.append(UInt32(truncatingIfNeeded: v)) }
                }
                i += run
            } else {
                for k in 0..<run { pending.append(UInt32(truncatingIfNeeded: values[i + k])) }
                i += run
            }
        }
    }

    /// Ends the stream (pads the last bit-packed run) and returns it.
    mutating func finish() -> [UInt8] {
        flushPending()
        return bytes
    }

    private mutating func rle(_ value: UInt32, count: Int) {
        varint(UInt64(count) << 1)
        var v = value
        for _ in 0..<(bitWidth + 7) / 8 {
            bytes.append(UInt8(truncatingIfNeeded: v))
            v >>= 8
        }
    }

    private mutating func flushPending() {
        guard !pending.isEmpty else { return }
        let groups = (pending.count + 7) / 8
        while pending.count < groups * 8 { pending.append(0) }
        varint(UInt64(groups) << 1 | 1)
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: groups * bitWidth))
        var bit = 0
        for v in pending {
            var value = UInt64(v)
            var remaining = bitWidth
            var at = bit
            while remaining > 0 {
                let byteIndex = start + at >> 3
                let shift = at & 7
                let take = min(8 - shift, remaining)
                bytes[byteIndex] |= UInt8(truncatingIfNeeded: (value & ((1 << UInt64(take)) - 1)) << UInt64(shift))
                value >>= UInt64(take)
                remaining -= take
                at += take
            }
            bit += bitWidth
        }
        pending.removeAll(keepingCapacity: true)
    }

    private mutating func varint(_ value: UInt64) {
        bytes.appendVarint(value)
    }
}
