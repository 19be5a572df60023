import IngestCore
@testable import Ingestion
import RRD
import Testing

@Suite("The worker's set of chunk ids")
struct ChunkIdSetTests {
    @Test("inserts report new ids once, across growth, like Set<ChunkId>")
    func behavesLikeASet() {
        var ids = ChunkIdSet()
        var reference = Set<ChunkId>()
        var state: UInt64 = 0x1234_5678
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        for k in 0..<5000 {
            // Runs of counting ids (as one process makes them), random ones, and repeats.
            let id: ChunkId
            switch k % 3 {
            case 0: id = ChunkId(timeNs: 1_700_000_000_000_000_000, inc: UInt64(k))
            case 1: id = ChunkId(timeNs: next() % 50, inc: next() % 50)
            default: id = ChunkId(timeNs: 0, inc: 0)
            }
            #expect(ids.insert(id).inserted == reference.insert(id).inserted)
            #expect(ids.count == reference.count)
        }
        for id in reference { #expect(ids.contains(id)) }
        #expect(!ids.contains(ChunkId(timeNs: 99, inc: 99)))
    }
}
