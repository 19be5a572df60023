import ArrowIPC
import RRD

/// One decoded chunk: the rows of one entity, sorted by RowId, with their timelines and component
/// columns as zero-copy views over the decompressed Arrow IPC payload.
///
/// When the record batch was not sorted by RowId, the chunk carries a row permutation; every
/// accessor (``Timeline/time(at:)``, ``ComponentColumn/isNull(_:)``, …) takes RowId-order rows.
/// A chunk is static iff it has no timelines.
///
/// - Complexity: decoding allocates O(columns) objects; row ids are read from the row-id column
///   unless the rows had to be re-sorted (then they and the permutation are one array each).
public struct Chunk: Sendable {
    /// Every field lives in one shared, immutable object: copying a chunk (into the store, an
    /// output, a hook) costs one retain instead of one per array and string. A setter replaces the
    /// object (the chunk's other copies keep the old one).
    @usableFromInline
    final class Storage: @unchecked Sendable {
        // @unchecked: `rowIdBytes` points into the immutable payload that `recordBatch` keeps alive.
        @usableFromInline let id: Tuid
        @usableFromInline let entityPath: String
        @usableFromInline let numRows: Int
        @usableFromInline let isStatic: Bool
        /// The row ids when they are not read from the payload (re-sorted, or built in memory).
        @usableFromInline let rowIdArray: [Tuid]?
        /// When `rowIdArray` is nil: the row-id column's values (16 bytes per row, big-endian time then
        /// counter, already in RowId order) inside the record batch's storage.
        @usableFromInline let rowIdBytes: UnsafeRawPointer?
        @usableFromInline let timelines: [Timeline]
        @usableFromInline let components: [ComponentColumn]
        /// Explicit schema metadata; nil: the record batch's (decoded on demand).
        let schemaMetadata: [KeyValue]?
        let recordBatch: ArrowRecordBatch
        let wasResorted: Bool
        let warnings: [String]
        /// ``Chunk/byteSize``, computed once from the other fields.
        let byteSize: Int

        init(
            id: Tuid, entityPath: String, numRows: Int, isStatic: Bool, rowIds: [Tuid]?,
            rowIdBytes: UnsafeRawPointer?, timelines: [Timeline], components: [ComponentColumn],
            schemaMetadata: [KeyValue]?, recordBatch: consuming ArrowRecordBatch, wasResorted: Bool, warnings: [String]
        ) {
            // `consuming`: the batch moves in (a copy retains each of its arrays and objects).
            precondition(rowIds != nil || rowIdBytes != nil || numRows == 0, "a chunk with rows needs its row ids")
            self.byteSize = Chunk.byteSize(
                recordBatch: recordBatch, numRows: numRows, wasResorted: wasResorted, timelines: timelines.count,
                components: components.count)
            self.id = id
            self.entityPath = entityPath
            self.numRows = numRows
            self.isStatic = isStatic
            self.rowIdArray = rowIds
            self.rowIdBytes = rowIds == nil ? rowIdBytes : nil
            self.timelines = timelines
            self.components = components
            self.schemaMetadata = schemaMetadata
            self.recordBatch = recordBatch
            self.wasResorted = wasResorted
            self.warnings = warnings
        }

