/// The engine's open-addressing hash table: positions (indices into an array the caller owns),
/// keyed by values the caller compares. 8 bytes per bucket, linear probing, backward-shift deletion
/// (no tombstones), at most 3/4 full.
///
/// A bucket holds `position + 1` in its high 32 bits and the low 32 bits of the key's hash in its
/// low ones (0: empty). A look-up compares the stored hash bits first, so a missing key rarely makes
/// the caller compare keys; the table never needs the keys themselves (it rehashes from the stored
/// bits). Hashes come from ``HashMixer`` (ids: ``Tuid/hash64``; bytes and strings: ``ByteHasher``),
/// whose low bits are as good as its high ones.
///
/// Users: the store's chunk-id and entity-path indexes, the worker's set of chunk ids received, the
/// chunk decoder's entity-path interning.
///
/// ```swift
/// var table = PositionTable()
/// var names: [String] = []
/// let h = ByteHasher.hash("/points")
/// if table.find(hash: h, { names[Int($0)] == "/points" }) == nil {
///     table.insert(hash: h, position: Int32(names.count))
///     names.append("/points")
/// }
/// ```
///
/// - Complexity: expected O(1) per operation; growing rehashes every bucket (amortised O(1)).
// `@usableFromInline`: without it the compiler (6.3) does not inline a package type's `@inlinable`
// methods into other modules, and a look-up becomes a call plus a closure call (measured: about
// 100 instructions more per chunk on scalars_50mb).
@usableFromInline
package struct PositionTable {
    @usableFromInline var buckets: [UInt64] = []
    @usableFromInline var mask = 0
    @usableFromInline var held = 0

    /// An empty table (no buckets until the first insert).
    @inlinable
    package init() {}

    /// Number of positions held.
    @inlinable
    package var count: Int { held }

    /// Bytes of bucket storage (for tests and sizing).
    package var bucketBytes: Int { buckets.capacity * MemoryLayout<UInt64>.stride }

    /// The position whose key `matches`, among those stored with this hash.
    @inlinable @inline(__always)
    package func find(hash: UInt64, _ matches: (Int32) -> Bool) -> Int32? {
        guard held > 0 else { return nil }
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
    @inlinable
    package mutating func insert(hash: UInt64, position: Int32) {
        precondition(position >= 0 && position < Int32.max, "position \(position) out of range")
        if (held + 1) * 4 > buckets.count * 3 { grow() }
        place(UInt64(UInt32(position + 1)) << 32 | UInt64(UInt32(truncatingIfNeeded: hash)))
        held += 1
    }

    /// Removes `position`, stored under `hash`; a no-op when it is not there.
    @inlinable
    package mutating func remove(hash: UInt64, position: Int32) {
        guard held > 0 else { return }
        let want = UInt64(UInt32(position + 1)) << 32 | UInt64(UInt32(truncatingIfNeeded: hash))
        let mask = self.mask
        let removed = buckets.withUnsafeMutableBufferPointer { b -> Bool in
            var i = Int(UInt32(truncatingIfNeeded: hash)) & mask
            while b[i] != want {
                if b[i] == 0 { return false }
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
            return true
        }
        if removed { held -= 1 }
    }

    /// Empties the table; with `keepingCapacity`, the buckets stay allocated (zeroed).
    package mutating func removeAll(keepingCapacity: Bool = false) {
        if keepingCapacity {
            buckets.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        } else {
            buckets = []
            mask = 0
        }
        held = 0
    }

    /// Every position held, in bucket order.
    package var positions: [Int32] {
        buckets.compactMap { $0 == 0 ? nil : Int32(truncatingIfNeeded: $0 >> 32) - 1 }
    }

    @inlinable
    mutating func place(_ bucket: UInt64) {
        let mask = self.mask
        buckets.withUnsafeMutableBufferPointer { b in
            var i = Int(UInt32(truncatingIfNeeded: bucket)) & mask
            while b[i] != 0 { i = (i &+ 1) & mask }
            b[i] = bucket
        }
    }

    @usableFromInline
    mutating func grow() {
        let old = buckets
        let capacity = Swift.max(16, old.count * 2)
        precondition(capacity <= 1 << 32, "position table too large")
        buckets = [UInt64](repeating: 0, count: capacity)
        mask = capacity - 1
        for bucket in old where bucket != 0 { place(bucket) }
    }
}
