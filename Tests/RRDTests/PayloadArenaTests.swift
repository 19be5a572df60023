import CZstd
import Foundation
import IngestCore
import RRD
import Testing

/// A distinct, recognisable byte pattern for payload `index`.
private func pattern(_ index: Int, count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index &* 7 &+ 1) }
}

@Suite("Payload arena: alignment, slabs, big payloads, lifetime")
struct PayloadArenaTests {
    @Test("payloads are 16-byte aligned slices of one slab and keep their bytes")
    func alignment() {
        let arena = PayloadArena()
        var slices: [ByteSlice] = []
        for (i, n) in [1, 3, 17, 100, 16, 5, 4095, 2].enumerated() {
            let p = pattern(i, count: n)
            let s = arena.allocate(count: n) { dst in dst.copyBytes(from: p) }
            #expect((Int(bitPattern: s.storage.baseAddress) + s.range.lowerBound) % PayloadArena.alignment == 0)
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
        let arena = PayloadArena(minSlabSize: page, maxSlabSize: 4 * page)
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
        let arena = PayloadArena(minSlabSize: page, maxSlabSize: 16 * page)
        let n = 3 * page + 5
        #expect(n <= arena.ownMappingThreshold)
        let s = arena.allocate(count: n) { $0.copyBytes(from: pattern(4, count: n)) }
        #expect(s.storage.isArenaSlab && s.storage.count >= n && s.bytes == pattern(4, count: n))
        let t = arena.allocate(count: 10) { $0.copyBytes(from: pattern(5, count: 10)) }
        #expect(t.storage === s.storage && t.bytes == pattern(5, count: 10))
    }

    @Test("a payload above the threshold gets a storage of its own; the slab goes on where it was")
    func bigPayloads() {
        let arena = PayloadArena(minSlabSize: 64 << 10, maxSlabSize: 64 << 10)
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
        let arena = PayloadArena(minSlabSize: page, maxSlabSize: 4 * page)
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
        var arena2: PayloadArena? = PayloadArena()
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
        let arena = PayloadArena(minSlabSize: 8 * page, maxSlabSize: 8 * page, maxRecycledSlabs: 1)
        #expect(arena.maxRecycledSlabs == 1)
        let n = arena.ownMappingThreshold  // 2 pages: four slices fill a slab
        // Three full slabs, each filled by four slices.
        var slices: [ByteSlice] = []
        for i in 0..<12 { slices.append(arena.allocate(count: n) { $0.copyBytes(from: pattern(i, count: n)) }) }
        let bases = stride(from: 0, to: 12, by: 4).map { slices[$0].storage.baseAddress }
        #expect(arena.slabsCreated == 3 && arena.slabsRecycled == 0)
        // Releasing the first two slabs: one waits for reuse, the other is unmapped.
        weak let first: ByteStorage? = slices[0].storage
        slices.removeFirst(8)
        #expect(first == nil)
        // The third slab is full: the next payload goes to the recycled mapping, with its new bytes.
        let again = arena.allocate(count: 100) { $0.copyBytes(from: pattern(99, count: 100)) }
        #expect(arena.slabsCreated == 4 && arena.slabsRecycled == 1)
        #expect(bases[0..<2].contains(again.storage.baseAddress) && again.range.lowerBound == 0)
        #expect(again.bytes == pattern(99, count: 100))
        for (k, s) in slices.enumerated() { #expect(s.bytes == pattern(8 + k, count: n)) }
        // Nothing waits now: the next slab is a fresh mapping.
        for _ in 0..<4 { _ = arena.allocate(count: n) { _ in } }
        #expect(arena.slabsCreated == 5 && arena.slabsRecycled == 1)
        #expect(arena.allocate(count: 1) { _ in }.storage !== again.storage)

        // Growing (smaller) slabs are never kept; with 0 nothing is.
        let none = PayloadArena(minSlabSize: 4 * page, maxSlabSize: 4 * page, maxRecycledSlabs: 0)
        for _ in 0..<12 { _ = none.allocate(count: page) { _ in } }
        #expect(none.slabsCreated == 3 && none.slabsRecycled == 0)
        let growing = PayloadArena(minSlabSize: 4 * page, maxSlabSize: 8 * page, maxRecycledSlabs: 4)
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
        let arena = PayloadArena(minSlabSize: 16 * page, maxSlabSize: 16 * page, smallPayloadLimit: 100)
        #expect(arena.smallPayloadLimit == 100)
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
        let arena = PayloadArena(minSlabSize: 4 * page, maxSlabSize: 4 * page, maxRecycledSlabs: 2)
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
        let arena = PayloadArena()
        let first = arena.allocate(count: 32) { $0.copyBytes(from: pattern(1, count: 32)) }
        #expect(throws: Boom.self) { _ = try arena.allocate(count: 64) { (_) throws(Boom) in throw Boom() } }
        let next = arena.allocate(count: 16) { $0.copyBytes(from: pattern(2, count: 16)) }
        #expect(next.storage === first.storage && next.range == 32..<48)
        #expect(first.bytes == pattern(1, count: 32))
    }

    @Test("decompressedPayload(arena:) decompresses into the arena; corrupt data throws and leaves no trace")
    func decompressIntoArena() throws {
        // An LZ4 block of literals only: token (15 << 4) + length extension, then the bytes.
        let raw = pattern(9, count: 300)
        var lz4: [UInt8] = [0xF0]
        var rest = raw.count - 15
        while rest >= 255 {
            lz4.append(255)
            rest -= 255
        }
        lz4.append(UInt8(rest))
        lz4 += raw
        let store = StoreId(kind: .recording, applicationId: "app", recordingId: "rec")
        let msg = ArrowMsg(
            storeId: store, compression: .lz4, uncompressedSize: UInt64(raw.count), encoding: 1,
            payload: ByteSlice(copying: lz4), chunkId: nil, isStatic: nil)
        let arena = PayloadArena()
        let a = try msg.decompressedPayload(arena: arena)
        #expect(a.storage.isArenaSlab && a.bytes == raw)
        var bad = msg
        bad.uncompressedSize += 1
        #expect(throws: RRDError.self) { _ = try bad.decompressedPayload(arena: arena) }
        let b = try msg.decompressedPayload(arena: arena)
        #expect(b.storage === a.storage && b.range.lowerBound == PayloadArena.alignment * ((raw.count + 15) / 16))
        #expect(b.bytes == raw && a.bytes == raw)
    }
}

@Suite("Read blocks are refilled only when nothing references them")
struct ReadBlockRecyclerTests {
    @Test("the previous block comes back when dropped; a referenced one is left alone with its bytes")
    func recycler() {
        var blocks = ReadBlockRecycler(blockSize: 64)
        var first: ByteStorage? = blocks.fill { $0.copyBytes(from: pattern(1, count: 64)) }
        let firstId = ObjectIdentifier(first!)
        first = nil
        let second = blocks.fill { $0.copyBytes(from: pattern(2, count: 64)) }
        #expect(ObjectIdentifier(second) == firstId, "refilled in place")
        #expect(blocks.blocksReused == 1)
        let held = ByteSlice(storage: second, range: 8..<40)
        let third = blocks.fill { $0.copyBytes(from: pattern(3, count: 64)) }
        #expect(third !== second)
        #expect(held.bytes == Array(pattern(2, count: 64)[8..<40]), "the held slice kept its bytes")
        #expect(blocks.blocksReused == 1 && blocks.blocksHandedOut == 3)
    }

    /// `count` uncompressed ArrowMsgs of distinct payloads (`pattern(i)`, 200...700 bytes).
    static func syntheticRecording(count: Int) -> (bytes: [UInt8], payloads: [[UInt8]]) {
        var bytes = Bytes.streamHeader(compression: 0)
        var payloads: [[UInt8]] = []
        for i in 0..<count {
            let p = pattern(i, count: 200 + (i * 53) % 500)
            payloads.append(p)
            let msg =
                Bytes.ld(1, Bytes.storeId(kind: 1, app: "app", rec: "rec")) + Bytes.vfield(2, 1)
                + Bytes.vfield(3, UInt64(p.count)) + Bytes.vfield(4, 1) + Bytes.ld(5, p)
            bytes += Bytes.message(kind: 2, msg)
        }
        return (bytes, payloads)
    }

    @Test("RRDReader: payloads kept across later blocks keep their bytes (plain and zstd input)", arguments: [false, true])
    func readerKeepsHeldPayloads(zstd: Bool) throws {
        let (bytes, payloads) = Self.syntheticRecording(count: 400)
        var file = bytes
        if zstd {
            var out = [UInt8](repeating: 0, count: ZSTD_compressBound(bytes.count))
            let n = ZSTD_compress(&out, out.count, bytes, bytes.count, 3)
            #expect(ZSTD_isError(n) == 0)
            file = Array(out[0..<n])
        }
        let path = NSTemporaryDirectory() + "block-reuse-\(getpid())-\(zstd).rrd"
        try Data(file).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        // Blocks of 2000 bytes hold a few messages each; every 7th payload is kept until the end.
        var reader = try RRDReader(path: path, options: ReaderOptions(readBlockSize: 2000))
        #expect(reader.isZstdCompressed == zstd)
        var kept: [(Int, ByteSlice)] = []
        var i = 0
        while let event = reader.next() {
            if case .streamHeader = event { continue }
            guard case .message(let m) = event, case .arrowMsg(let a) = m.message else {
                Issue.record("unexpected event \(event)")
                continue
            }
            let asRead = a.payload.bytes == payloads[i]
            #expect(asRead, "payload \(i) as read")
            if i % 7 == 0 { kept.append((i, a.payload)) }
            i += 1
        }
        #expect(i == payloads.count)
        for (k, payload) in kept {
            let intact = payload.bytes == payloads[k]
            #expect(intact, "payload \(k) kept across later blocks")
        }
    }
}
