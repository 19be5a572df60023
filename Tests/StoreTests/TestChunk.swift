import FixtureSupport
import IngestCore
import RRD
import Store

/// A synthetic chunk for the store's tests: values are small integer lists (nil = null cell).
struct TestChunk: StorableChunk, Hashable {
    struct Timeline: Hashable, Sendable {
        var name: String
        var times: [Int64]
    }

    struct Column: Hashable, Sendable {
        var name: String
        /// One cell per row: nil is a null cell, `[]` an empty list.
        var cells: [[Int]?]
    }

    var id: ChunkId
    var entityPath: String
    var isStatic: Bool
    var rowIds: [RowId]
    var timelineColumns: [Timeline]
    var columns: [Column]

    var numRows: Int { rowIds.count }
    func rowId(at row: Int) -> RowId { rowIds[row] }
    var timelineCount: Int { isStatic ? 0 : timelineColumns.count }
    func timelineName(at timeline: Int) -> String { timelineColumns[timeline].name }
    func time(timeline: Int, row: Int) -> Int64 { timelineColumns[timeline].times[row] }
    func timeRange(timeline: Int) -> ClosedRange<Int64>? {
        let times = timelineColumns[timeline].times
        guard let lo = times.min(), let hi = times.max() else { return nil }
        return lo...hi
    }
    func isTimeSorted(timeline: Int) -> Bool {
        let times = timelineColumns[timeline].times
        return zip(times, times.dropFirst()).allSatisfy { $0 <= $1 }
    }
    var componentCount: Int { columns.count }
    func componentName(at component: Int) -> String { columns[component].name }
    func isNull(component: Int, row: Int) -> Bool { columns[component].cells[row] == nil }
    var approximateByteSize: Int { 64 + rowIds.count * 16 }

    /// Merges rows by RowId; a column missing on one side gets null cells there (compaction).
    static func concatenated(_ a: TestChunk, _ b: TestChunk, id: ChunkId) -> TestChunk? {
        guard a.entityPath == b.entityPath, !a.isStaticData, !b.isStaticData,
            Set(a.timelineColumns.map(\.name)) == Set(b.timelineColumns.map(\.name)),
            a.timelineColumns.count == b.timelineColumns.count
        else { return nil }
        var order: [(side: Int, row: Int)] = []
        var i = 0
        var j = 0
        while i < a.numRows || j < b.numRows {
            if j >= b.numRows || (i < a.numRows && a.rowIds[i] <= b.rowIds[j]) {
                order.append((0, i))
                i += 1
            } else {
                order.append((1, j))
                j += 1
            }
        }
        let sides = [a, b]
        let timelines = a.timelineColumns.map { t in
            Timeline(
                name: t.name,
                times: order.map { side, row in sides[side].timelineColumns.first { $0.name == t.name }!.times[row] })
        }
        let names = a.columns.map(\.name) + b.columns.map(\.name).filter { n in !a.columns.contains { $0.name == n } }
        let columns = names.map { name in
            Column(
                name: name,
                cells: order.map { side, row in sides[side].columns.first { $0.name == name }?.cells[row] ?? nil })
        }
        return TestChunk(
            id: id, entityPath: a.entityPath, isStatic: false, rowIds: order.map { sides[$0.side].rowIds[$0.row] },
            timelineColumns: timelines, columns: columns)
    }

    /// The cell a query hit points at.
    static func value(_ hit: CellHit<TestChunk>) -> [Int]? { hit.chunk.columns[hit.component].cells[hit.row] }
}

/// What a query should return, computed by brute force over every row of the distinct chunks.
struct Answer: Equatable, CustomStringConvertible {
    var time: Int64?
    var rowId: RowId
    var value: [Int]?
    var description: String { "(\(time.map(String.init) ?? "static"), \(rowId), \(value.map { "\($0)" } ?? "null"))" }

    init(time: Int64?, rowId: RowId, value: [Int]?) {
        self.time = time
        self.rowId = rowId
        self.value = value
    }

    init(_ hit: CellHit<TestChunk>) {
        self.init(time: hit.time, rowId: hit.rowId, value: TestChunk.value(hit))
    }
}

/// The brute-force oracle: the semantic rules of `engine-semantics.md` §3.4, applied row by row.
struct Oracle {
    var chunks: [TestChunk]

