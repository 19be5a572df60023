import ArrowIPC
import IngestCore

/// One decoded chunk: the rows of one entity, sorted by RowId, with their timelines and component
/// columns as zero-copy views over the decompressed Arrow IPC payload.
///
/// When the record batch was not sorted by RowId, the chunk carries a row permutation; every
/// accessor (``Timeline/time(at:)``, ``ComponentColumn/isNull(_:)``, …) takes RowId-order rows.
/// A chunk is static iff it has no timelines.
///
/// - Complexity: beyond the record batch's arrays, a decoded chunk is one object (its fields with
///   each timeline's range and sortedness inline) plus the column layout its schema shares with
///   every other chunk of that schema; ``timelines`` and ``components`` build their values on each
///   access. Row ids are read from the row-id column unless the rows had to be re-sorted (then they
///   and the permutation are one array each, in one more object).
public struct Chunk: @unchecked Sendable {
    // @unchecked: the only stored property is an immutable `Storage`, which cannot declare Sendable
    // itself (ManagedBuffer's conformance is unavailable).
    /// The chunk's fields. Timelines and components are not held as values: a chunk decoded from a
    /// stream refers to its schema's shared ``ColumnLayout`` and reads its columns from the record
    /// batch; ``timelines`` and ``components`` build their values on demand. What few chunks have
    /// (re-sorted rows, warnings, explicit metadata, columns set from outside) sits in one optional
    /// ``Extras`` object.
    @usableFromInline
    struct Fields {
        @usableFromInline let id: ChunkId
        @usableFromInline let entityPath: String
        @usableFromInline let numRows: Int
        @usableFromInline let isStatic: Bool
        let wasResorted: Bool
        /// Whether the row ids were checked ascending when the chunk was built (decoded or
        /// concatenated); false once they or the row count are set from outside.
        @usableFromInline let rowIdsAscending: Bool
        /// When non-nil: the row-id column's values (16 bytes per row, big-endian time then counter,
        /// already in RowId order) inside the record batch's storage. Nil: ``Extras/rowIds``.
        @usableFromInline let rowIdBytes: UnsafeRawPointer?
        /// Names, types and batch columns of the timelines and components (``ColumnLayout/empty``
        /// when ``Extras/timelines`` holds them).
        @usableFromInline let layout: ColumnLayout
        @usableFromInline let recordBatch: ArrowRecordBatch
        @usableFromInline let extras: Extras?
        /// ``Chunk/byteSize``, computed once from the other fields.
        @usableFromInline let byteSize: Int
    }

    /// The rarely needed fields, in one object so that a plain chunk pays one pointer for them.
    @usableFromInline
    final class Extras: Sendable {
        /// The row ids when they are not read from the payload (re-sorted, or built in memory).
        @usableFromInline let rowIds: [RowId]?
        /// RowId-order row → physical row, when the rows had to be re-sorted (layout columns only).
        @usableFromInline let rowOrder: [Int32]?
        /// Explicit schema metadata; nil: the record batch's (decoded on demand).
        let schemaMetadata: [KeyValue]?
        let warnings: [String]
        /// Columns held as values (set from outside); nil: the layout's columns in the record batch.
        @usableFromInline let timelines: [Timeline]?
        @usableFromInline let components: [ComponentColumn]?

        init(
            rowIds: [RowId]?, rowOrder: [Int32]?, schemaMetadata: [KeyValue]?, warnings: [String],
            timelines: [Timeline]?, components: [ComponentColumn]?
        ) {
            self.rowIds = rowIds
            self.rowOrder = rowOrder
            self.schemaMetadata = schemaMetadata
            self.warnings = warnings
            self.timelines = timelines
            self.components = components
        }
    }

    /// Every field lives in one shared, immutable object, with the time statistics of the layout's
    /// timelines allocated inline after it: copying a chunk (into the store, an output, a hook)
    /// costs one retain. A setter replaces the object (the chunk's other copies keep the old one).
    @usableFromInline
    final class Storage: ManagedBuffer<Fields, TimeStats> {
        // Immutable once built (so shared across threads); `rowIdBytes` points into the immutable
        // payload that `recordBatch` keeps alive.

