import ArrowIPC
import IngestCore

/// Concatenation of two temporal chunks of one entity into a new chunk with fresh Arrow buffers
/// (compaction, `engine-semantics.md` §3.2).
extension Chunk {
    /// Whether `a` and `b` can be concatenated: same entity, both temporal, exactly the same timelines
    /// (names and types), the same Arrow type for every shared component, and only column types the
    /// copier supports (fixed width, bool, null, binary/string and their large forms, lists, large
    /// lists, maps, fixed-size lists and structs of those; no dictionaries, views or unions).
    public static func canConcatenate(_ a: Chunk, _ b: Chunk) -> Bool {
        guard a.entityPath == b.entityPath, !a.isStatic, !b.isStatic, !a.timelines.isEmpty,
            a.timelines.count == b.timelines.count
        else { return false }
        for t in a.timelines {
            guard let u = b.timeline(named: t.name), u.kind == t.kind, u.column.type == t.column.type,
                Gather.isSupported(t.column), Gather.isSupported(u.column)
            else { return false }
        }
        for c in a.components {
            guard Gather.isSupported(c.column) else { return false }
            if let d = b.component(named: c.name), d.column.type != c.column.type { return false }
        }
        return b.components.allSatisfy { Gather.isSupported($0.column) }
    }

    /// Whether all of `chunks` can be concatenated into one: ``canConcatenate(_:_:)`` for every chunk
    /// with the first, and one Arrow type per component name across all of them.
    public static func canConcatenate(_ chunks: [Chunk]) -> Bool {
        guard let first = chunks.first, !first.isStatic else { return false }
        let timelines = first.timelines
        guard !timelines.isEmpty, timelines.allSatisfy({ Gather.isSupported($0.column) }) else { return false }
        // One type per component name; chunks of one entity usually list the same components in the
        // same order, so the position is tried first. A column of the same type as a supported one
        // is supported unless it holds a dictionary.
        var names: [String] = []
        var types: [ArrowType] = []
        for chunk in chunks {
            guard chunk.entityPath == first.entityPath, !chunk.isStatic else { return false }
            let own = chunk.timelines
            guard own.count == timelines.count else { return false }
            for k in timelines.indices {
                let u =
                    own[k].name == timelines[k].name
                    ? k : own.firstIndex { $0.name == timelines[k].name }
                guard let u, own[u].kind == timelines[k].kind, own[u].column.type == timelines[k].column.type,
                    !Gather.hasDictionary(own[u].column)
                else { return false }
            }
            let components = chunk.components
            for k in components.indices {
                let name = components[k].name
                if let p = k < names.count && names[k] == name ? k : names.firstIndex(of: name) {
                    guard types[p] == components[k].column.type, !Gather.hasDictionary(components[k].column)
                    else { return false }
                } else {
                    guard Gather.isSupported(components[k].column) else { return false }
                    names.append(name)
                    types.append(components[k].column.type)
                }
            }
        }
        return true
    }

    /// The rows of `a` and `b` in one new chunk with id `id`, sorted by RowId (ties: `a`'s rows
    /// first), with freshly copied Arrow buffers, so neither source is referenced afterwards. A
    /// component present in one chunk only has null cells in the other's rows. Components keep `a`'s
    /// order, then `b`'s own; column metadata comes from the first chunk that has the column.
    ///
    /// - Returns: nil when ``canConcatenate(_:_:)`` is false.
    /// - Complexity: O(rows of `a` and `b` + their value bytes).
    public static func concatenate(_ a: Chunk, _ b: Chunk, id: ChunkId) -> Chunk? {
        concatenate([a, b], id: id)
    }

