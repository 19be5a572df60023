import ArrowIPC
import Chunks
import FixtureSupport
import IngestCore
import RRD
import Synchronization
import Testing

/// `Chunk.concatenate` on the decoded fixtures: every cell of the merged chunk is the cell of the row it
/// came from (or null when that row's chunk lacks the column), rows in RowId order.
@Suite("Chunk concatenation")
struct ChunkConcatenateTests {
    static let pairsTested = Mutex(0)

    /// Checks `merged` against its two sources, cell by cell.
    static func check(_ merged: Chunk, _ a: Chunk, _ b: Chunk, _ context: String) {
        #expect(merged.numRows == a.numRows + b.numRows, "\(context)")
        #expect(merged.rowIds == (a.rowIds + b.rowIds).sorted(), "\(context)")
        #expect(merged.timelines.map(\.name) == a.timelines.map(\.name), "\(context)")
        var names = a.components.map(\.name)
        for c in b.components where !names.contains(c.name) { names.append(c.name) }
        #expect(merged.components.map(\.name) == names, "\(context)")
        // Each merged row's source: a's rows first at equal RowIds.
        var i = 0
        var j = 0
        for row in 0..<merged.numRows {
            let (source, r): (Chunk, Int)
            if j >= b.numRows || (i < a.numRows && a.rowIds[i] <= b.rowIds[j]) {
                (source, r) = (a, i)
                i += 1
            } else {
                (source, r) = (b, j)
                j += 1
            }
            for t in merged.timelines {
                #expect(t.time(at: row) == source.timeline(named: t.name)!.time(at: r), "\(context) row \(row)")
            }
            for c in merged.components {
                if let original = source.component(named: c.name) {
                    #expect(c.isNull(row) == original.isNull(r), "\(context) \(c.name) row \(row)")
                    #expect(c.jsonValue(at: row) == original.jsonValue(at: r), "\(context) \(c.name) row \(row)")
                    #expect(c.instanceCount(row) == original.instanceCount(r))
                } else {
                    #expect(c.isNull(row), "\(context) \(c.name) row \(row) should be null")
                }
            }
        }
        for t in merged.timelines {
            let times = (0..<merged.numRows).map { t.time(at: $0) }
            #expect(t.range == times.min().flatMap { lo in times.max().map { lo...$0 } })
            #expect(t.isSorted == zip(times, times.dropFirst()).allSatisfy { $0 <= $1 })
        }
    }

    @Test("pairs of temporal chunks of one entity, in both orders and chained", arguments: Fixtures.rrdNames)
    func fixturePairs(name: String) throws {
        let chunks = try DecodedFile(name).chunks
        var byEntity: [String: [Chunk]] = [:]
        for c in chunks where !c.isStatic { byEntity[c.entityPath, default: []].append(c) }
        var tested = 0
        for (entity, group) in byEntity.sorted(by: { $0.key < $1.key }) {
            for k in 0..<min(group.count, 6) {
                for l in (k + 1)..<min(group.count, 6) {
                    let (a, b) = (group[k], group[l])
                    guard Chunk.canConcatenate(a, b) else {
                        #expect(Chunk.concatenate(a, b, id: ChunkId(timeNs: 1, inc: 1)) == nil)
                        continue
                    }
                    let id = ChunkId(timeNs: .max, inc: UInt64(tested))
                    let ab = try #require(Chunk.concatenate(a, b, id: id))
                    #expect(ab.id == id)
                    Self.check(ab, a, b, "\(name) \(entity) \(k)+\(l)")
                    let ba = try #require(Chunk.concatenate(b, a, id: id))
                    Self.check(ba, b, a, "\(name) \(entity) \(l)+\(k)")
                    // A merged chunk merges again (no row permutation, fresh buffers).
                    let aba = try #require(Chunk.concatenate(ab, a, id: id))
                    Self.check(aba, ab, a, "\(name) \(entity) (\(k)+\(l))+\(k)")
                    tested += 1
                }
            }
        }
        print("concatenated pairs in \(name): \(tested)")
        Self.pairsTested.withLock { $0 += tested }
    }

