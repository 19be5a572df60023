import IngestCore
import PropertyBased
import RRD
import Testing

@testable import Ingestion

@Suite("InputRing: bounded FIFO with on-demand growth")
struct InputRingTests {
    static func pending(_ n: Int) -> PendingMessage {
        PendingMessage(
            message: .end(footerPayload: ByteSlice(copying: [])), source: "r", offset: UInt64(n), sequence: UInt64(n),
            byteCount: 0)
    }

    @Test("random pushes and take-alls, across growth and wrap-around, keep FIFO order against a model")
    func fifoAgainstModel() async {
        let ops = zip(Gen.int(in: 1...40), Gen.int(in: 0...3)).array(of: 1...60)
        await propertyCheck(count: 200, input: Gen.int(in: 1...70), ops) { capacity, ops in
            var ring = InputRing(capacity: capacity)
            var model: [UInt64] = []
            var next = 0
            var batch: [PendingMessage] = []
            for (pushes, takes) in ops {
                for _ in 0..<pushes where !ring.isFull {
                    ring.push(Self.pending(next))
                    model.append(UInt64(next))
                    next += 1
                }
                let (count, full) = (ring.count, ring.isFull)
                #expect(count == model.count)
                #expect(count <= capacity)
                #expect(full == (model.count == capacity))
                if takes > 0 {
                    // Both orders: oldest first, and newest first (what the worker pops from).
                    if takes % 2 == 0 {
                        ring.takeAll(into: &batch)
                        #expect(batch.map(\.offset) == model)
                    } else {
                        ring.takeAllNewestFirst(into: &batch)
                        #expect(batch.map(\.offset) == model.reversed())
                    }
                    let empty = ring.isEmpty
                    #expect(empty)
                    model.removeAll()
                    batch.removeAll(keepingCapacity: true)
                }
            }
        }
    }
}