    /// The rows of all `chunks` in one new chunk with id `id`, sorted by RowId (ties: the earlier
    /// chunk's rows first), with freshly copied Arrow buffers, in one pass: merging n chunks at once
    /// copies each row once, where n - 1 pairwise merges would copy the first chunk's rows n - 1 times.
    /// A component missing in some chunks has null cells in their rows. Timelines keep the first
    /// chunk's order; components the order of first appearance; column metadata comes from the first
    /// chunk that has the column.
    ///
    /// - Returns: nil when `chunks` is empty or ``canConcatenate(_:)`` is false.
    /// - Complexity: O(rows + value bytes) when the chunks' RowId ranges do not interleave (each chunk's
    ///   rows are one block), O(rows × log rows) otherwise.
    public static func concatenate(_ chunks: [Chunk], id: ChunkId) -> Chunk? {
        guard let first = chunks.first, canConcatenate(chunks) else { return nil }
        let n = chunks.reduce(0) { $0 + $1.numRows }
        // Merged order. Common case (chunks arriving in order): taken in order of their first RowId,
        // each chunk's rows all precede the next chunk's, so each column is one block per chunk.
        let nonEmpty = chunks.indices.filter { chunks[$0].numRows > 0 }
        let blockOrder = nonEmpty.sorted { (chunks[$0].rowId(at: 0), $0) < (chunks[$1].rowId(at: 0), $1) }
        var inBlocks = true
        for (p, q) in zip(blockOrder, blockOrder.dropFirst()) {
            let last = chunks[p].rowId(at: chunks[p].numRows - 1)
            let next = chunks[q].rowId(at: 0)
            if !(last < next || (last == next && p < q)) {
                inBlocks = false
                break
            }
        }
        var order: [(side: Int32, row: Int32)] = []
        var rowIds: [RowId] = []
        rowIds.reserveCapacity(n)
        if inBlocks {
            for side in blockOrder {
                let chunk = chunks[side]
                for row in 0..<chunk.numRows { rowIds.append(chunk.rowId(at: row)) }
            }
        } else {
            var keyed: [(rowId: RowId, side: Int32, row: Int32)] = []
            keyed.reserveCapacity(n)
            for (side, chunk) in chunks.enumerated() {
                for row in 0..<chunk.numRows { keyed.append((chunk.rowId(at: row), Int32(side), Int32(row))) }
            }
            keyed.sort { ($0.rowId, $0.side, $0.row) < ($1.rowId, $1.side, $1.row) }
            order = keyed.map { ($0.side, $0.row) }
            rowIds = keyed.map(\.rowId)
        }

        /// Top-level segments for one column: its rows in merged order from each chunk's array (source =
        /// the chunk's position), or null (`rowOrders[side] == nil`: a chunk without the column),
        /// adjacent slots coalesced. `present[side]` says whether the chunk has the column.
        func segments(_ present: [Bool], _ rowOrders: [[Int32]?]) -> [Gather.Segment] {
            var out: [Gather.Segment] = []
            @inline(__always) func add(_ side: Int, _ slot: Int) {
                if let last = out.last, last.source == side, last.upper == slot {
                    out[out.count - 1].upper += 1
                } else {
                    out.append(Gather.Segment(source: side, lower: slot, upper: slot + 1))
                }
            }
            @inline(__always) func addNulls(_ count: Int) {
                if let last = out.last, last.source < 0 {
                    out[out.count - 1].upper += count
                } else {
                    out.append(Gather.Segment(source: -1, lower: 0, upper: count))
                }
            }
            if inBlocks {
                for side in blockOrder {
                    let count = chunks[side].numRows
                    if !present[side] {
                        addNulls(count)
                    } else if let rowOrder = rowOrders[side] {
                        for row in 0..<count { add(side, Int(rowOrder[row])) }
                    } else {
                        out.append(Gather.Segment(source: side, lower: 0, upper: count))
                    }
                }
                return out
            }
            for (side, row) in order {
                let s = Int(side)
                if !present[s] {
                    addNulls(1)
                } else {
                    add(s, rowOrders[s].map { Int($0[Int(row)]) } ?? Int(row))
                }
            }
            return out
        }

        // The merged chunk's columns: timelines, then components, described by a layout of its own.
        var arrays: [ArrowArray] = []
        var timelineSlots: [ColumnLayout.TimelineSlot] = []
        // Each chunk's columns as values, built once.
        let chunkTimelines = chunks.map(\.timelines)
        let chunkComponents = chunks.map(\.components)
        for (k, t) in chunkTimelines[0].enumerated() {
            let columns = chunkTimelines.map { own in
                k < own.count && own[k].name == t.name ? own[k] : own.first { $0.name == t.name }!
            }
            guard
                let column = Gather.gather(
                    type: t.column.type, sources: columns.map(\.column),
                    segments(Array(repeating: true, count: chunks.count), columns.map(\.rowOrder)), length: n)
            else { return nil }
            timelineSlots.append(
                ColumnLayout.TimelineSlot(
                    name: t.name, columnName: t.columnName, kind: t.kind, arrowType: t.arrowType, column: arrays.count))
            arrays.append(column)
        }

        var componentSlots: [ColumnLayout.ComponentSlot] = []
        // Chunks of one entity usually list the same components in the same order: the position is tried first.
        var names: [String] = []
        for own in chunkComponents {
            for (k, c) in own.enumerated()
            where !(k < names.count && names[k] == c.name) && !names.contains(c.name) {
                names.append(c.name)
            }
        }
        for (k, name) in names.enumerated() {
            let columns = chunkComponents.map { own in
                k < own.count && own[k].name == name ? own[k] : own.first { $0.name == name }
            }
            let meta = columns.first { $0 != nil }!!
            let empty = meta.column
            guard
                let column = Gather.gather(
                    type: meta.column.type, sources: columns.map { $0?.column ?? empty },
                    segments(columns.map { $0 != nil }, columns.map { $0?.rowOrder }), length: n)
            else { return nil }
            componentSlots.append(
                ColumnLayout.ComponentSlot(
                    name: name, archetype: meta.archetype, component: meta.component,
                    componentType: meta.componentType, arrowType: meta.arrowType, column: arrays.count))
            arrays.append(column)
        }

        var metadata = first.schemaMetadata
        for k in metadata.indices where metadata[k].key == "rerun:id" { metadata[k].value = id.description }
        let batch = ArrowRecordBatch(
            assembling: first.recordBatch.schema, schemaID: -1, length: n,
            columns: arrays)
        return Chunk(
            id: id, entityPath: first.entityPath, numRows: n, isStatic: false, rowIds: rowIds,
            layout: ColumnLayout(timelines: timelineSlots, components: componentSlots), rowOrder: nil,
            schemaMetadata: metadata, recordBatch: batch, wasResorted: false, rowIdsAscending: true, warnings: [])
    }
}

