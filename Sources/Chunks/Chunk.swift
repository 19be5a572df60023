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
    /// The chunk id (`rerun:id`).
    public var id: Tuid
    /// The entity path exactly as `rerun:entity_path` carries it (escaped).
    public var entityPath: String
    /// Number of rows.
    public var numRows: Int
    /// True iff the chunk has no index columns.
    public var isStatic: Bool
    /// Row ids in ascending order.
    public var rowIds: [Tuid]
    /// Index columns in schema order.
    public var timelines: [Timeline]
    /// Component columns in schema order.
    public var components: [ComponentColumn]
    /// Schema-level metadata (`rerun:entity_path`, `rerun:id`, `sorbet:version`, …).
    public var schemaMetadata: [KeyValue]
    /// The decoded record batch (raw columns in physical row order).
    public var recordBatch: ArrowRecordBatch
    /// Whether the rows had to be re-sorted by RowId.
    public var wasResorted: Bool
    /// Non-fatal findings (unknown sorbet version, columns kept raw, `is_static` mismatch).
    public var warnings: [String]

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
    public var byteSize: Int {
        recordBatch.retainedByteCount + rowIds.count * MemoryLayout<Tuid>.stride
            + (wasResorted ? numRows * MemoryLayout<Int32>.stride : 0)
            + Self.modelOverheadBytes + Self.columnOverheadBytes * (timelines.count + components.count)
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
