import FixtureSupport
import RRD
import Store
import Testing

/// Random stores checked against the brute-force ``Oracle``: every permutation of the same chunks (with
/// duplicates mixed in) gives the oracle's answer to every query.
@Suite("ChunkStore properties")
struct ChunkStorePropertyTests {
    static let seeds: [UInt64] = Array(1...40)

    /// Asks every (entity, component, timeline) at every time from -4 to 13, plus ranges.
    static func checkAgainstOracle(_ store: ChunkStore<TestChunk>, _ oracle: Oracle, seed: UInt64) {
        for entity in ChunkGenerator.entities + ["/unknown"] {
            for component in ChunkGenerator.components {
                #expect(
                    store.staticCell(entity: entity, component: component).map(Answer.init)
                        == oracle.staticCell(entity: entity, component: component), "seed \(seed)")
                for timeline in ChunkGenerator.timelines {
                    for t in Int64(-4)...13 {
                        let got = store.latestAt(entity: entity, component: component, timeline: timeline, at: t)
                        let want = oracle.latestAt(entity: entity, component: component, timeline: timeline, at: t)
                        #expect(
                            got.map(Answer.init) == want,
                            "seed \(seed): latest-at \(entity) \(component) \(timeline) @\(t)")
                    }
                    for (t0, t1) in [(Int64(-4), Int64(13)), (0, 0), (2, 6), (5, 4), (11, 20)] {
                        let got = store.range(
                            entity: entity, component: component, timeline: timeline, from: t0, through: t1)
                        let want = oracle.range(
                            entity: entity, component: component, timeline: timeline, from: t0, through: t1)
                        #expect(
                            got.map(Answer.init) == want,
                            "seed \(seed): range \(entity) \(component) \(timeline) [\(t0), \(t1)]")
                    }
                }
            }
        }
    }

    @Test("permuted insertion orders, with duplicates, give the oracle's answers", arguments: seeds)
    func permutations(seed: UInt64) throws {
        var generator = ChunkGenerator(seed: seed)
        let chunks = generator.chunks(Int(seed % 25) + 5)
        let oracle = Oracle(chunks)
        let kept = Set(oracle.chunks.map(\.id))  // chunks without rows or components are dropped
        let expectedOutcome = { (c: TestChunk, first: Bool) -> InsertOutcome in
            kept.contains(c.id) ? (first ? .inserted : .duplicate) : .droppedEmpty
        }
        var rng = SplitMix64(seed: seed &* 7919)
        for round in 0..<3 {
            var order = chunks
            order.shuffle(using: &rng)
            let duplicates = (0..<3).map { _ in chunks.randomElement(using: &rng)! }
            let store = ChunkStore<TestChunk>()
            if round == 2 {
                // One batch call, with the duplicates inside it.
                let (summary, errors) = store.insert(contentsOf: order + duplicates)
                #expect(errors.isEmpty)
                #expect(summary.inserted == kept.count)
                #expect(summary.duplicates == duplicates.filter { kept.contains($0.id) }.count)
                #expect(summary.droppedEmpty == (order + duplicates).filter { !kept.contains($0.id) }.count)
            } else {
                for c in order { #expect(try store.insert(c) == expectedOutcome(c, true)) }
                for c in duplicates { #expect(try store.insert(c) == expectedOutcome(c, false)) }
            }
            #expect(store.statistics.duplicatesSkipped == duplicates.filter { kept.contains($0.id) }.count)
            #expect(store.statistics.chunks == kept.count)
            #expect(store.statistics.rows == oracle.chunks.reduce(0) { $0 + $1.numRows })
            Self.checkAgainstOracle(store, oracle, seed: seed)
        }
    }

    @Test("removing a random half answers like a store that never had it", arguments: seeds.prefix(15))
    func removals(seed: UInt64) throws {
        var generator = ChunkGenerator(seed: seed)
        let chunks = Oracle(generator.chunks(20)).chunks  // only chunks the store keeps
        var rng = SplitMix64(seed: seed ^ 0xABCD)
        let store = ChunkStore<TestChunk>()
        _ = store.insert(contentsOf: chunks)
        var kept: [TestChunk] = []
        for c in chunks.shuffled(using: &rng) {
            if Bool.random(using: &rng) { #expect(store.remove(chunkId: c.id) == c) } else { kept.append(c) }
        }
        Self.checkAgainstOracle(store, Oracle(kept), seed: seed)
        let fresh = ChunkStore<TestChunk>()
        _ = fresh.insert(contentsOf: kept)
        #expect(store.timelines() == fresh.timelines())
        #expect(store.entityPaths() == fresh.entityPaths())
        for entity in store.entityPaths() { #expect(store.components(of: entity) == fresh.components(of: entity)) }
    }
}