    @Test("n chunks at once: the same chunk as pairwise merges from left to right", arguments: Fixtures.rrdNames)
    func fixtureGroups(name: String) throws {
        let chunks = try DecodedFile(name).chunks
        var byEntity: [String: [Chunk]] = [:]
        for c in chunks where !c.isStatic { byEntity[c.entityPath, default: []].append(c) }
        var tested = 0
        for (entity, all) in byEntity.sorted(by: { $0.key < $1.key }) where all.count >= 2 {
            // In order, reversed (RowId ranges in reverse) and interleaved with a repeat (rows mixed).
            let head = Array(all.prefix(5))
            for group in [head, head.reversed(), head + [head[0]]] {
                let id = ChunkId(timeNs: .max, inc: UInt64(tested))
                guard Chunk.canConcatenate(group) else {
                    #expect(Chunk.concatenate(group, id: id) == nil, "\(name) \(entity)")
                    continue
                }
                var folded = group[0]
                for c in group.dropFirst() { folded = try #require(Chunk.concatenate(folded, c, id: id)) }
                let merged = try #require(Chunk.concatenate(group, id: id))
                let context = "\(name) \(entity) \(group.count) chunks"
                #expect(merged.id == id)
                #expect(merged.numRows == group.reduce(0) { $0 + $1.numRows }, "\(context)")
                #expect(merged.rowIds == folded.rowIds, "\(context)")
                #expect(merged.timelines.map(\.name) == folded.timelines.map(\.name), "\(context)")
                #expect(merged.components.map(\.name) == folded.components.map(\.name), "\(context)")
                for (t, u) in zip(merged.timelines, folded.timelines) {
                    #expect((0..<merged.numRows).allSatisfy { t.time(at: $0) == u.time(at: $0) }, "\(context)")
                    #expect(t.range == u.range && t.isSorted == u.isSorted, "\(context)")
                }
                for (c, d) in zip(merged.components, folded.components) {
                    for row in 0..<merged.numRows {
                        #expect(c.isNull(row) == d.isNull(row), "\(context) \(c.name) row \(row)")
                        #expect(c.jsonValue(at: row) == d.jsonValue(at: row), "\(context) \(c.name) row \(row)")
                    }
                }
                tested += 1
            }
        }
        print("concatenated groups in \(name): \(tested)")
    }

    @Test("the fixtures offer concatenable pairs (the pair test is not vacuous)")
    func coverage() throws {
        var pairs = 0
        for name in Fixtures.rrdNames {
            var byEntity: [String: [Chunk]] = [:]
            for c in try DecodedFile(name).chunks where !c.isStatic { byEntity[c.entityPath, default: []].append(c) }
            for group in byEntity.values where group.count > 1 && Chunk.canConcatenate(group[0], group[1]) {
                pairs += 1
            }
        }
        #expect(pairs > 3)
    }

    @Test("static chunks, other entities and other timelines do not concatenate")
    func refusals() throws {
        var chunks: [Chunk] = []
        for name in Fixtures.rrdNames { chunks += try DecodedFile(name).chunks }
        let temporal = try #require(chunks.first { !$0.isStatic })
        if let s = chunks.first(where: { $0.isStatic }) { #expect(!Chunk.canConcatenate(s, temporal)) }
        if let other = chunks.first(where: { !$0.isStatic && $0.entityPath != temporal.entityPath }) {
            #expect(!Chunk.canConcatenate(temporal, other))
        }
        var renamed = temporal
        renamed.entityPath += "/x"
        #expect(Chunk.concatenate(temporal, renamed, id: temporal.id) == nil)
        #expect(Chunk.canConcatenate(temporal, temporal))
    }
}
