import IngestCore
import Testing

/// A distinct, recognisable byte pattern for block `index`.
private func pattern(_ index: Int, count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index &* 7 &+ 1) }
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
}
