import ArrowIPC
import Chunks
import FixtureSupport
import IngestCore
import RRD
import Testing

/// The chunk model holds one shared column layout per schema and builds `Timeline` /
/// `ComponentColumn` values on demand: those values, the index accessors and the setters must agree.
@Suite("Chunk model: shared layout, columns on demand")
struct ChunkModelTests {
    static func chunks(_ file: String) throws -> [Chunk] {
        var reader = try RRDReader(path: Fixtures.rrdPath(file))
        let decoder = ChunkDecoder()
        var out: [Chunk] = []
        while let e = reader.next() {
            if case .message(let m) = e, case .arrowMsg(let a) = m.message { out.append(try decoder.decode(a)) }
        }
        return out
    }

    @Test("timelines and components built on demand agree with the index accessors", arguments: [
        "many_small_chunks.rrd", "points3d.rrd", "scalars_sequence.rrd", "transforms.rrd", "text_logs.rrd",
        "static_only.rrd", "compacted_with_nulls.rrd",
    ])
    func valuesMatchAccessors(file: String) throws {
        for chunk in try Self.chunks(file) {
            let timelines = chunk.timelines
            #expect(timelines.count == chunk.timelineCount)
            for (k, t) in timelines.enumerated() {
                #expect(t.name == chunk.timelineName(at: k))
                #expect(t.range == chunk.timeRange(timeline: k))
                #expect(t.isSorted == chunk.isTimeSorted(timeline: k))
                #expect(chunk.timeline(named: t.name)?.columnName == t.columnName)
                #expect(chunk.timeline(at: k).arrowType == t.arrowType)
                for row in 0..<chunk.numRows { #expect(t.time(at: row) == chunk.time(timeline: k, row: row)) }
                // The statistics are those of the rows in RowId order.
                let times = (0..<chunk.numRows).map { t.time(at: $0) }
                #expect(t.range == (times.isEmpty ? nil : times.min()!...times.max()!))
                #expect(t.isSorted == zip(times, times.dropFirst()).allSatisfy { $0 <= $1 })
            }
            let components = chunk.components
            #expect(components.count == chunk.componentCount)
            for (k, c) in components.enumerated() {
                #expect(c.name == chunk.componentName(at: k))
                #expect(chunk.component(named: c.name)?.arrowType == c.arrowType)
                #expect(chunk.component(at: k).component == c.component)
                for row in 0..<chunk.numRows { #expect(c.isNull(row) == chunk.isNull(component: k, row: row)) }
            }
            #expect(chunk.rowIdsAreKnownAscending)
            #expect(chunk.columnLayoutKey != nil)
        }
    }

    @Test("chunks decoded with one schema share one layout object")
    func layoutShared() throws {
        let chunks = try Self.chunks("many_small_chunks.rrd")
        try #require(chunks.count >= 2)
        let keys = chunks.compactMap { $0.columnLayoutKey.map(ObjectIdentifier.init) }
        #expect(keys.count == chunks.count)
        #expect(Set(keys).count < chunks.count, "some chunks share their schema's layout")
    }

    @Test("setting columns keeps them as values; other setters keep the shared layout")
    func setters() throws {
        let chunks = try Self.chunks("many_small_chunks.rrd")
        var a = chunks[0]
        let b = chunks[1]
        let key = a.columnLayoutKey.map(ObjectIdentifier.init)
        a.id = ChunkId(timeNs: 1, inc: 2)
        a.warnings = ["note"]
        #expect(a.columnLayoutKey.map(ObjectIdentifier.init) == key)
        #expect(a.warnings == ["note"] && chunks[0].warnings.isEmpty)
        #expect(a.timelines.map(\.range) == chunks[0].timelines.map(\.range))
        // Components from another chunk: held as values, timelines unchanged.
        a.components = b.components
        #expect(a.columnLayoutKey == nil)
        #expect(a.componentCount == b.componentCount)
        for row in 0..<min(a.numRows, b.numRows) {
            #expect(a.isNull(component: 0, row: row) == b.isNull(component: 0, row: row))
        }
        #expect(a.timelines.map(\.range) == chunks[0].timelines.map(\.range))
        for row in 0..<a.numRows { #expect(a.time(timeline: 0, row: row) == chunks[0].time(timeline: 0, row: row)) }
        // Row ids set from outside are no longer known ascending (the store checks them again).
        var c = chunks[0]
        c.rowIds = c.rowIds.reversed()
        #expect(!c.rowIdsAreKnownAscending)
        #expect(chunks[0].rowIdsAreKnownAscending)
    }

    @Test("re-sorted rows: the index accessors read through the row order like the values")
    func resorted() throws {
        var reader = try RRDReader(path: Fixtures.rrdPath("scalars_sequence.rrd"))
        var msg: ArrowMsg?
        while msg == nil, let e = reader.next() {
            if case .message(let m) = e, case .arrowMsg(let a) = m.message { msg = a }
        }
        var ipc = try #require(msg).decompressedPayload().bytes
        let sorted = try ChunkDecoder().decode(ipc: ByteStorage(copying: ipc))
        try #require(sorted.numRows >= 3)
        // Swap the 16-byte row ids of rows 0 and 1 inside the body.
        func be(_ r: RowId) -> [UInt8] {
            (0..<8).map { UInt8(truncatingIfNeeded: r.tuid.timeNs >> (56 - 8 * UInt64($0))) }
                + (0..<8).map { UInt8(truncatingIfNeeded: r.tuid.inc >> (56 - 8 * UInt64($0))) }
        }
        let pair = be(sorted.rowId(at: 0)) + be(sorted.rowId(at: 1))
        let at = try #require((0...(ipc.count - 32)).first { Array(ipc[$0..<($0 + 32)]) == pair })
        ipc.replaceSubrange(at..<(at + 32), with: be(sorted.rowId(at: 1)) + be(sorted.rowId(at: 0)))
        let chunk = try ChunkDecoder().decode(ipc: ByteStorage(copying: ipc))
        #expect(chunk.wasResorted && chunk.rowIdsAreKnownAscending)
        for (k, t) in chunk.timelines.enumerated() {
            #expect(t.range == chunk.timeRange(timeline: k))
            #expect(t.isSorted == chunk.isTimeSorted(timeline: k))
            #expect(!t.isSorted)
            for row in 0..<chunk.numRows { #expect(t.time(at: row) == chunk.time(timeline: k, row: row)) }
            #expect(chunk.time(timeline: k, row: 0) == sorted.time(timeline: k, row: 1))
        }
        for (k, c) in chunk.components.enumerated() {
            for row in 0..<chunk.numRows { #expect(c.isNull(row) == chunk.isNull(component: k, row: row)) }
            #expect(c.jsonValue(at: 0) == sorted.component(at: k).jsonValue(at: 1))
        }
    }
}