    init(_ chunks: [TestChunk]) {
        var seen = Set<ChunkId>()
        self.chunks = chunks.filter { seen.insert($0.id).inserted && $0.numRows > 0 && !$0.columns.isEmpty }
    }

    func staticCell(entity: String, component: String) -> Answer? {
        var best: Answer?
        for chunk in chunks where chunk.entityPath == entity && chunk.isStaticData {
            guard let column = chunk.columns.first(where: { $0.name == component }) else { continue }
            for row in 0..<chunk.numRows {
                guard let cell = column.cells[row] else { continue }
                if best == nil || best!.rowId < chunk.rowIds[row] {
                    best = Answer(time: nil, rowId: chunk.rowIds[row], value: cell)
                }
            }
        }
        return best
    }

    func temporalRows(entity: String, component: String, timeline: String) -> [Answer] {
        var rows: [Answer] = []
        for chunk in chunks where chunk.entityPath == entity && !chunk.isStaticData {
            guard let column = chunk.columns.first(where: { $0.name == component }),
                let times = chunk.timelineColumns.first(where: { $0.name == timeline })?.times
            else { continue }
            for row in 0..<chunk.numRows {
                guard let cell = column.cells[row] else { continue }
                rows.append(Answer(time: times[row], rowId: chunk.rowIds[row], value: cell))
            }
        }
        return rows.sorted { ($0.time!, $0.rowId) < ($1.time!, $1.rowId) }
    }

    func latestAt(entity: String, component: String, timeline: String, at t: Int64) -> Answer? {
        if let s = staticCell(entity: entity, component: component) { return s }
        return temporalRows(entity: entity, component: component, timeline: timeline).last { $0.time! <= t }
    }

    func range(entity: String, component: String, timeline: String, from t0: Int64, through t1: Int64) -> [Answer] {
        if staticCell(entity: entity, component: component) != nil { return [] }
        return temporalRows(entity: entity, component: component, timeline: timeline).filter {
            $0.time! >= t0 && $0.time! <= t1
        }
    }
}

/// Builds random chunks: few entities, components and times so that ties, overlaps, nulls, empty lists,
/// unsorted time columns and static/temporal mixes all occur.
struct ChunkGenerator {
    static let entities = ["/a", "/a/b", "/c"]
    static let components = ["X:x", "X:y", "Y:z"]
    static let timelines = ["frame", "log_time"]

    var rng: SplitMix64
    var nextRow: UInt64 = 1
    var nextChunk: UInt64 = 1

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    /// `count` chunks; RowIds are unique, drawn from a shuffled pool so that RowId order and generation
    /// order disagree.
    mutating func chunks(_ count: Int) -> [TestChunk] {
        var rowPool = (0..<(count * 6)).map { RowId(timeNs: 1_000 + UInt64($0) / 3, inc: UInt64($0) % 3) }
        rowPool.shuffle(using: &rng)
        var out: [TestChunk] = []
        for _ in 0..<count {
            let numRows = Int.random(in: 1...4, using: &rng)
            var rowIds = (0..<numRows).map { _ in rowPool.removeLast() }
            rowIds.sort()
            let isStatic = Int.random(in: 0..<5, using: &rng) == 0
            let timelineNames = Self.timelines.filter { _ in Bool.random(using: &rng) }
            let timelines = (timelineNames.isEmpty ? ["frame"] : timelineNames).map { name in
                TestChunk.Timeline(name: name, times: (0..<numRows).map { _ in Int64.random(in: -3...12, using: &rng) })
            }
            let componentNames = Self.components.filter { _ in Int.random(in: 0..<3, using: &rng) > 0 }
            let columns = componentNames.map { name in
                TestChunk.Column(
                    name: name,
                    cells: (0..<numRows).map { _ -> [Int]? in
                        switch Int.random(in: 0..<6, using: &rng) {
                        case 0: return nil
                        case 1: return []
                        default: return [Int.random(in: 0..<1000, using: &rng)]
                        }
                    })
            }
            out.append(
                TestChunk(
                    id: ChunkId(timeNs: 9_000_000 + nextChunk, inc: 0),
                    entityPath: Self.entities.randomElement(using: &rng)!,
                    isStatic: isStatic, rowIds: rowIds, timelineColumns: timelines, columns: columns))
            nextChunk += 1
        }
        return out
    }
}
