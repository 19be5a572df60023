import ArrowIPC
import Chunks
import IngestCore
import Store

extension ChunkStore where C == Chunk {
    /// The dataframe `query` asks for, with the semantics of the Rerun SDK's (0.41) `ChunkStore.reader`:
    ///
    /// - **Rows**: one per distinct value of `query.index` at which any view column has a non-null
    ///   temporal cell, ascending; the static view (`index` nil) is one row.
    /// - **Index columns**: every timeline of the store, sorted by name. The chosen one holds the row's
    ///   time; the others the times of the row's newest cell (highest RowId among the row's cells), null
    ///   when its chunk has no such timeline, and null everywhere in the static view.
    /// - **Component columns**: one per `/entity:Component` of the entities in the view (``DataframeQuery/contents``;
    ///   never `/__properties`, never the `Clear` archetype's tombstone columns), sorted by entity path
    ///   then component. A component with static data is static: its newest static cell fills every row
    ///   and its temporal cells are ignored. The static view has only the static components. A temporal
    ///   cell is the one at exactly the row's time with the highest RowId, null when none; with
    ///   ``DataframeQuery/fillLatestAt`` a null takes the column's latest cell at or before the row's time.
    ///
    /// - Throws: ``DataframeError`` when a column's Arrow type cannot be copied (dictionary-encoded or
    ///   union cells).
    /// - Complexity: O(cells · log cells) for the sort of each column's cells by (time, RowId), plus
    ///   the copy of the chosen cells.
    public func dataframe(_ query: DataframeQuery) throws(DataframeError) -> Dataframe {
        var builder = DataframeBuilder(query: query)
        for chunk in allChunks() { builder.add(chunk) }
        return try builder.build()
    }
}

/// Collects the cells of a dataframe from chunks, then copies the chosen ones into columns.
struct DataframeBuilder {
    /// One non-null temporal cell of a column.
    struct Cell {
        var time: Int64
        var rowId: RowId
        /// Index into `chunks`.
        var chunk: Int32
        /// The chunk's row (RowId order).
        var row: Int32
    }

    struct Column {
        var entityPath: String
        var entity: EntityPath
        var component: String
        var archetype: String?
        var componentType: String?
        var type: ArrowType
        var staticCell: (rowId: RowId, chunk: Int32, row: Int32)?
        var cells: [Cell] = []
    }

    let query: DataframeQuery
    var chunks: [Chunk] = []
    /// Timeline name → kind, for every timeline of the store.
    var timelines: [String: TimelineKind] = [:]
    var columns: [String: Column] = [:]

    init(query: DataframeQuery) { self.query = query }

    static func isProperties(_ path: EntityPath) -> Bool { path.parts.first == "__properties" }

    mutating func add(_ chunk: Chunk) {
        for k in 0..<chunk.timelineCount where timelines[chunk.timelineName(at: k)] == nil {
            timelines[chunk.timelineName(at: k)] = chunk.timeline(at: k).kind
        }
        let entity = chunk.entity
        guard !Self.isProperties(entity) else { return }
        if let contents = query.contents, !contents.contains(where: { $0.matches(entity) }) { return }
        let chunkIndex = Int32(chunks.count)
        chunks.append(chunk)
        var indexTimeline: Int?
        if let index = query.index {
            indexTimeline = (0..<chunk.timelineCount).first { chunk.timelineName(at: $0) == index }
        }
        for k in 0..<chunk.componentCount {
            let component = chunk.component(at: k)
            if component.archetype == "rerun.archetypes.Clear" { continue }
            let key = chunk.entityPath + ":" + component.name
            if columns[key] == nil {
                columns[key] = Column(
                    entityPath: chunk.entityPath, entity: entity, component: component.name,
                    archetype: component.archetype, componentType: component.componentType, type: component.column.type)
            }
            // A chunk whose column has another type than the first one seen is left out of that column.
            guard columns[key]!.type == component.column.type else { continue }
            if chunk.isStatic {
                for row in 0..<chunk.numRows where !component.isNull(row) {
                    let rowId = chunk.rowId(at: row)
                    if let current = columns[key]!.staticCell, current.rowId > rowId { continue }
                    columns[key]!.staticCell = (rowId, chunkIndex, Int32(row))
                }
            } else if let t = indexTimeline {
                for row in 0..<chunk.numRows where !component.isNull(row) {
                    columns[key]!.cells.append(
                        Cell(
                            time: chunk.time(timeline: t, row: row), rowId: chunk.rowId(at: row), chunk: chunkIndex,
                            row: Int32(row)))
                }
            }
        }
    }

