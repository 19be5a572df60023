import ArrowIPC
import RRD

/// An open-addressing hash table of positions (indices into an array the caller owns), keyed by
/// values the caller compares: 8 bytes per bucket, linear probing, backward-shift deletion (no
/// tombstones), at most 3/4 full.
///
/// A bucket holds `position + 1` in its high 32 bits and the low 32 bits of the key's hash in its
/// low ones (0: empty). A look-up compares the stored hash bits first, so a missing key rarely makes
/// the caller compare keys; the table never needs the keys themselves (it rehashes from the stored bits).
struct PositionTable {
    private var buckets: [UInt64] = []
    private var mask = 0
    /// Number of positions held.
    private(set) var count = 0

    /// Bytes of bucket storage (for tests and sizing).
    var bucketBytes: Int { buckets.capacity * MemoryLayout<UInt64>.stride }

    /// The position whose key `matches`, among those stored with this hash.
    @inline(__always)
    func find(hash: UInt64, _ matches: (Int32) -> Bool) -> Int32? {
        guard count > 0 else { return nil }
        let tag = UInt32(truncatingIfNeeded: hash)
        return buckets.withUnsafeBufferPointer { b in
            var i = Int(tag) & mask
            while true {
                let bucket = b[i]
                if bucket == 0 { return nil }
                if UInt32(truncatingIfNeeded: bucket) == tag {
                    let p = Int32(truncatingIfNeeded: bucket >> 32) &- 1
                    if matches(p) { return p }
                }
                i = (i &+ 1) & mask
            }
        }
    }

    /// Adds `position` under `hash` (its key must not be in the table).
    mutating func insert(hash: UInt64, position: Int32) {
        precondition(position >= 0 && position < Int32.max, "position \(position) out of range")
        if (count + 1) * 4 > buckets.count * 3 { grow() }
        place(UInt64(UInt32(position + 1)) << 32 | UInt64(UInt32(truncatingIfNeeded: hash)))
        count += 1
    }

    /// Removes `position`, stored under `hash`; a no-op when it is not there.
    mutating func remove(hash: UInt64, position: Int32) {
        guard count > 0 else { return }
        let want = UInt64(UInt32(position + 1)) << 32 | UInt64(UInt32(truncatingIfNeeded: hash))
        let mask = self.mask
        buckets.withUnsafeMutableBufferPointer { b in
            var i = Int(UInt32(truncatingIfNeeded: hash)) & mask
            while b[i] != want {
                if b[i] == 0 { return }
                i = (i &+ 1) & mask
            }
            // Backward shift: pull later entries of the run into the hole when their home bucket
            // is at or before it, so every entry stays reachable from its home without tombstones.
            var hole = i
            var j = (i &+ 1) & mask
            while b[j] != 0 {
                let home = Int(UInt32(truncatingIfNeeded: b[j])) & mask
                if (j &- home) & mask >= (j &- hole) & mask {
                    b[hole] = b[j]
                    hole = j
                }
                j = (j &+ 1) & mask
            }
            b[hole] = 0
            count -= 1
        }
    }

    /// Every position held, in bucket order.
    var positions: [Int32] {
        buckets.compactMap { $0 == 0 ? nil : Int32(truncatingIfNeeded: $0 >> 32) - 1 }
    }

    private mutating func place(_ bucket: UInt64) {
        let mask = self.mask
        buckets.withUnsafeMutableBufferPointer { b in
            var i = Int(UInt32(truncatingIfNeeded: bucket)) & mask
            while b[i] != 0 { i = (i &+ 1) & mask }
            b[i] = bucket
        }
    }

    private mutating func grow() {
        let old = buckets
        let capacity = Swift.max(16, old.count * 2)
        precondition(capacity <= 1 << 32, "position table too large")
        buckets = [UInt64](repeating: 0, count: capacity)
        mask = capacity - 1
        for bucket in old where bucket != 0 { place(bucket) }
    }

    /// A 64-bit hash of a TUID (a multiply-xorshift mix; the low 32 bits are used for buckets).
    @inline(__always)
    static func hash(_ id: Tuid) -> UInt64 {
        mix(id.timeNs ^ (id.inc &* 0x9E37_79B9_7F4A_7C15))
    }

    /// A 64-bit hash of a string's UTF-8 bytes, 8 bytes at a time (no per-call random seed: the
    /// table only needs a good spread, and a recording's entity paths are few).
    @inline(__always)
    static func hash(_ s: String) -> UInt64 {
        if let h = s.utf8.withContiguousStorageIfAvailable({ hash(UnsafeRawBufferPointer($0)) }) { return h }
        var copy = s
        return copy.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }

    /// The bytes through ArrowIPC's 8-bytes-at-a-time mixer (``ArrowIPC/SchemaHash``, the one the
    /// decoder's entity-path interning uses), finished with ``mix(_:)`` for the bucket bits.
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h = SchemaHash()
        h.combine(bytes)
        return mix(UInt64(UInt(bitPattern: h.value)))
    }

    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var h = x
        h ^= h >> 33
        h &*= 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        h &*= 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return h
    }
}
