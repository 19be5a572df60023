import IngestCore
import Testing

@Suite("Spare slabs: pages touched ahead of time for the arenas that take them")
struct SpareSlabsTests {
    @Test("the pool stays within its limit, and an arena fills a spare slab like a fresh one")
    func poolAndArena() {
        #expect(!SpareSlabs.prefault(upTo: 0), "a limit of 0 makes nothing")
        // Other suites' replays may add or take slabs meanwhile (the pool is process-wide), so the
        // count is only checked against the largest limit anyone uses.
        for _ in 0..<8 { SpareSlabs.prefault(upTo: 2) }
        #expect(SpareSlabs.count <= 4)

        let arena = SlabArena(
            .init(minSlabSize: SpareSlabs.slabSize, maxSlabSize: SpareSlabs.slabSize, takesSpareSlabs: true))
        var pieces: [(ByteStorage, Int, UInt8)] = []
        // Three slabs' worth of 700 KiB pieces (five per slab): whether a slab came from the pool or
        // was mapped fresh, every piece reads back what was written.
        for k in 0..<12 {
            let value = UInt8(k + 1)
            let piece = arena.allocate(count: 700 << 10) { $0.initializeMemory(as: UInt8.self, repeating: value) }
            pieces.append((piece.storage, piece.range.lowerBound, value))
        }
        #expect(arena.slabsCreated == 3)
        for (storage, offset, value) in pieces {
            storage.withUnsafeBytes(offset..<(offset + (700 << 10))) { bytes in
                #expect(bytes.allSatisfy { $0 == value })
            }
        }
    }

    @Test("only an arena configured to take spare slabs takes them, and only for slabs of their size")
    func onlyConfiguredArenasTake() {
        let size = SpareSlabs.slabSize
        var taken = false
        // Another suite may take the slab made here before this arena does: try a few times.
        for _ in 0..<20 where !taken {
            SpareSlabs.prefault(upTo: 4)
            let others = SlabArena(.init(minSlabSize: size, maxSlabSize: size))
            _ = others.allocate(count: 1) { $0[0] = 1 }
            #expect(others.spareSlabsTaken == 0 && others.slabsCreated == 1)
            let smaller = SlabArena(.init(minSlabSize: size / 2, maxSlabSize: size / 2, takesSpareSlabs: true))
            _ = smaller.allocate(count: 1) { $0[0] = 1 }
            #expect(smaller.spareSlabsTaken == 0)
            let taker = SlabArena(.init(minSlabSize: size, maxSlabSize: size, takesSpareSlabs: true))
            let values = (0..<100).map { UInt8($0) }
            let piece = taker.allocate(count: 100) { $0.copyBytes(from: values) }
            #expect(piece.bytes == values)
            taken = taker.spareSlabsTaken == 1
        }
        #expect(taken, "a waiting spare slab was taken")
    }
}