    func build() throws(DataframeError) -> Dataframe {
        var ordered = columns.values.sorted { a, b in
            a.entity == b.entity ? a.component < b.component : Self.entityOrder(a.entity, b.entity)
        }
        let timelineNames = timelines.keys.sorted()
        guard let index = query.index else {
            ordered = ordered.filter { $0.staticCell != nil }
            var out = timelineNames.map { Self.indexColumn($0, timelines[$0]!, times: [nil]) }
            for column in ordered {
                let cell = column.staticCell!
                out.append(try copy(column, rows: [(cell.chunk, cell.row)]))
            }
            return Dataframe(columns: out, rowCount: 1)
        }
        // Per temporal column: its cells by (time, RowId), one per time (the highest RowId).
        var deduped: [[Cell]] = []
        var allTimes: [Int64] = []
        for column in ordered {
            guard column.staticCell == nil else {
                deduped.append([])
                continue
            }
            var cells = column.cells.sorted { $0.time == $1.time ? $0.rowId < $1.rowId : $0.time < $1.time }
            var kept = 0
            for i in cells.indices {
                if kept > 0, cells[kept - 1].time == cells[i].time {
                    cells[kept - 1] = cells[i]
                } else {
                    cells[kept] = cells[i]
                    kept += 1
                }
            }
            cells.removeLast(cells.count - kept)
            allTimes += cells.map(\.time)
            deduped.append(cells)
        }
        allTimes.sort()
        var times: [Int64] = []
        times.reserveCapacity(allTimes.count)
        for t in allTimes where times.last != t { times.append(t) }

        // The rows' cells, per column, and each row's newest cell (for the other index columns).
        var newest = [Cell?](repeating: nil, count: times.count)
        var cellRows: [[(Int32, Int32)?]] = []
        for (c, column) in ordered.enumerated() {
            if let s = column.staticCell {
                cellRows.append([(Int32, Int32)?](repeating: (s.chunk, s.row), count: times.count))
                continue
            }
            let cells = deduped[c]
            var rows = [(Int32, Int32)?](repeating: nil, count: times.count)
            var next = 0
            var latest: Cell?
            for (r, t) in times.enumerated() {
                if next < cells.count, cells[next].time == t {
                    let cell = cells[next]
                    next += 1
                    latest = cell
                    rows[r] = (cell.chunk, cell.row)
                    if newest[r].map({ $0.rowId < cell.rowId }) ?? true { newest[r] = cell }
                } else if query.fillLatestAt, let latest {
                    rows[r] = (latest.chunk, latest.row)
                }
            }
            cellRows.append(rows)
        }
        var out: [DataframeColumn] = []
        for name in timelineNames {
            if name == index {
                out.append(Self.indexColumn(name, timelines[name]!, times: times))
                continue
            }
            var values = [Int64?](repeating: nil, count: times.count)
            for r in times.indices {
                guard let cell = newest[r] else { continue }
                let chunk = chunks[Int(cell.chunk)]
                if let k = (0..<chunk.timelineCount).first(where: { chunk.timelineName(at: $0) == name }) {
                    values[r] = chunk.time(timeline: k, row: Int(cell.row))
                }
            }
            out.append(Self.indexColumn(name, timelines[name]!, times: values))
        }
        for (c, column) in ordered.enumerated() {
            out.append(try copy(column, rows: cellRows[c]))
        }
        return Dataframe(columns: out, rowCount: times.count)
    }

