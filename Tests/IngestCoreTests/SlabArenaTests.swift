#if canImport(Glibc)
import Glibc
#endif
import IngestCore
import Testing

/// A distinct, recognisable byte pattern for allocation `index`.
private func pattern(_ index: Int, count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index &* 7 &+ 1) }
}

/// A payload arena (``SlabArena/Configuration/payloads``) with other slab sizes, recycling or
/// small-payload limit.
private func payloadArena(
    minSlabSize: Int, maxSlabSize: Int, maxRecycledSlabs: Int = SlabArena.Configuration.payloads.maxRecycledSlabs,
    smallAllocationLimit: Int = SlabArena.Configuration.payloads.smallAllocationLimit
) -> SlabArena {
    var c = SlabArena.Configuration.payloads
    c.minSlabSize = minSlabSize
    c.maxSlabSize = maxSlabSize
    c.maxRecycledSlabs = maxRecycledSlabs
    c.smallAllocationLimit = smallAllocationLimit
    return SlabArena(c)
}

@Suite("Slab arena (payload configuration): alignment, slabs, big payloads, lifetime, recycling")
struct SlabArenaPayloadTests {
    @Test("payloads are 16-byte aligned slices of one slab and keep their bytes")
    func alignment() {
        let arena = SlabArena(.payloads)
        var slices: [ByteSlice] = []
        for (i, n) in [1, 3, 17, 100, 16, 5, 4095, 2].enumerated() {
            let p = pattern(i, count: n)
            let s = arena.allocate(count: n) { dst in dst.copyBytes(from: p) }
            #expect((Int(bitPattern: s.storage.unsafeBaseAddress) + s.range.lowerBound) % SlabArena.alignment == 0)
            #expect(s.count == n)
            #expect(s.storage.isArenaSlab)
            slices.append(s)
        }
        #expect(Set(slices.map { ObjectIdentifier($0.storage) }).count == 1, "all in the first slab")
        #expect(arena.slabsCreated == 1)
        for (i, s) in slices.enumerated() { #expect(s.bytes == pattern(i, count: s.count)) }
    }

    @Test("filling slabs: no payload crosses a slab's end or overlaps another; slabs grow to the maximum")
    func slabBoundaries() {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let arena = payloadArena(minSlabSize: page, maxSlabSize: 4 * page)
        #expect(arena.ownMappingThreshold == page)
        var slices: [ByteSlice] = []
        for i in 0..<200 {
            let n = 1 + (i * 37) % (page / 2)
            let p = pattern(i, count: n)
            slices.append(arena.allocate(count: n) { $0.copyBytes(from: p) })
        }
        var slabs: [ObjectIdentifier: (size: Int, ranges: [Range<Int>])] = [:]
        for s in slices {
            #expect(s.range.upperBound <= s.storage.count)
            slabs[ObjectIdentifier(s.storage), default: (s.storage.count, [])].ranges.append(s.range)
        }
        #expect(slabs.count == arena.slabsCreated)
        #expect(arena.slabsCreated > 3)
        #expect(Set(slabs.values.map(\.size)) == [page, 2 * page, 4 * page], "doubling from the minimum, capped")
        for (_, slab) in slabs {
            let sorted = slab.ranges.sorted { $0.lowerBound < $1.lowerBound }
            for (a, b) in zip(sorted, sorted.dropFirst()) { #expect(a.upperBound <= b.lowerBound) }
        }
        // Every payload still holds what was written (a later one never overwrote it).
        for (i, s) in slices.enumerated() { #expect(s.bytes == pattern(i, count: s.count)) }
    }

    @Test("a first payload larger than the first slab (but under the threshold) gets a slab it fits in")
    func payloadLargerThanFirstSlab() {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let arena = payloadArena(minSlabSize: page, maxSlabSize: 16 * page)
        let n = 3 * page + 5
        #expect(n <= arena.ownMappingThreshold)
        let s = arena.allocate(count: n) { $0.copyBytes(from: pattern(4, count: n)) }
        #expect(s.storage.isArenaSlab && s.storage.count >= n && s.bytes == pattern(4, count: n))
        let t = arena.allocate(count: 10) { $0.copyBytes(from: pattern(5, count: 10)) }
        #expect(t.storage === s.storage && t.bytes == pattern(5, count: 10))
    }

    @Test("a payload above the threshold gets a storage of its own; the slab goes on where it was")
    func bigPayloads() {
        let arena = payloadArena(minSlabSize: 64 << 10, maxSlabSize: 64 << 10)
        let small1 = arena.allocate(count: 100) { $0.copyBytes(from: pattern(1, count: 100)) }
        let bigCount = arena.ownMappingThreshold + 1
        let big = arena.allocate(count: bigCount) { $0.copyBytes(from: pattern(2, count: bigCount)) }
        let small2 = arena.allocate(count: 100) { $0.copyBytes(from: pattern(3, count: 100)) }
        #expect(big.storage.count == bigCount && big.range == 0..<bigCount)
        #expect(!big.storage.isArenaSlab)
        #expect(arena.ownMappingsCreated == 1 && arena.slabsCreated == 1)
        #expect(small2.storage === small1.storage && small2.range.lowerBound == 112)
        #expect(big.bytes == pattern(2, count: bigCount))
        let empty = arena.allocate(count: 0) { _ in }
        #expect(empty.isEmpty)
    }

    @Test("a slab is freed when its last slice goes, not before")
    func lifetime() {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let arena = payloadArena(minSlabSize: page, maxSlabSize: 4 * page)
        weak var firstSlab: ByteStorage?
        var kept: ByteSlice?
        do {
            let a = arena.allocate(count: 1000) { $0.copyBytes(from: pattern(1, count: 1000)) }
            kept = arena.allocate(count: 1000) { $0.copyBytes(from: pattern(2, count: 1000)) }
            firstSlab = a.storage
            // Does not fit in what is left of the first slab: the arena moves on to a second one.
            let c = arena.allocate(count: page - 100) { _ in }
            #expect(c.storage !== a.storage && c.storage.isArenaSlab)
        }
        #expect(firstSlab != nil, "one slice of it is still alive")
        #expect(kept!.bytes == pattern(2, count: 1000))
        kept = nil
        #expect(firstSlab == nil, "its last slice is gone")

        // The slab being filled is kept by the arena too: freed when both the arena and the slices go.
        weak var current: ByteStorage?
        var arena2: SlabArena? = SlabArena(.payloads)
        var slice: ByteSlice? = arena2!.allocate(count: 10) { $0.copyBytes(from: pattern(3, count: 10)) }
        current = slice!.storage
        arena2 = nil
        #expect(current != nil)
        #expect(slice!.bytes == pattern(3, count: 10))
        slice = nil
        #expect(current == nil)
    }

    @Test("a released full-size slab is filled again (up to maxRecycledSlabs wait); smaller ones are not kept")
    func recycling() {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let arena = payloadArena(minSlabSize: 8 * page, maxSlabSize: 8 * page, maxRecycledSlabs: 1)
        #expect(arena.maxRecycledSlabs == 1)
        let n = arena.ownMappingThreshold  // 2 pages: four slices fill a slab
        // Three full slabs, each filled by four slices.
        var slices: [ByteSlice] = []
        for i in 0..<12 { slices.append(arena.allocate(count: n) { $0.copyBytes(from: pattern(i, count: n)) }) }
        let bases = stride(from: 0, to: 12, by: 4).map { slices[$0].storage.unsafeBaseAddress }
        #expect(arena.slabsCreated == 3 && arena.slabsRecycled == 0)
        // Releasing the first two slabs: one waits for reuse, the other is unmapped.
        weak let first: ByteStorage? = slices[0].storage
        slices.removeFirst(8)
        #expect(first == nil)
        // The third slab is full: the next payload goes to the recycled mapping, with its new bytes.
        let again = arena.allocate(count: 100) { $0.copyBytes(from: pattern(99, count: 100)) }
        #expect(arena.slabsCreated == 4 && arena.slabsRecycled == 1)
        #expect(bases[0..<2].contains(again.storage.unsafeBaseAddress) && again.range.lowerBound == 0)
        #expect(again.bytes == pattern(99, count: 100))
        for (k, s) in slices.enumerated() { #expect(s.bytes == pattern(8 + k, count: n)) }
        // Nothing waits now: the next slab is a fresh mapping.
        for _ in 0..<4 { _ = arena.allocate(count: n) { _ in } }
        #expect(arena.slabsCreated == 5 && arena.slabsRecycled == 1)
        #expect(arena.allocate(count: 1) { _ in }.storage !== again.storage)

        // Growing (smaller) slabs are never kept; with 0 nothing is.
        let none = payloadArena(minSlabSize: 4 * page, maxSlabSize: 4 * page, maxRecycledSlabs: 0)
        for _ in 0..<12 { _ = none.allocate(count: page) { _ in } }
        #expect(none.slabsCreated == 3 && none.slabsRecycled == 0)
        let growing = payloadArena(minSlabSize: 4 * page, maxSlabSize: 8 * page, maxRecycledSlabs: 4)
        for _ in 0..<4 { _ = growing.allocate(count: page) { _ in } }  // the 4-page slab
        for _ in 0..<4 { _ = growing.allocate(count: 2 * page) { _ in } }  // an 8-page one; the first is unmapped
        #expect(growing.slabsWaiting == 0)
        for _ in 0..<4 { _ = growing.allocate(count: 2 * page) { _ in } }  // another; the first 8-page one waits
        #expect(growing.slabsWaiting == 1)
        _ = growing.allocate(count: 1) { _ in }
        #expect(growing.slabsCreated == 4 && growing.slabsRecycled == 1)
        #expect(growing.slabsWaiting == 1, "the slab just left waits in its place")
    }

    @Test("small payloads and larger ones fill separate slabs: the small ones' slab goes when they do")
    func smallPayloadsApart() {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let arena = payloadArena(minSlabSize: 16 * page, maxSlabSize: 16 * page, smallAllocationLimit: 100)
        #expect(arena.smallAllocationLimit == 100)
        var smalls: [ByteSlice] = []
        var larges: [ByteSlice] = []
        for i in 0..<10 {
            smalls.append(arena.allocate(count: 100) { $0.copyBytes(from: pattern(i, count: 100)) })
            larges.append(arena.allocate(count: 101) { $0.copyBytes(from: pattern(50 + i, count: 101)) })
        }
        #expect(Set(smalls.map { ObjectIdentifier($0.storage) }).count == 1)
        #expect(Set(larges.map { ObjectIdentifier($0.storage) }).count == 1)
        #expect(smalls[0].storage !== larges[0].storage && arena.slabsCreated == 2)
        for (i, s) in smalls.enumerated() { #expect(s.bytes == pattern(i, count: 100)) }
        for (i, s) in larges.enumerated() { #expect(s.bytes == pattern(50 + i, count: 101)) }
        // The small payloads consumed (and the arena moved on): their slab is freed though large ones live.
        weak let smallSlab = smalls[0].storage
        smalls.removeAll()
        // Small payloads until one no longer fits that slab: a new one.
        var next = arena.allocate(count: 100) { _ in }
        while next.storage === smallSlab { next = arena.allocate(count: 100) { _ in } }
        #expect(smallSlab == nil)
        #expect(larges[9].bytes == pattern(59, count: 101))
    }

    @Test("slabs released on another thread come back to the arena's thread")
    func recyclingAcrossThreads() async {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let arena = payloadArena(minSlabSize: 4 * page, maxSlabSize: 4 * page, maxRecycledSlabs: 2)
        for round in 0..<64 {
            let slice = arena.allocate(count: page) { $0.copyBytes(from: pattern(round, count: page)) }
            // Dropped on another thread, like a worker dropping the last message of a slab.
            let ok = await Task.detached { slice.bytes == pattern(round, count: page) }.value
            #expect(ok)
        }
        #expect(arena.slabsCreated == 16)
        #expect(arena.slabsRecycled >= 1, "\(arena.slabsRecycled) of 16 slabs were reused")
    }

    @Test("a throwing initializer gives its bytes back")
    func throwingInitializer() {
        struct Boom: Error {}
        let arena = SlabArena(.payloads)
        let first = arena.allocate(count: 32) { $0.copyBytes(from: pattern(1, count: 32)) }
        #expect(throws: Boom.self) { _ = try arena.allocate(count: 64) { (_) throws(Boom) in throw Boom() } }
        let next = arena.allocate(count: 16) { $0.copyBytes(from: pattern(2, count: 16)) }
        #expect(next.storage === first.storage && next.range == 32..<48)
        #expect(first.bytes == pattern(1, count: 32))
    }
}

@Suite("Slab arena (chunk-body configuration) and configurations")
struct SlabArenaConfigurationTests {
    @Test("the two named configurations keep the tuned figures")
    func namedConfigurations() {
        let payloads = SlabArena(.payloads)
        #expect(payloads.configuration.minSlabSize == 256 << 10 && payloads.configuration.maxSlabSize == 4 << 20)
        #expect(payloads.ownMappingThreshold == 1 << 20 && payloads.smallAllocationLimit == 64 << 10)
        #expect(payloads.maxRecycledSlabs == 4 && !payloads.configuration.takesSpareSlabs)
        let bodies = SlabArena(.chunkBodies)
        #expect(bodies.configuration.minSlabSize == 64 << 10 && bodies.configuration.maxSlabSize == 4 << 20)
        #expect(bodies.ownMappingThreshold == 1 << 20 && bodies.smallAllocationLimit == 0)
        #expect(bodies.maxRecycledSlabs == 0 && bodies.configuration.takesSpareSlabs)
        #expect(SpareSlabs.slabSize == bodies.configuration.maxSlabSize)
        #expect(SlabArena.alignment == 16)
    }

    @Test("batches share slabs; a batch too large for one gets a storage of its own; slabs grow")
    func arenaSlabs() {
        var c = SlabArena.Configuration.chunkBodies
        c.minSlabSize = 1024
        c.maxSlabSize = 4096
        let arena = SlabArena(c)
        var ranges: [(ByteStorage, Range<Int>, UInt8)] = []
        for (i, n) in [100, 7, 500, 600, 1000, 1024, 0, 300].enumerated() {
            let slice = arena.allocate(count: n) { $0.initializeMemory(as: UInt8.self, repeating: UInt8(i)) }
            let (s, at) = (slice.storage, slice.range.lowerBound)
            #expect(at % SlabArena.alignment == 0 && at + n <= s.count)
            ranges.append((s, at..<(at + n), UInt8(i)))
        }
        // 1024 + 100 + 7 + 500 fill the first 1024-byte slab, then 2048, 4096 ...; 1024 is at the cap (4096 / 4).
        #expect(arena.slabsCreated >= 2)
        let big = arena.allocate(count: 1025) { $0.initializeMemory(as: UInt8.self, repeating: 0xEE) }
        #expect(big.range.lowerBound == 0 && big.storage.count == 1025)
        for (s, r, v) in ranges {
            s.withUnsafeBytes(r) { bytes in #expect(bytes.allSatisfy { $0 == v }) }
            for (t, q, _) in ranges where t === s && q != r && !q.isEmpty && !r.isEmpty {
                #expect(!q.overlaps(r))
            }
        }
    }

    @Test("slab sizes below a page are kept: 1 KiB, 2 KiB, then the cap; an empty allocation opens no slab")
    func smallSlabSizes() {
        let arena = SlabArena(.init(minSlabSize: 1024, maxSlabSize: 4096))
        let empty = arena.allocate(count: 0) { _ in }
        #expect(empty.isEmpty && !empty.storage.isArenaSlab && arena.slabsCreated == 0)
        var sizes: [Int] = []
        for _ in 0..<4 { sizes.append(arena.allocate(count: 1000) { _ in }.storage.count) }
        #expect(sizes == [1024, 2048, 2048, 4096])
        #expect(arena.slabsCreated == 3 && arena.ownMappingsCreated == 0)
    }

    @Test("a configured own-mapping threshold decides which allocations get a mapping of their own")
    func ownMappingThreshold() {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let arena = SlabArena(.init(minSlabSize: 4 * page, maxSlabSize: 4 * page, ownMappingThreshold: 100))
        #expect(arena.ownMappingThreshold == 100)
        let inSlab = arena.allocate(count: 100) { $0.copyBytes(from: pattern(1, count: 100)) }
        let own = arena.allocate(count: 101) { $0.copyBytes(from: pattern(2, count: 101)) }
        #expect(inSlab.storage.isArenaSlab && !own.storage.isArenaSlab)
        #expect(own.range == 0..<101 && own.storage.count == 101)
        #expect(arena.slabsCreated == 1 && arena.ownMappingsCreated == 1)
        #expect(inSlab.bytes == pattern(1, count: 100) && own.bytes == pattern(2, count: 101))
    }

    @Test("an initializer that throws in a slab it opened leaves that slab to the next allocation, from its start")
    func throwingInNewSlab() {
        struct Boom: Error {}
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let arena = SlabArena(.init(minSlabSize: page, maxSlabSize: page, ownMappingThreshold: page))
        let first = arena.allocate(count: page - 16) { $0.copyBytes(from: pattern(1, count: page - 16)) }
        #expect(throws: Boom.self) { _ = try arena.allocate(count: 64) { (_) throws(Boom) in throw Boom() } }
        #expect(arena.slabsCreated == 2)
        let next = arena.allocate(count: 64) { $0.copyBytes(from: pattern(2, count: 64)) }
        #expect(next.storage !== first.storage && next.range == 0..<64 && arena.slabsCreated == 2)
        #expect(first.bytes == pattern(1, count: page - 16) && next.bytes == pattern(2, count: 64))
    }

    @Test("slabs outlive their arena: slices keep their bytes, and free their slabs, after it is gone")
    func releaseAfterArena() {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        var arena: SlabArena? = SlabArena(
            .init(minSlabSize: page, maxSlabSize: page, ownMappingThreshold: page, maxRecycledSlabs: 2))
        var kept: [ByteSlice] = []
        for i in 0..<3 { kept.append(arena!.allocate(count: page) { $0.copyBytes(from: pattern(i, count: page)) }) }
        kept.removeFirst()
        #expect(arena!.slabsWaiting == 1)
        arena = nil
        for (i, s) in kept.enumerated() { #expect(s.bytes == pattern(i + 1, count: page)) }
        weak let last = kept[1].storage
        kept.removeAll()
        #expect(last == nil)
    }

    @Test("configurations that break the size rules stop the process")
    func invalidConfigurations() async {
        await #expect(processExitsWith: .failure) { _ = SlabArena(.init(minSlabSize: 8192, maxSlabSize: 4096)) }
        await #expect(processExitsWith: .failure) { _ = SlabArena(.init(minSlabSize: 0, maxSlabSize: 4096)) }
        await #expect(processExitsWith: .failure) {
            _ = SlabArena(.init(minSlabSize: 4096, maxSlabSize: 4096, ownMappingThreshold: 4097))
        }
        await #expect(processExitsWith: .failure) {
            _ = SlabArena(.init(minSlabSize: 4096, maxSlabSize: 4096, maxRecycledSlabs: -1))
        }
    }
}
