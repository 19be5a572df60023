import IngestCore
import IngestTestSupport
import RRD
import Testing

@testable import Ingestion

@Suite("MessageBatch and the reader's moving hand-off")
struct MessageBatchTests {
    @Test("appends and pops keep FIFO order across growth and compaction")
    func fifo() throws {
        var batch = MessageBatch(capacity: 2)
        var model: [UInt64] = []
        var next: UInt64 = 0
        for round in 0..<40 {
            for _ in 0..<(round % 5 + 1) {
                batch.append(M.end(offset: next))
                model.append(next)
                next += 1
            }
            for _ in 0..<(round % 3) where !model.isEmpty {
                let popped = batch.popFirst().offset
                #expect(popped == model.removeFirst())
            }
            let (count, isEmpty) = (batch.count, batch.isEmpty)
            #expect(count == model.count)
            #expect(isEmpty == model.isEmpty)
            if !model.isEmpty {
                let front = try batch.withItem(0) { $0.offset }
                #expect(front == model[0])
            }
        }
        while !model.isEmpty {
            let popped = batch.popFirst().offset
            #expect(popped == model.removeFirst())
        }
        let isEmpty = batch.isEmpty
        #expect(isEmpty)
    }

    @Test("messages left in a batch are released by removeAll and when the batch goes")
    func releases() {
        weak var first: ByteStorage?
        weak var second: ByteStorage?
        do {
            var batch = MessageBatch(capacity: 1)
            let a = ByteStorage([1, 2, 3])
            let b = ByteStorage([4, 5])
            first = a
            second = b
            batch.append(FramedMessage(offset: 0, length: 3, message: .end(footerPayload: ByteSlice(a))))
            batch.append(FramedMessage(offset: 1, length: 2, message: .end(footerPayload: ByteSlice(b))))
            batch.removeAll()
            let isEmpty = batch.isEmpty
            #expect(isEmpty)
            batch.append(FramedMessage(offset: 2, length: 2, message: .end(footerPayload: ByteSlice(b))))
        }
        #expect(first == nil)
        #expect(second == nil)
    }

    @Test("submit(moving:) keeps each store's order, skips End, and matches ids by value too")
    func movingAcrossStores() throws {
        let hub = StoreHub(configuration: IngestConfiguration(queueCapacity: 2))
        // Each call makes a new id value (box): routing must not rely on sharing.
        let a = { M.storeId(1) }
        let b = { M.storeId(2) }
        var batch = MessageBatch()
        for m in [
            M.arrow(a(), offset: 0), M.arrow(a(), offset: 1), M.arrow(a(), offset: 2), M.arrow(b(), offset: 3),
            M.end(offset: 4), M.arrow(a(), offset: 5), M.storeInfo(b(), offset: 6), M.arrow(b(), offset: 7),
            M.arrow(b(), offset: 8),
        ] {
            batch.append(m)
        }
        try hub.submit(moving: &batch, source: "s")
        let isEmpty = batch.isEmpty
        #expect(isEmpty)
        hub.flush()
        #expect(flushAndCollect(try #require(hub.store(a()))).map(\.offset) == [0, 1, 2, 5])
        #expect(flushAndCollect(try #require(hub.store(b()))).map(\.offset) == [3, 6, 7, 8])
        hub.shutdown(drain: true)
    }

    @Test("submit(moving:) to a shut-down store throws and leaves the batch empty")
    func movingIntoClosedStore() throws {
        let hub = StoreHub()
        let id = M.storeId(1)
        try hub.submit(M.arrow(id, offset: 0), source: "s")
        try #require(hub.store(id)).shutdown(drain: true)
        var batch = MessageBatch()
        batch.append(M.arrow(id, offset: 1))
        batch.append(M.arrow(id, offset: 2))
        var failed = false
        do { try hub.submit(moving: &batch, source: "s") } catch { failed = error.code == .closed }
        #expect(failed)
        let isEmpty = batch.isEmpty
        #expect(isEmpty)
        hub.shutdown(drain: true)
    }
}