    /// Rerun's entity order: part by part, a parent before its children.
    static func entityOrder(_ a: EntityPath, _ b: EntityPath) -> Bool {
        for (x, y) in zip(a.parts, b.parts) where x != y { return x < y }
        return a.parts.count < b.parts.count
    }

    /// The column of `column` whose row `r` is the cell `rows[r]` (chunk, RowId-order row), or null.
    func copy(_ column: Column, rows: [(Int32, Int32)?]) throws(DataframeError) -> DataframeColumn {
        var sourceOf: [Int32: Int] = [:]
        var sources: [ArrowArray] = []
        var order: [ComponentColumn] = []
        var segments: [Gather.Segment] = []
        for cell in rows {
            guard let (chunk, row) = cell else {
                if let last = segments.last, last.source < 0 {
                    segments[segments.count - 1].upper += 1
                } else {
                    segments.append(Gather.Segment(source: -1, lower: 0, upper: 1))
                }
                continue
            }
            let source: Int
            if let s = sourceOf[chunk] {
                source = s
            } else {
                let c = chunks[Int(chunk)]
                guard let component = c.component(named: column.component) else {
                    throw DataframeError("\(column.entityPath):\(column.component): the column vanished from a chunk")
                }
                source = sources.count
                sourceOf[chunk] = source
                sources.append(component.column)
                order.append(component)
            }
            let physical = order[source].physicalRow(Int(row))
            if let last = segments.last, last.source == source, last.upper == physical {
                segments[segments.count - 1].upper += 1
            } else {
                segments.append(Gather.Segment(source: source, lower: physical, upper: physical + 1))
            }
        }
        let name = column.entityPath + ":" + column.component
        guard sources.allSatisfy(Gather.isSupported),
            let array = Gather.gather(type: column.type, sources: sources, segments, length: rows.count)
        else {
            throw DataframeError("\(name): cells of type \(column.type) cannot be copied into a dataframe column")
        }
        var metadata = [
            KeyValue(key: "rerun:kind", value: "data"), KeyValue(key: "rerun:entity_path", value: column.entityPath),
            KeyValue(key: "rerun:component", value: column.component),
        ]
        if let a = column.archetype { metadata.append(KeyValue(key: "rerun:archetype", value: a)) }
        if let t = column.componentType { metadata.append(KeyValue(key: "rerun:component_type", value: t)) }
        return DataframeColumn(
            field: ArrowField(name: name, type: column.type, nullable: true, metadata: metadata),
            kind: .component(entityPath: column.entityPath, component: column.component), array: array)
    }

    /// An index column of `times` (nil: null).
    static func indexColumn(_ name: String, _ kind: TimelineKind, times: [Int64?]) -> DataframeColumn {
        let type: ArrowType
        switch kind {
        case .sequence: type = .int(bitWidth: 64, signed: true)
        case .timestamp: type = .timestamp(.nanosecond, timezone: nil)
        case .duration: type = .duration(.nanosecond)
        }
        let n = times.count
        let nulls = times.reduce(0) { $0 + ($1 == nil ? 1 : 0) }
        let validityBytes = nulls > 0 ? (n + 63) / 64 * 8 : 0
        let storage = ByteStorage(count: validityBytes + 8 * n) { dst in
            dst.initializeMemory(as: UInt8.self, repeating: 0)
            for (i, t) in times.enumerated() {
                if let t {
                    if validityBytes > 0 { dst[i >> 3] |= 1 << UInt8(i & 7) }
                    dst.storeBytes(of: t.littleEndian, toByteOffset: validityBytes + 8 * i, as: Int64.self)
                }
            }
        }
        let array = ArrowArray(
            assembling: type, length: n, nullCount: nulls, storage: storage, validity: validityBytes > 0 ? 0 : nil,
            values: validityBytes..<(validityBytes + 8 * n), data: 0..<0, children: [])
        let field = ArrowField(
            name: name, type: type, nullable: true,
            metadata: [KeyValue(key: "rerun:kind", value: "index"), KeyValue(key: "rerun:index_name", value: name)])
        return DataframeColumn(field: field, kind: .index(timeline: name, kind: kind), array: array)
    }
}
