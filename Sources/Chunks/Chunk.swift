import ArrowIPC
import RRD

/// One decoded chunk: the rows of one entity, sorted by RowId, with their timelines and component
/// columns as zero-copy views over the decompressed Arrow IPC payload.
///
/// When the record batch was not sorted by RowId, the chunk carries a row permutation; every
/// accessor (``Timeline/time(at:)``, ``ComponentColumn/isNull(_:)``, …) takes RowId-order rows.
/// A chunk is static iff it has no timelines.
///
/// - Complexity: decoding allocates O(columns) objects; row ids and the optional permutation are
///   one array each.
public struct Chunk: Sendable {
    /// Every field lives in one shared, immutable-once-built object: copying a chunk (into the store,
    /// an output, a hook) costs one retain instead of one per array and string. Setters copy it
    /// first unless this chunk holds the only reference.
    @usableFromInline
    final class Storage: @unchecked Sendable {
        // @unchecked: the fields are only written through `Chunk`'s setters, after
        // `isKnownUniquelyReferenced` (copy-on-write), so a shared instance is never mutated.
        @usableFromInline var id: Tuid
        @usableFromInline var entityPath: String
        @usableFromInline var numRows: Int
        @usableFromInline var isStatic: Bool
        @usableFromInline var rowIds: [Tuid]
        @usableFromInline var timelines: [Timeline]
        @usableFromInline var components: [ComponentColumn]
        /// Explicit schema metadata; nil: the record batch's (decoded on demand).
        var schemaMetadata: [KeyValue]?
        var recordBatch: ArrowRecordBatch
        var wasResorted: Bool
        var warnings: [String]
        /// ``Chunk/byteSize``, computed when the batch or the row ids are set.
        var byteSize: Int

        init(
            id: Tuid, entityPath: String, numRows: Int, isStatic: Bool, rowIds: [Tuid], timelines: [Timeline],
            components: [ComponentColumn], schemaMetadata: [KeyValue]?, recordBatch: ArrowRecordBatch,
            wasResorted: Bool, warnings: [String], byteSize: Int
        ) {
            self.id = id
            self.entityPath = entityPath
            self.numRows = numRows
            self.isStatic = isStatic
            self.rowIds = rowIds
            self.timelines = timelines
            self.components = components
            self.schemaMetadata = schemaMetadata
            self.recordBatch = recordBatch
            self.wasResorted = wasResorted
            self.warnings = warnings
            self.byteSize = byteSize
        }

        func copy() -> Storage {
            Storage(
                id: id, entityPath: entityPath, numRows: numRows, isStatic: isStatic, rowIds: rowIds,
                timelines: timelines, components: components, schemaMetadata: schemaMetadata,
                recordBatch: recordBatch, wasResorted: wasResorted, warnings: warnings, byteSize: byteSize)
        }
    }

    @usableFromInline var storage: Storage

    init(
        id: Tuid, entityPath: String, numRows: Int, isStatic: Bool, rowIds: [Tuid], timelines: [Timeline],
        components: [ComponentColumn], schemaMetadata: [KeyValue]?, recordBatch: ArrowRecordBatch, wasResorted: Bool,
        warnings: [String]
    ) {
        storage = Storage(
            id: id, entityPath: entityPath, numRows: numRows, isStatic: isStatic, rowIds: rowIds, timelines: timelines,
            components: components, schemaMetadata: schemaMetadata, recordBatch: recordBatch,
            wasResorted: wasResorted, warnings: warnings,
            byteSize: Self.byteSize(recordBatch: recordBatch, rowIds: rowIds))
    }

    /// The storage, copied first when shared (copy-on-write).
    private var unique: Storage {
        mutating get {
            if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
            return storage
        }
    }

    /// The chunk id (`rerun:id`).
    public var id: Tuid {
        @inlinable get { storage.id }
        set { unique.id = newValue }
    }
    /// The entity path exactly as `rerun:entity_path` carries it (escaped).
    public var entityPath: String {
        @inlinable get { storage.entityPath }
        set { unique.entityPath = newValue }
    }
    /// Number of rows.
    public var numRows: Int {
        @inlinable get { storage.numRows }
        set { unique.numRows = newValue }
    }
    /// True iff the chunk has no index columns.
    public var isStatic: Bool {
        @inlinable get { storage.isStatic }
        set { unique.isStatic = newValue }
    }
    /// Row ids in ascending order.
    public var rowIds: [Tuid] {
        @inlinable get { storage.rowIds }
        set {
            let s = unique
            s.rowIds = newValue
            s.byteSize = Self.byteSize(recordBatch: s.recordBatch, rowIds: newValue)
        }
    }
    /// Index columns in schema order.
    public var timelines: [Timeline] {
        @inlinable get { storage.timelines }
        set { unique.timelines = newValue }
    }
    /// Component columns in schema order.
    public var components: [ComponentColumn] {
        @inlinable get { storage.components }
        set { unique.components = newValue }
    }
    /// Schema-level metadata (`rerun:entity_path`, `rerun:id`, `sorbet:version`, …); decoded from the
    /// retained schema bytes on each access unless set explicitly.
    public var schemaMetadata: [KeyValue] {
        get { storage.schemaMetadata ?? storage.recordBatch.schemaMetadata }
        set { unique.schemaMetadata = newValue }
    }
    /// The decoded record batch (raw columns in physical row order).
    public var recordBatch: ArrowRecordBatch {
        get { storage.recordBatch }
        set {
            let s = unique
            s.recordBatch = newValue
            s.byteSize = Self.byteSize(recordBatch: newValue, rowIds: s.rowIds)
        }
    }
    /// Whether the rows had to be re-sorted by RowId.
    public var wasResorted: Bool {
        get { storage.wasResorted }
        set { unique.wasResorted = newValue }
    }
    /// Non-fatal findings (unknown sorbet version, columns kept raw, `is_static` mismatch).
    public var warnings: [String] {
        get { storage.warnings }
        set { unique.warnings = newValue }
    }

    /// The entity path with its parts.
    public var entity: EntityPath { EntityPath(escaped: entityPath) }

    /// The timeline named `name`.
    public func timeline(named name: String) -> Timeline? { timelines.first { $0.name == name } }

    /// The component column named `name` (column name, e.g. `Points3D:positions`).
    public func component(named name: String) -> ComponentColumn? { components.first { $0.name == name } }

    /// Bytes of Arrow buffers this chunk references (an estimate of its memory). Computed once, when
    /// the chunk is built (and again if ``recordBatch`` or ``rowIds`` is set).
    public var byteSize: Int { storage.byteSize }

    /// What ``byteSize`` reports for a chunk of this batch and these row ids.
    static func byteSize(recordBatch: ArrowRecordBatch, rowIds: [Tuid]) -> Int {
        recordBatch.columns.reduce(0) { $0 + $1.bufferBytes } + rowIds.count * 16
    }

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
