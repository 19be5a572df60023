import IngestCore
import IngestTestSupport
import Ingestion
import PropertyBased
import RRD
import Testing

/// One generated message: which store, what kind, how big, which producer thread sends it.
struct Step: Sendable, CustomStringConvertible {
    enum Kind: Int, Sendable { case info = 0, arrow, brokenArrow, activation }
    var store: Int
    var kind: Kind
    var payloadBytes: Int
    var producer: Int

    var description: String { "s\(store)/\(kind)/\(payloadBytes)B/p\(producer)" }
}

/// A generated run: the messages, the queue bounds and how fast the consumer drains.
struct Scenario: Sendable, CustomStringConvertible {
    var steps: [Step]
    var capacity: Int
    var maxBytes: Int?
    var consumerBatch: Int

    var description: String {
        "capacity \(capacity), maxBytes \(maxBytes.map(String.init) ?? "none"), batch \(consumerBatch), steps \(steps)"
    }
}

let stepGen = zip(Gen.int(in: 0...4), Gen.int(in: 0...3), Gen.int(in: 0...300), Gen.int(in: 0...2)).map {
    store, kind, bytes, producer in
    Step(store: store, kind: Step.Kind(rawValue: kind)!, payloadBytes: bytes, producer: producer)
}

let scenarioGen = zip(stepGen.array(of: 0...250), Gen.int(in: 1...6), Gen.int(in: 0...600), Gen.int(in: 1...25)).map {
    steps, capacity, bytes, batch in
    Scenario(steps: steps, capacity: capacity, maxBytes: bytes < 50 ? nil : bytes, consumerBatch: batch)
}

@Suite("Ordering properties (random stores, kinds, sizes, producers, consumer pacing)")
struct OrderingPropertyTests {
    @Test("per store: output = admission order, each producer's order kept, nothing lost or duplicated")
    func orderingHolds() async {
        await propertyCheck(count: 60, input: scenarioGen) { scenario in
            Self.run(scenario)
        }
    }

    static func storeId(_ n: Int) -> StoreId { M.storeId(n, kind: n % 2 == 0 ? .recording : .blueprint) }

    static func message(_ step: Step, tag: UInt64) -> FramedMessage {
        let id = storeId(step.store)
        switch step.kind {
        case .info: return M.storeInfo(id, offset: tag)
        case .arrow, .brokenArrow: return M.arrow(id, offset: tag, payloadBytes: step.payloadBytes)
        case .activation: return M.activation(id, offset: tag)
        }
    }

    static func run(_ scenario: Scenario) {
        let steps = scenario.steps
        // The message's index is its tag (its offset): outputs carry it back.
        let broken = Set(steps.indices.filter { steps[$0].kind == .brokenArrow }.map { UInt64($0) })
        let config = IngestConfiguration(queueCapacity: scenario.capacity, maxQueuedBytes: scenario.maxBytes)
            .injectingFailures { broken.contains($0.chunkId?.tuid.timeNs ?? .max) }
        let hub = StoreHub(configuration: config)

        let byProducer = Dictionary(grouping: steps.indices, by: { steps[$0].producer })
        let producers = byProducer.map { producer, indices in
            TestThread {
                for i in indices { try! hub.submit(message(steps[i], tag: UInt64(i)), source: "p\(producer)") }
            }
        }
        var got: [StoreId: [IngestOutput]] = [:]
        var pace = 0
        while !producers.allSatisfy(\.isFinished) {
            pace += 1
            // Random-ish pacing: item-budgeted drains, sometimes a time-budgeted one, sometimes none.
            if pace % 3 == 0 { continue }
            let budget: Duration? = pace % 5 == 0 ? .microseconds(50) : nil
            hub.drain(maxItems: scenario.consumerBatch, timeBudget: budget) { db, item in
                got[db.storeId, default: []].append(item)
            }
        }
        for p in producers { p.join() }
        #expect(hub.flush(timeout: deadline))
        hub.drain { db, item in got[db.storeId, default: []].append(item) }

        var seen = 0
        for store in Set(steps.map(\.store)) {
            let id = storeId(store)
            let items = got[id] ?? []
            seen += items.count
            let expectedTags = steps.indices.filter { steps[$0].store == store }.map { UInt64($0) }
            #expect(items.map(\.sequence) == Array(0..<UInt64(items.count)), "admission numbering in \(id)")
            #expect(items.map(\.offset).sorted() == expectedTags, "nothing lost or duplicated in \(id)")
            for p in Set(steps.map(\.producer)) {
                let mine = items.filter { $0.source == "p\(p)" }.map(\.offset)
                #expect(mine == mine.sorted(), "producer \(p)'s order in \(id)")
            }
            for item in items {
                let step = steps[Int(item.offset)]
                switch (step.kind, item.event) {
                case (.info, .storeInfo), (.activation, .activation), (.arrow, .chunk): break
                case (.arrow, .error(let e)):
                    #expect(e.code == .decode && !e.message.contains("injected"))
                case (.brokenArrow, .error(let e)):
                    #expect(e.code == .decode && e.message.contains("injected failure") && e.offset == item.offset)
                default:
                    Issue.record("message \(step) came out as \(item.event)")
                }
            }
        }
        #expect(seen == steps.count)
        #expect(hub.pollSourceError() == nil, "these runs report no stream errors")
        hub.shutdown(drain: true)
    }
}