        /// The fields (valid while the storage lives).
        @inlinable var fields: UnsafeMutablePointer<Fields> { withUnsafeMutablePointerToHeader { $0 } }
        /// The time statistics of `fields.layout.timelines`, one per timeline.
        @inlinable var stats: UnsafeMutablePointer<TimeStats> { withUnsafeMutablePointerToElements { $0 } }

        @inlinable
        func rowId(at row: Int) -> RowId {
            let f = fields
            guard let bytes = f.pointee.rowIdBytes else { return f.pointee.extras!.rowIds![row] }
            precondition(row >= 0 && row < f.pointee.numRows, "row \(row) out of 0..<\(f.pointee.numRows)")
            let p = bytes + 16 * row
            return RowId(
                timeNs: UInt64(bigEndian: p.loadUnaligned(as: UInt64.self)),
                inc: UInt64(bigEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }

        @inlinable
        func time(timeline: Int, row: Int) -> Int64 {
            let f = fields
            if f.pointee.extras != nil { return slowTime(timeline: timeline, row: row) }
            let column = f.pointee.layout.timelines[timeline].column
            return f.pointee.recordBatch.columns[column].value(at: row, as: Int64.self)
        }

        @usableFromInline
        func slowTime(timeline: Int, row: Int) -> Int64 {
            let f = fields
            let extras = f.pointee.extras!
            if let timelines = extras.timelines { return timelines[timeline].time(at: row) }
            let p = extras.rowOrder.map { Int($0[row]) } ?? row
            let column = f.pointee.layout.timelines[timeline].column
            return f.pointee.recordBatch.columns[column].value(at: p, as: Int64.self)
        }

        @inlinable
        func isNull(component: Int, row: Int) -> Bool {
            let f = fields
            if f.pointee.extras != nil { return slowIsNull(component: component, row: row) }
            let column = f.pointee.layout.components[component].column
            return f.pointee.recordBatch.columns[column].isNull(row)
        }

        @usableFromInline
        func slowIsNull(component: Int, row: Int) -> Bool {
            let f = fields
            let extras = f.pointee.extras!
            if let components = extras.components { return components[component].isNull(row) }
            let p = extras.rowOrder.map { Int($0[row]) } ?? row
            let column = f.pointee.layout.components[component].column
            return f.pointee.recordBatch.columns[column].isNull(p)
        }

        @inlinable var timelineCount: Int {
            let f = fields
            if let extras = f.pointee.extras, let timelines = extras.timelines { return timelines.count }
            return f.pointee.layout.timelines.count
        }

        @inlinable var componentCount: Int {
            let f = fields
            if let extras = f.pointee.extras, let components = extras.components { return components.count }
            return f.pointee.layout.components.count
        }

        var rowIds: [RowId] {
            let f = fields
            return f.pointee.extras?.rowIds ?? (0..<f.pointee.numRows).map { rowId(at: $0) }
        }

        var rowOrder: [Int32]? { fields.pointee.extras?.rowOrder }

        /// The layout, unless the columns are held as values.
        @inlinable var columnLayoutKey: ColumnLayout? {
            let f = fields
            if let extras = f.pointee.extras, extras.timelines != nil || extras.components != nil { return nil }
            return f.pointee.layout
        }

        /// Timeline `k` as a value.
        func timeline(_ k: Int) -> Timeline {
            let f = fields
            if let timelines = f.pointee.extras?.timelines { return timelines[k] }
            let slot = f.pointee.layout.timelines[k]
            return Timeline(
                name: slot.name, columnName: slot.columnName, kind: slot.kind, arrowType: slot.arrowType,
                column: f.pointee.recordBatch.columns[slot.column], rowOrder: rowOrder, stats: stats[k])
        }

        /// Component `k` as a value.
        func component(_ k: Int) -> ComponentColumn {
            let f = fields
            if let components = f.pointee.extras?.components { return components[k] }
            let slot = f.pointee.layout.components[k]
            return ComponentColumn(
                name: slot.name, archetype: slot.archetype, component: slot.component,
                componentType: slot.componentType, arrowType: slot.arrowType,
                column: f.pointee.recordBatch.columns[slot.column], recordBatchColumn: slot.column, rowOrder: rowOrder)
        }

        var timelines: [Timeline] {
            if let timelines = fields.pointee.extras?.timelines { return timelines }
            return (0..<timelineCount).map { timeline($0) }
        }

        var components: [ComponentColumn] {
            if let components = fields.pointee.extras?.components { return components }
            return (0..<componentCount).map { component($0) }
        }

        @inlinable
        func timelineName(_ k: Int) -> String {
            let f = fields
            if let timelines = f.pointee.extras?.timelines { return timelines[k].name }
            return f.pointee.layout.timelines[k].name
        }

        @inlinable
        func componentName(_ k: Int) -> String {
            let f = fields
            if let components = f.pointee.extras?.components { return components[k].name }
            return f.pointee.layout.components[k].name
        }

        @inlinable
        func timeRange(_ k: Int) -> ClosedRange<Int64>? {
            let f = fields
            if let extras = f.pointee.extras, let timelines = extras.timelines { return timelines[k].range }
            guard f.pointee.recordBatch.columns[f.pointee.layout.timelines[k].column].length > 0 else { return nil }
            let s = stats[k]
            return s.min...s.max
        }

        @inlinable
        func isTimeSorted(_ k: Int) -> Bool {
            let f = fields
            if let extras = f.pointee.extras, let timelines = extras.timelines { return timelines[k].isSorted }
            return stats[k].sorted
        }

        /// The fields as parts (``Parts``), to build a modified copy.
        var parts: Parts {
            let f = fields.pointee
            let explicit = f.extras?.timelines != nil || f.extras?.components != nil
            return Parts(
                id: f.id, entityPath: f.entityPath, numRows: f.numRows, isStatic: f.isStatic,
                rowIds: f.extras?.rowIds, rowIdBytes: f.rowIdBytes, layout: f.layout, rowOrder: f.extras?.rowOrder,
                timelines: explicit ? timelines : nil, components: explicit ? components : nil,
                schemaMetadata: f.extras?.schemaMetadata, recordBatch: f.recordBatch, wasResorted: f.wasResorted,
                rowIdsAscending: f.rowIdsAscending, warnings: f.extras?.warnings ?? [])
        }

        /// A storage holding `parts`; `stats` are the layout timelines' statistics when known
        /// (else each layout timeline column is scanned once).
        static func make(_ parts: consuming Parts, stats known: UnsafePointer<TimeStats>? = nil) -> Storage {
            precondition(
                parts.rowIds != nil || parts.rowIdBytes != nil || parts.numRows == 0, "a chunk with rows needs its row ids")
            let explicit = parts.timelines != nil || parts.components != nil
            let layout = explicit ? ColumnLayout.empty : parts.layout
            let timelineCount = explicit ? parts.timelines?.count ?? 0 : layout.timelines.count
            let componentCount = explicit ? parts.components?.count ?? 0 : layout.components.count
            let byteSize = Chunk.byteSize(
                recordBatch: parts.recordBatch, numRows: parts.numRows, wasResorted: parts.wasResorted,
                timelines: timelineCount, components: componentCount)
            let rowOrder = explicit ? nil : parts.rowOrder
            let extras: Extras? =
                parts.rowIds == nil && rowOrder == nil && parts.schemaMetadata == nil && parts.warnings.isEmpty
                    && !explicit
                ? nil
                : Extras(
                    rowIds: parts.rowIds, rowOrder: rowOrder, schemaMetadata: parts.schemaMetadata,
                    warnings: parts.warnings, timelines: explicit ? parts.timelines ?? [] : nil,
                    components: explicit ? parts.components ?? [] : nil)
            let fields = Fields(
                id: parts.id, entityPath: parts.entityPath, numRows: parts.numRows, isStatic: parts.isStatic,
                wasResorted: parts.wasResorted, rowIdsAscending: parts.rowIdsAscending, rowIdBytes: parts.rowIds == nil ? parts.rowIdBytes : nil,
                layout: layout, recordBatch: parts.recordBatch, extras: extras, byteSize: byteSize)
            let count = layout.timelines.count
            let buffer = Storage.create(minimumCapacity: count) { _ in fields }
            let storage = unsafeDowncast(buffer, to: Storage.self)
            storage.withUnsafeMutablePointers { f, stats in
                for k in 0..<count {
                    if let known {
                        (stats + k).initialize(to: known[k])
                    } else {
                        let slot = layout.timelines[k]
                        let column = slot.column
                        precondition(
                            column < f.pointee.recordBatch.columns.count, "timeline column outside the record batch")
                        (stats + k).initialize(
                            to: TimeStats.scan(f.pointee.recordBatch.columns[column], rowOrder: rowOrder, name: slot.columnName))
                    }
                }
            }
            return storage
        }

        /// A copy with `change` applied to the parts. The statistics are kept unless the columns change.
        func with(_ change: (inout Parts) -> Void) -> Storage {
            var p = parts
            let before = (p.numRows, p.rowIds == nil)
            change(&p)
            // Columns set as values: the others become values too.
            if p.timelines != nil || p.components != nil {
                if p.timelines == nil { p.timelines = timelines }
                if p.components == nil { p.components = components }
            }
            // Row ids read from the payload cover exactly `numRows` rows: a new count takes them as an array.
            if p.rowIds == nil && p.rowIdBytes != nil && before.0 != p.numRows { p.rowIds = rowIds }
            let sameColumns = p.timelines == nil && p.components == nil && p.layout === fields.pointee.layout
            return withExtendedLifetime(self) {
                Storage.make(p, stats: sameColumns ? UnsafePointer(stats) : nil)
            }
        }
    }

    /// A chunk's fields as plain values (to build or modify a chunk).
    struct Parts {
        var id: ChunkId
        var entityPath: String
        var numRows: Int
        var isStatic: Bool
        /// Nil: read from `rowIdBytes`.
        var rowIds: [RowId]?
        var rowIdBytes: UnsafeRawPointer?
        var layout: ColumnLayout
        var rowOrder: [Int32]?
        /// Columns as values; when either is set the chunk holds both as values (the other built
        /// from the layout), and `layout` and `rowOrder` are not used.
        var timelines: [Timeline]?
        var components: [ComponentColumn]?
        var schemaMetadata: [KeyValue]?
        var recordBatch: ArrowRecordBatch
        var wasResorted: Bool
        /// Whether `rowIds` (or the payload's row ids) are known to ascend.
        var rowIdsAscending: Bool
        var warnings: [String]
    }

    @usableFromInline var storage: Storage

    /// A chunk of `layout`'s columns in `recordBatch`, rows in RowId order through `rowOrder` (nil:
    /// physical order), whose row ids are `rowIds`, or (when nil) read from `rowIdBytes`: 16 bytes
    /// per row in RowId order inside `recordBatch`'s storage. Scans each timeline column once.
    init(
        id: ChunkId, entityPath: String, numRows: Int, isStatic: Bool, rowIds: [RowId]?,
        rowIdBytes: UnsafeRawPointer? = nil, layout: ColumnLayout, rowOrder: [Int32]?,
        schemaMetadata: [KeyValue]?, recordBatch: consuming ArrowRecordBatch, wasResorted: Bool,
        rowIdsAscending: Bool = false, warnings: [String]
    ) {
        // Built directly (not through `Parts`): a decoded chunk moves its batch in without copies.
        precondition(rowIds != nil || rowIdBytes != nil || numRows == 0, "a chunk with rows needs its row ids")
        let byteSize = Chunk.byteSize(
            recordBatch: recordBatch, numRows: numRows, wasResorted: wasResorted, timelines: layout.timelines.count,
            components: layout.components.count)
        let extras: Extras? =
            rowIds == nil && rowOrder == nil && schemaMetadata == nil && warnings.isEmpty
            ? nil
            : Extras(
                rowIds: rowIds, rowOrder: rowOrder, schemaMetadata: schemaMetadata, warnings: warnings, timelines: nil,
                components: nil)
        let count = layout.timelines.count
        // Moved into the header (a capture would copy it).
        var batch: ArrowRecordBatch? = consume recordBatch
        let buffer = Storage.create(minimumCapacity: count) { _ in
            Fields(
                id: id, entityPath: entityPath, numRows: numRows, isStatic: isStatic, wasResorted: wasResorted,
                rowIdsAscending: rowIdsAscending, rowIdBytes: rowIds == nil ? rowIdBytes : nil, layout: layout,
                recordBatch: batch.take()!, extras: extras, byteSize: byteSize)
        }
        let storage = unsafeDowncast(buffer, to: Storage.self)
        storage.withUnsafeMutablePointers { f, stats in
            f.pointee.recordBatch.columns.withUnsafeBufferPointer { columns in
                for k in 0..<count {
                    let slot = layout.timelines[k]
                    precondition(slot.column < columns.count, "timeline column outside the record batch")
                    (stats + k).initialize(to: TimeStats.scan(columns[slot.column], rowOrder: rowOrder, name: slot.columnName))
                }
            }
        }
        self.storage = storage
    }

    /// A chunk holding its columns as values.
    init(
        id: ChunkId, entityPath: String, numRows: Int, isStatic: Bool, rowIds: [RowId]?,
        rowIdBytes: UnsafeRawPointer? = nil, timelines: [Timeline], components: [ComponentColumn],
        schemaMetadata: [KeyValue]?, recordBatch: consuming ArrowRecordBatch, wasResorted: Bool, warnings: [String]
    ) {
        storage = Storage.make(
            Parts(
                id: id, entityPath: entityPath, numRows: numRows, isStatic: isStatic, rowIds: rowIds,
                rowIdBytes: rowIdBytes, layout: .empty, rowOrder: nil, timelines: timelines, components: components,
                schemaMetadata: schemaMetadata, recordBatch: recordBatch, wasResorted: wasResorted,
                rowIdsAscending: false, warnings: warnings))
    }

    /// The chunk id (`rerun:id`).
    public var id: ChunkId {
        @inlinable get { storage.fields.pointee.id }
        set { storage = storage.with { $0.id = newValue } }
    }
    /// The entity path exactly as `rerun:entity_path` carries it (escaped).
    public var entityPath: String {
        @inlinable get { storage.fields.pointee.entityPath }
        set { storage = storage.with { $0.entityPath = newValue } }
    }
    /// Number of rows.
    public var numRows: Int {
        @inlinable get { storage.fields.pointee.numRows }
        set {
            storage = storage.with {
                $0.numRows = newValue
                $0.rowIdsAscending = false
            }
        }
    }
    /// True iff the chunk has no index columns.
    public var isStatic: Bool {
        @inlinable get { storage.fields.pointee.isStatic }
        set { storage = storage.with { $0.isStatic = newValue } }
    }
    /// Row ids in ascending order. Usually read from the row-id column on demand (this builds an
    /// array: prefer ``rowId(at:)`` for single rows).
    public var rowIds: [RowId] {
        get { storage.rowIds }
        set {
            storage = storage.with {
                $0.rowIds = newValue
                $0.rowIdsAscending = false
            }
        }
    }
    /// Index columns in schema order (built on each access: prefer the index accessors such as
    /// ``time(timeline:row:)`` for single values).
    public var timelines: [Timeline] {
        get { storage.timelines }
        set { storage = storage.with { $0.timelines = newValue } }
    }
    /// Component columns in schema order (built on each access: prefer the index accessors such as
    /// ``isNull(component:row:)`` for single cells).
    public var components: [ComponentColumn] {
        get { storage.components }
        set { storage = storage.with { $0.components = newValue } }
    }
    /// Schema-level metadata (`rerun:entity_path`, `rerun:id`, `sorbet:version`, …); decoded from the
    /// retained schema bytes on each access unless set explicitly. For a chunk whose columns were
    /// migrated from an older SDK's schema (``SchemaMigration``), the migrated metadata.
    public var schemaMetadata: [KeyValue] {
        get {
            let f = storage.fields.pointee
            if let explicit = f.extras?.schemaMetadata { return explicit }
            if let version = f.layout.migratedFrom {
                return SchemaMigration.schemaMetadata(f.recordBatch.schemaMetadata, version: version)
            }
            return f.recordBatch.schemaMetadata
        }
        set { storage = storage.with { $0.schemaMetadata = newValue } }
    }
    /// Whether the columns were migrated from an older SDK's schema (``SchemaMigration``): the
    /// payload the chunk was decoded from then says something else than the chunk.
    public var isMigrated: Bool { storage.fields.pointee.layout.migratedFrom != nil }
    /// The decoded record batch (raw columns in physical row order).
    public var recordBatch: ArrowRecordBatch {
        get { storage.fields.pointee.recordBatch }
        set {
            // The columns keep reading the old batch (as values), and the row ids taken from its
            // payload move into an array: the payload is kept alive by the old batch only.
            let old = storage
            storage = old.with { p in
                if p.timelines == nil && p.components == nil {
                    p.timelines = old.timelines
                    p.components = old.components
                }
                if p.rowIds == nil { p.rowIds = old.rowIds }
                p.recordBatch = newValue
            }
        }
    }
    /// Whether the rows had to be re-sorted by RowId.
    public var wasResorted: Bool {
        get { storage.fields.pointee.wasResorted }
        set { storage = storage.with { $0.wasResorted = newValue } }
    }
    /// Non-fatal findings (unknown sorbet version, columns kept raw, `is_static` mismatch).
    public var warnings: [String] {
        get { storage.fields.pointee.extras?.warnings ?? [] }
        set { storage = storage.with { $0.warnings = newValue } }
    }

    /// The entity path with its parts.
    public var entity: EntityPath { EntityPath(escaped: entityPath) }

    /// The timeline named `name`.
    public func timeline(named name: String) -> Timeline? {
        (0..<storage.timelineCount).first { storage.timelineName($0) == name }.map { storage.timeline($0) }
    }

    /// The component column named `name` (column name, e.g. `Points3D:positions`).
    public func component(named name: String) -> ComponentColumn? {
        (0..<storage.componentCount).first { storage.componentName($0) == name }.map { storage.component($0) }
    }

    /// An estimate of the memory this chunk keeps alive: the Arrow storage it retains
    /// (``/ArrowIPC/ArrowRecordBatch/retainedByteCount``: for a small chunk the record-batch body and
    /// schema metadata its decoder copied out of the payload, for a large one the whole decompressed
    /// payload, schema included, for a merged chunk its fresh buffers), its row ids and row order, and a fixed allowance for
    /// the chunk's own objects (``modelOverheadBytes`` plus ``columnOverheadBytes`` per column).
    ///
    /// This is the scale the engine's queues count in (a message's payload bytes), so a memory budget
    /// can add the bytes waiting in a queue to the bytes held by the store.
    ///
    /// Computed once, when the chunk is built (and again when a setter replaces its fields).
    @inlinable public var byteSize: Int { storage.fields.pointee.byteSize }

    /// What ``byteSize`` reports for a chunk of these parts (row ids count `numRows` entries,
    /// whether they are read from the payload or held in an array).
    static func byteSize(
        recordBatch: ArrowRecordBatch, numRows: Int, wasResorted: Bool, timelines: Int, components: Int
    ) -> Int {
        recordBatch.retainedByteCount + numRows * MemoryLayout<RowId>.stride
            + (wasResorted ? numRows * MemoryLayout<Int32>.stride : 0)
            + modelOverheadBytes + columnOverheadBytes * (timelines + components)
    }

    /// The allowance per chunk in ``byteSize`` for the chunk's objects outside Arrow storage: the
    /// chunk's storage object (its fields, the record batch value, inline time statistics), the
    /// record batch's column array with its row-id column, the payload's storage object, allocator
    /// headers. Measured (glibc `mallinfo2`) at 350–400 bytes for a decoded tiny chunk; the column
    /// layout, names and types are shared by every chunk of a schema and not counted.
    public static let modelOverheadBytes = 384
    /// The allowance per timeline or component column in ``byteSize``: its array value in the record
    /// batch (and a list's child array), a timeline's statistics, and the store's index entry per
    /// (timeline, component) with its share of array growth. Measured at 150–180 bytes per column.
    public static let columnOverheadBytes = 176

    /// Human-readable summary for `ingest print -v`: the entity path, chunk id and row count, then
    /// one line per timeline (kind, Arrow type, range, sorted) and per component (Arrow type).
    public func summaryLines() -> [String] {
        var lines = ["\(entityPath) \(id) rows=\(numRows)" + (isStatic ? " static" : "")]
        for t in timelines {
            var s = "  timeline \(t.name) (\(t.kind.rawValue), \(t.arrowType))"
            if let r = t.range { s += " \(r.lowerBound)..=\(r.upperBound)" }
            s += t.isSorted ? " sorted" : " unsorted"
            lines.append(s)
        }
        for c in components {
            lines.append("  component \(c.name): \(c.arrowType)")
        }
        return lines
    }
}
