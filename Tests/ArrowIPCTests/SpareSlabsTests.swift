import ArrowIPC
import Testing

@Suite("Spare slabs: pages touched ahead of time for body arenas")
struct SpareSlabsTests {
    @Test("the pool stays within its limit, and an arena fills a spare slab like a fresh one")
    func poolAndArena() {
        #expect(!SpareSlabs.prefault(upTo: 0), "a limit of 0 makes nothing")
        // Other suites' replays may add or take slabs meanwhile (the pool is process-wide), so the
        // count is only checked against the largest limit anyone uses.
        for _ in 0..<8 { SpareSlabs.prefault(upTo: 2) }
        #expect(SpareSlabs.count <= 4)

        let arena = ArrowBodyArena(minSlabSize: SpareSlabs.slabSize, maxSlabSize: SpareSlabs.slabSize)
        var pieces: [(ArrowStorage, Int, UInt8)] = []
        // Three slabs' worth of 700 KiB pieces (four per slab): whether a slab came from the pool or
        // was mapped fresh, every piece reads back what was written.
        for k in 0..<12 {
            let value = UInt8(k + 1)
            let (storage, offset) = arena.allocate(count: 700 << 10) { $0.initializeMemory(as: UInt8.self, repeating: value) }
            pieces.append((storage, offset, value))
        }
        #expect(arena.slabsCreated == 3)
        for (storage, offset, value) in pieces {
            storage.withUnsafeBytes(offset..<(offset + (700 << 10))) { bytes in
                #expect(bytes.allSatisfy { $0 == value })
            }
        }
    }
}
