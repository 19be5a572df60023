import IngestCore

/// Parquet's RLE / bit-packing hybrid encoding, for definition and repetition levels and dictionary
/// indices.
///
/// A run of 8 or more equal values becomes an RLE run (varint `count << 1`, then the value in
/// `ceil(bitWidth / 8)` little-endian bytes); anything else goes into bit-packed runs (varint
/// `groups << 1 | 1`, then groups of 8 values packed least significant bit first). Only the last
/// bit-packed run is padded to a whole group; readers stop at the page's value count.
enum HybridRLEEncoder {
    /// The number of bits needed for values up to `maxValue`.
    static func bitWidth(forMax maxValue: UInt64) -> Int {
        maxValue == 0 ? 0 : 64 - maxValue.leadingZeroBitCount
    }

    /// Encodes `values` (each below `1 << bitWidth`) and returns the bytes.
    static func encode<C: RandomAccessCollection>(_ values: C, bitWidth: Int) -> [UInt8]
    where C.Element: BinaryInteger, C.Index == Int {
        precondition(bitWidth >= 0 && bitWidth <= 32, "bit width \(bitWidth) outside 0...32")
        if let bytes = values.withContiguousStorageIfAvailable({ encode(buffer: $0, bitWidth: bitWidth) }) {
            return bytes
        }
        return Array(values).withUnsafeBufferPointer { encode(buffer: $0, bitWidth: bitWidth) }
    }

    /// The encoding of `values`, read straight from their buffer: the loop of every level and index
    /// stream (hundreds of millions of entries for image bytes and point clouds).
    static func encode<T: BinaryInteger>(buffer values: UnsafeBufferPointer<T>, bitWidth: Int) -> [UInt8] {
        var out: [UInt8] = []
        // Values before `literal` are written; those from it up to the scan position wait for a
        // bit-packed run.
        var literal = 0
        var i = 0
        let n = values.count
        while i < n {
            let v = values[i]
            var run = 1
            if MemoryLayout<T>.size == 1, i + 1 < n, values[i + 1] == v, let base = values.baseAddress {
                // Levels: long runs, compared 8 bytes at a time.
                let raw = UnsafeRawPointer(base)
                let pattern = UInt64(truncatingIfNeeded: v) &* 0x0101_0101_0101_0101
                while i + run + 8 <= n && raw.loadUnaligned(fromByteOffset: i + run, as: UInt64.self) == pattern {
                    run += 8
                }
            }
            while i + run < n && values[i + run] == v { run += 1 }
            if run >= 8 {
                // The waiting values are filled to a whole group from the run first, so no padding
                // lands mid-stream.
                let fill = (8 - (i - literal) % 8) % 8
                if run - fill >= 8 {
                    bitPacked(values, literal..<(i + fill), bitWidth, into: &out)
                    rle(UInt32(truncatingIfNeeded: v), count: run - fill, bitWidth, into: &out)
                    literal = i + run
                }
            }
            i += run
        }
        bitPacked(values, literal..<n, bitWidth, into: &out)
        return out
    }

    private static func rle(_ value: UInt32, count: Int, _ bitWidth: Int, into out: inout [UInt8]) {
        out.appendVarint(UInt64(count) << 1)
        var v = value
        for _ in 0..<(bitWidth + 7) / 8 {
            out.append(UInt8(truncatingIfNeeded: v))
            v >>= 8
        }
    }

    /// One bit-packed run of `range` (padded with zeros to a whole group).
    private static func bitPacked<T: BinaryInteger>(
        _ values: UnsafeBufferPointer<T>, _ range: Range<Int>, _ bitWidth: Int, into out: inout [UInt8]
    ) {
        guard !range.isEmpty else { return }
        let groups = (range.count + 7) / 8
        out.appendVarint(UInt64(groups) << 1 | 1)
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: groups * bitWidth))
        guard bitWidth > 0 else { return }
        out.withUnsafeMutableBufferPointer { bytes in
            var o = start
            if bitWidth == 8 {
                for k in range {
                    bytes[o] = UInt8(truncatingIfNeeded: values[k])
                    o += 1
                }
                return
            }
            // At most 7 bits wait between values, so a 32-bit value always fits the 64-bit accumulator.
            var accumulator: UInt64 = 0
            var bits = 0
            for k in range {
                accumulator |= UInt64(truncatingIfNeeded: values[k]) << UInt64(bits)
                bits += bitWidth
                while bits >= 8 {
                    bytes[o] = UInt8(truncatingIfNeeded: accumulator)
                    o += 1
                    accumulator >>= 8
                    bits -= 8
                }
            }
            // The padding values are zeros: the partial byte is the last one written.
            if bits > 0 { bytes[o] = UInt8(truncatingIfNeeded: accumulator) }
        }
    }
}