        @inlinable
        func rowId(at row: Int) -> Tuid {
            if let rowIdArray { return rowIdArray[row] }
            precondition(row >= 0 && row < numRows, "row \(row) out of 0..<\(numRows)")
            let p = rowIdBytes.unsafelyUnwrapped + 16 * row
            return Tuid(
                timeNs: UInt64(bigEndian: p.loadUnaligned(as: UInt64.self)),
                inc: UInt64(bigEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }

        var rowIds: [Tuid] { rowIdArray ?? (0..<numRows).map { rowId(at: $0) } }

        /// A copy with some fields replaced.
        func with(
            id: Tuid? = nil, entityPath: String? = nil, numRows: Int? = nil, isStatic: Bool? = nil,
            rowIds: [Tuid]? = nil, timelines: [Timeline]? = nil, components: [ComponentColumn]? = nil,
            schemaMetadata: [KeyValue]? = nil, recordBatch: ArrowRecordBatch? = nil, wasResorted: Bool? = nil,
            warnings: [String]? = nil
        ) -> Storage {
            // Row ids read from the payload cover exactly `numRows` rows: a new count takes them as an array.
            // So does a new record batch: the payload they point into is kept alive by the old one only.
            let rowIds =
                rowIds
                ?? ((numRows.map { $0 != self.numRows } == true || recordBatch != nil) && rowIdArray == nil
                    ? self.rowIds : nil)
            return Storage(
                id: id ?? self.id, entityPath: entityPath ?? self.entityPath, numRows: numRows ?? self.numRows,
                isStatic: isStatic ?? self.isStatic, rowIds: rowIds ?? self.rowIdArray,
                rowIdBytes: rowIds == nil ? self.rowIdBytes : nil,
                timelines: timelines ?? self.timelines, components: components ?? self.components,
                schemaMetadata: schemaMetadata ?? self.schemaMetadata, recordBatch: recordBatch ?? self.recordBatch,
                wasResorted: wasResorted ?? self.wasResorted, warnings: warnings ?? self.warnings)
        }
    }

    @usableFromInline var storage: Storage

    /// A chunk whose row ids are `rowIds`, or (when nil) read from `rowIdBytes`: 16 bytes per row in
    /// RowId order inside `recordBatch`'s storage.
    init(
        id: Tuid, entityPath: String, numRows: Int, isStatic: Bool, rowIds: [Tuid]?,
        rowIdBytes: UnsafeRawPointer? = nil, timelines: [Timeline], components: [ComponentColumn],
        schemaMetadata: [KeyValue]?, recordBatch: consuming ArrowRecordBatch, wasResorted: Bool, warnings: [String]
    ) {
        storage = Storage(
            id: id, entityPath: entityPath, numRows: numRows, isStatic: isStatic, rowIds: rowIds,
            rowIdBytes: rowIdBytes, timelines: timelines,            components: components, schemaMetadata: schemaMetadata, recordBatch: recordBatch,
            wasResorted: wasResorted, warnings: warnings)
    }

    /// The chunk id (`rerun:id`).
    public var id: Tuid {
        @inlinable get { storage.id }
        set { storage = storage.with(id: newValue) }
    }
    /// The entity path exactly as `rerun:entity_path` carries it (escaped).
    public var entityPath: String {
        @inlinable get { storage.entityPath }
        set { storage = storage.with(entityPath: newValue) }
    }
    /// Number of rows.
    public var numRows: Int {
        @inlinable get { storage.numRows }
        set { storage = storage.with(numRows: newValue) }
    }
    /// True iff the chunk has no index columns.
    public var isStatic: Bool {
        @inlinable get { storage.isStatic }
        set { storage = storage.with(isStatic: newValue) }
    }
    /// Row ids in ascending order. Usually read from the row-id column on demand (this builds an
    /// array: prefer ``rowId(at:)`` for single rows).
    public var rowIds: [Tuid] {
        get { storage.rowIds }
        set { storage = storage.with(rowIds: newValue) }
    }
    /// Index columns in schema order.
    public var timelines: [Timeline] {
        @inlinable get { storage.timelines }
        set { storage = storage.with(timelines: newValue) }
    }
    /// Component columns in schema order.
    public var components: [ComponentColumn] {
        @inlinable get { storage.components }
        set { storage = storage.with(components: newValue) }
    }
    /// Schema-level metadata (`rerun:entity_path`, `rerun:id`, `sorbet:version`, …); decoded from the
    /// retained schema bytes on each access unless set explicitly.
    public var schemaMetadata: [KeyValue] {
        get { storage.schemaMetadata ?? storage.recordBatch.schemaMetadata }
        set { storage = storage.with(schemaMetadata: newValue) }
    }
    /// The decoded record batch (raw columns in physical row order).
    public var recordBatch: ArrowRecordBatch {
        get { storage.recordBatch }
        set { storage = storage.with(recordBatch: newValue) }
    }
    /// Whether the rows had to be re-sorted by RowId.
    public var wasResorted: Bool {
        get { storage.wasResorted }
        set { storage = storage.with(wasResorted: newValue) }
    }
    /// Non-fatal findings (unknown sorbet version, columns kept raw, `is_static` mismatch).
    public var warnings: [String] {
        get { storage.warnings }
        set { storage = storage.with(warnings: newValue) }
    }

    /// The entity path with its parts.
    public var entity: EntityPath { EntityPath(escaped: entityPath) }

    /// The timeline named `name`.
    public func timeline(named name: String) -> Timeline? { timelines.first { $0.name == name } }

    /// The component column named `name` (column name, e.g. `Points3D:positions`).
    public func component(named name: String) -> ComponentColumn? { components.first { $0.name == name } }

    /// An estimate of the memory this chunk keeps alive: the Arrow storage it retains
    /// (``ArrowIPC/ArrowRecordBatch/retainedByteCount``: the decompressed payload, schema included,
    /// or a compacted chunk's fresh buffers), its row ids and row order, and a fixed allowance for
    /// the chunk's own objects (``modelOverheadBytes`` plus ``columnOverheadBytes`` per column).
    ///
    /// This is the scale the engine's queues count in (a message's payload bytes), so a memory budget
    /// can add the bytes waiting in a queue to the bytes held by the store.
    ///
    /// Computed once, when the chunk is built (and again when a setter replaces its fields).
    public var byteSize: Int { storage.byteSize }

    /// What ``byteSize`` reports for a chunk of these parts (row ids count `numRows` entries,
    /// whether they are read from the payload or held in an array).
    static func byteSize(
        recordBatch: ArrowRecordBatch, numRows: Int, wasResorted: Bool, timelines: Int, components: Int
    ) -> Int {
        recordBatch.retainedByteCount + numRows * MemoryLayout<Tuid>.stride
            + (wasResorted ? numRows * MemoryLayout<Int32>.stride : 0)
            + modelOverheadBytes + columnOverheadBytes * (timelines + components)
    }

    /// The allowance per chunk in ``byteSize`` for the chunk's objects outside Arrow storage
    /// (the chunk value, its row-id array, entity path and metadata strings, record batch and column
    /// arrays, allocator headers).
    public static let modelOverheadBytes = 512
    /// The allowance per timeline or component column in ``byteSize`` (its view values and names).
    public static let columnOverheadBytes = 96

    /// Human-readable summary for `ingest print -v`: the entity path, chunk id and row count, then
    /// one line per timeline (kind, Arrow type, range, sorted) and per component (Arrow type).
    public func summaryLines() -> [String] {
        var lines = ["\(entityPath) \(id.chunkIdString) rows=\(numRows)" + (isStatic ? " static" : "")]
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