/// Copies slot ranges of Arrow arrays into one new array (the "take" of concatenation, and of the
/// dataframe view's columns).
package enum Gather {
    /// Slots `lower..<upper` of source `source`, or that many null slots when `source` is negative.
    package struct Segment {
        package var source: Int
        package var lower: Int
        package var upper: Int
        package var count: Int { upper - lower }

        package init(source: Int, lower: Int, upper: Int) {
            self.source = source
            self.lower = lower
            self.upper = upper
        }
    }

    /// Byte width of a fixed-width type, nil otherwise.
    static func fixedWidth(_ type: ArrowType) -> Int? {
        switch type {
        case .int(let w, _): w / 8
        case .float16: 2
        case .float32, .date32, .time32: 4
        case .float64, .date64, .time64, .timestamp, .duration: 8
        case .decimal(_, _, let w): w / 8
        case .interval(let u):
            switch u {
            case .yearMonth: 4
            case .dayTime: 8
            case .monthDayNano: 16
            }
        case .fixedSizeBinary(let w): w
        default: nil
        }
    }

    /// Whether `array` or one of its descendants is dictionary-encoded.
    static func hasDictionary(_ array: ArrowArray) -> Bool {
        array.dictionaryIndexType != nil || array.children.contains { hasDictionary($0) }
    }

    /// Whether `array` (and its children) can be gathered.
    package static func isSupported(_ array: ArrowArray) -> Bool {
        guard array.dictionaryIndexType == nil else { return false }
        switch array.type {
        case .null, .bool, .binary, .utf8, .largeBinary, .largeUtf8: return true
        case .list, .largeList, .map, .fixedSizeList, .structure: return array.children.allSatisfy(isSupported)
        default: return fixedWidth(array.type) != nil
        }
    }

    /// One new array of `length` slots holding `segments` in order (`length` = their total count).
    /// Every source must have type `type`; nil for an unsupported type.
    package static func gather(
        type: ArrowType, sources: [ArrowArray], _ segments: [Gather.Segment], length: Int
    )
        -> ArrowArray?
    {
        // Validity.
        var nullCount = 0
        let needsValidity: Bool
        if case .null = type {
            needsValidity = false
            nullCount = length
        } else {
            needsValidity = segments.contains { $0.source < 0 || sources[$0.source].nullCount > 0 }
        }
        let validityBytes = needsValidity ? ((length + 63) / 64) * 8 : 0

        switch type {
        case .null:
            return ArrowArray(
                assembling: type, length: length, nullCount: length, storage: ByteStorage(count: 0) { _ in },
                validity: nil, values: 0..<0, data: 0..<0, children: [])

        case .bool:
            let valueBytes = (length + 7) / 8
            let storage = ByteStorage(count: validityBytes + valueBytes) { dst in
                dst.initializeMemory(as: UInt8.self, repeating: 0)
                var out = 0
                for s in segments {
                    for k in s.lower..<s.upper {
                        if s.source >= 0 {
                            let src = sources[s.source]
                            if src.bool(at: k) { setBit(dst, validityBytes, out) }
                            if needsValidity {
                                if src.isNull(k) { nullCount += 1 } else { setBit(dst, 0, out) }
                            }
                        } else {
                            nullCount += 1
                        }
                        out += 1
                    }
                }
            }
            return ArrowArray(
                assembling: type, length: length, nullCount: nullCount, storage: storage,
                validity: needsValidity ? 0 : nil, values: validityBytes..<(validityBytes + valueBytes), data: 0..<0,
                children: [])

        case .binary, .utf8, .largeBinary, .largeUtf8, .list, .map, .largeList:
            let wide: Bool
            switch type {
            case .largeBinary, .largeUtf8, .largeList: wide = true
            default: wide = false
            }
            let isList: Bool
            switch type {
            case .list, .map, .largeList: isList = true
            default: isList = false
            }
            // Per segment, the child (or data byte) range it covers.
            var inner: [Gather.Segment] = []
            inner.reserveCapacity(segments.count)
            var total = 0
            for s in segments {
                if s.source < 0 || s.count == 0 {
                    inner.append(Gather.Segment(source: -1, lower: 0, upper: 0))
                    continue
                }
                let lo = sources[s.source].valueRange(at: s.lower).lowerBound
                let hi = sources[s.source].valueRange(at: s.upper - 1).upperBound
                guard lo <= hi else { return nil }
                inner.append(Gather.Segment(source: s.source, lower: lo, upper: hi))
                total += hi - lo
            }
            if !wide && total > Int(Int32.max) { return nil }
            let offsetWidth = wide ? 8 : 4
            let offsetBytes = ((length + 1) * offsetWidth + 7) / 8 * 8
            let dataBytes = isList ? 0 : total
            let storage = ByteStorage(count: validityBytes + offsetBytes + dataBytes) { dst in
                if validityBytes > 0 {
                    UnsafeMutableRawBufferPointer(rebasing: dst[0..<validityBytes])
                        .initializeMemory(as: UInt8.self, repeating: 0)
                }
                var out = 0
                var position = 0
                func writeOffset(_ slot: Int, _ value: Int) {
                    if wide {
                        dst.storeBytes(
                            of: Int64(value).littleEndian, toByteOffset: validityBytes + 8 * slot, as: Int64.self)
                    } else {
                        dst.storeBytes(
                            of: Int32(value).littleEndian, toByteOffset: validityBytes + 4 * slot, as: Int32.self)
                    }
                }
                for (s, r) in zip(segments, inner) {
                    if s.source >= 0 && !wide && !needsValidity {
                        // Fast path: shift the source's 32-bit offsets by one constant.
                        let shift = position - r.lower
                        sources[s.source].withUnsafeBuffers { offsets, _ in
                            for k in s.lower..<s.upper {
                                let o = Int(
                                    Int32(littleEndian: offsets.loadUnaligned(fromByteOffset: 4 * k, as: Int32.self)))
                                dst.storeBytes(
                                    of: Int32(o + shift).littleEndian, toByteOffset: validityBytes + 4 * out,
                                    as: Int32.self)
                                out += 1
                            }
                        }
                        position += r.count
                    } else {
                        for k in s.lower..<s.upper {
                            writeOffset(out, position)
                            if s.source >= 0 {
                                let src = sources[s.source]
                                position += src.valueRange(at: k).count
                                if needsValidity {
                                    if src.isNull(k) { nullCount += 1 } else { setBit(dst, 0, out) }
                                }
                            } else {
                                nullCount += 1
                            }
                            out += 1
                        }
                    }
                    if !isList && r.source >= 0 && r.count > 0 {
                        let start = validityBytes + offsetBytes + position - r.count
                        sources[r.source].withUnsafeBuffers { _, data in
                            UnsafeMutableRawBufferPointer(rebasing: dst[start..<(start + r.count)])
                                .copyMemory(from: UnsafeRawBufferPointer(rebasing: data[r.lower..<r.upper]))
                        }
                    }
                }
                writeOffset(out, position)
            }
            var children: [ArrowArray] = []
            if isList {
                guard let childType = type.children.first?.type,
                    let child = gather(
                        type: childType, sources: sources.map { $0.children[0] }, inner.filter { $0.count > 0 },
                        length: total)
                else { return nil }
                children = [child]
            }
            let valuesStart = validityBytes
            return ArrowArray(
                assembling: type, length: length, nullCount: nullCount, storage: storage,
                validity: needsValidity ? 0 : nil, values: valuesStart..<(valuesStart + (length + 1) * offsetWidth),
                data: isList ? 0..<0 : (validityBytes + offsetBytes)..<(validityBytes + offsetBytes + dataBytes),
                children: children)

        case .fixedSizeList(_, let size):
            let storage = validityStorage(validityBytes, sources, segments, needsValidity, &nullCount)
            let inner = segments.map { s in
                s.source < 0
                    ? Gather.Segment(source: -1, lower: 0, upper: s.count * size)
                    : Gather.Segment(source: s.source, lower: s.lower * size, upper: s.upper * size)
            }
            guard let childType = type.children.first?.type,
                let child = gather(
                    type: childType, sources: sources.map { $0.children[0] }, inner, length: length * size)
            else { return nil }
            return ArrowArray(
                assembling: type, length: length, nullCount: nullCount, storage: storage,
                validity: needsValidity ? 0 : nil, values: 0..<0, data: 0..<0, children: [child])

        case .structure(let fields):
            let storage = validityStorage(validityBytes, sources, segments, needsValidity, &nullCount)
            var children: [ArrowArray] = []
            for f in fields.indices {
                guard
                    let child = gather(
                        type: fields[f].type, sources: sources.map { $0.children[f] }, segments,
                        length: length)
                else { return nil }
                children.append(child)
            }
            return ArrowArray(
                assembling: type, length: length, nullCount: nullCount, storage: storage,
                validity: needsValidity ? 0 : nil, values: 0..<0, data: 0..<0, children: children)

        default:
            guard let width = fixedWidth(type) else { return nil }
            let valueBytes = length * width
            let storage = ByteStorage(count: validityBytes + valueBytes) { dst in
                if validityBytes > 0 {
                    UnsafeMutableRawBufferPointer(rebasing: dst[0..<validityBytes])
                        .initializeMemory(as: UInt8.self, repeating: 0)
                }
                var out = 0
                for s in segments {
                    let start = validityBytes + out * width
                    let bytes = s.count * width
                    if s.source >= 0 {
                        // `sources[s.source]` in place: binding it to a constant would copy the array value.
                        sources[s.source].withUnsafeBuffers { values, _ in
                            UnsafeMutableRawBufferPointer(rebasing: dst[start..<(start + bytes)])
                                .copyMemory(
                                    from: UnsafeRawBufferPointer(
                                        rebasing: values[(s.lower * width)..<(s.upper * width)]))
                        }
                        if needsValidity {
                            for k in s.lower..<s.upper {
                                if sources[s.source].isNull(k) {
                                    nullCount += 1
                                } else {
                                    setBit(dst, 0, out + k - s.lower)
                                }
                            }
                        }
                    } else {
                        UnsafeMutableRawBufferPointer(rebasing: dst[start..<(start + bytes)])
                            .initializeMemory(as: UInt8.self, repeating: 0)
                        nullCount += s.count
                    }
                    out += s.count
                }
            }
            return ArrowArray(
                assembling: type, length: length, nullCount: nullCount, storage: storage,
                validity: needsValidity ? 0 : nil, values: validityBytes..<(validityBytes + valueBytes), data: 0..<0,
                children: [])
        }
    }

    /// A storage holding only a validity bitmap for `segments` (empty when not needed).
    private static func validityStorage(
        _ validityBytes: Int, _ sources: [ArrowArray], _ segments: [Gather.Segment], _ needsValidity: Bool,
        _ nullCount: inout Int
    ) -> ByteStorage {
        var nulls = 0
        let storage = ByteStorage(count: validityBytes) { dst in
            guard needsValidity else { return }
            dst.initializeMemory(as: UInt8.self, repeating: 0)
            var out = 0
            for s in segments {
                for k in s.lower..<s.upper {
                    if s.source >= 0 && !sources[s.source].isNull(k) { setBit(dst, 0, out) } else { nulls += 1 }
                    out += 1
                }
            }
        }
        nullCount = nulls
        return storage
    }

    @inline(__always)
    private static func setBit(_ dst: UnsafeMutableRawBufferPointer, _ base: Int, _ bit: Int) {
        let p = base + (bit >> 3)
        dst[p] |= UInt8(1) << UInt8(bit & 7)
    }
}
