import ArrowIPC
import IngestCore

/// A chunk as a Rerun chunk record batch again: the row-id column, the index columns, the component
/// columns, with the Sorbet metadata (what ``ChunkDecoder`` reads), for writing chunks whose content
/// changed (compacted, filtered) with ``ArrowIPC/ArrowIPCWriter``.
extension Chunk {
    /// The schema and columns of this chunk as a record batch, rows in the order of its arrays (the
    /// record batch's physical order; RowId order unless the decoder had to sort the rows).
    ///
    /// Column arrays are the chunk's own (nothing is copied); the row-id column is the decoded
    /// batch's when it has one, else built from ``rowIds``. Fields are the decoded batch's where a
    /// column kept its name and type, else built from the chunk model (`rerun:kind`, `rerun:index_name`,
    /// `rerun:is_sorted` when known, `rerun:archetype`, `rerun:component`, `rerun:component_type`).
    /// The schema metadata is ``schemaMetadata`` with `rerun:id` and `rerun:entity_path` set to this
    /// chunk's.
    ///
    /// - Parameter dropped: timelines (by name) left out; a chunk left without timelines is
    ///   static (``RecordBatchParts/isStatic``), as `rerun rrd filter --drop-timeline` makes it.
    public func recordBatchParts(droppingTimelines dropped: Set<String> = []) -> RecordBatchParts {
        let batch = recordBatch
        let rawFields = batch.fields.count == batch.columns.count ? batch.fields : []
        var fields: [ArrowField] = []
        var columns: [ArrowArray] = []
        let rowOrder = storage.rowOrder

        // Row ids, in the arrays' order: the batch's column when the chunk reads its ids from it.
        if storage.fields.pointee.rowIdBytes != nil,
            let k = rawFields.firstIndex(where: { ($0.metadata("rerun:kind") ?? $0.metadata("rerun.kind")) == "control" }),
            batch.columns[k].length == numRows, case .fixedSizeBinary(16) = batch.columns[k].type
        {
            var f = rawFields[k]
            f.metadata = f.metadata.filter { !$0.key.hasPrefix("rerun.") }
            if rawFields[k].metadata("rerun:kind") == nil {
                f.metadata.append(KeyValue(key: "rerun:kind", value: "control"))
            }
            fields.append(f)
            columns.append(batch.columns[k])
        } else {
            var ids = rowIds
            if let rowOrder {
                // RowId-order row r is physical row rowOrder[r].
                var physical = ids
                for (r, p) in rowOrder.enumerated() { physical[Int(p)] = ids[r] }
                ids = physical
            }
            let storage = ByteStorage(count: 16 * ids.count) { dst in
                for (i, id) in ids.enumerated() {
                    dst.storeBytes(of: id.tuid.timeNs.bigEndian, toByteOffset: 16 * i, as: UInt64.self)
                    dst.storeBytes(of: id.tuid.inc.bigEndian, toByteOffset: 16 * i + 8, as: UInt64.self)
                }
            }
            columns.append(
                ArrowArray(
                    assembling: .fixedSizeBinary(16), length: ids.count, nullCount: 0, storage: storage, validity: nil,
                    values: 0..<storage.count, data: 0..<0, children: []))
            var metadata = [
                KeyValue(key: "ARROW:extension:metadata", value: #"{"namespace":"row"}"#),
                KeyValue(key: "ARROW:extension:name", value: "rerun.datatypes.TUID"),
            ]
            if rowOrder == nil && rowIdsAreKnownAscending {
                metadata.append(KeyValue(key: "rerun:is_sorted", value: "true"))
            }
            metadata.append(KeyValue(key: "rerun:kind", value: "control"))
            fields.append(
                ArrowField(name: "rerun.controls.RowId", type: .fixedSizeBinary(16), nullable: false, metadata: metadata))
        }

        var kept = 0
        for t in timelines where !dropped.contains(t.name) {
            kept += 1
            if var raw = rawFields.first(where: { $0.name == t.columnName }), raw.type == t.column.type,
                raw.metadata("rerun:kind") == "index"
            {
                // In RowId order (no row order) the flag is known; it may have changed (a merged chunk).
                if rowOrder == nil {
                    raw.metadata.removeAll { $0.key == "rerun:is_sorted" }
                    if t.isSorted {
                        let at = raw.metadata.firstIndex { $0.key > "rerun:is_sorted" } ?? raw.metadata.count
                        raw.metadata.insert(KeyValue(key: "rerun:is_sorted", value: "true"), at: at)
                    }
                }
                fields.append(raw)
            } else {
                var metadata = [KeyValue(key: "rerun:index_name", value: t.name)]
                if rowOrder == nil && t.isSorted { metadata.append(KeyValue(key: "rerun:is_sorted", value: "true")) }
                metadata.append(KeyValue(key: "rerun:kind", value: "index"))
                fields.append(ArrowField(name: t.columnName, type: t.column.type, nullable: true, metadata: metadata))
            }
            columns.append(t.column)
        }

        var dictionaryId: Int64 = 1 << 40
        for c in components {
            if let raw = rawFields.first(where: { $0.name == c.name }), raw.type == c.column.type,
                raw.metadata("rerun:kind") == "data" || raw.metadata("rerun:kind") == nil,
                raw.metadata("rerun:component") == c.component
            {
                fields.append(raw)
            } else {
                var metadata: [KeyValue] = []
                if let a = c.archetype { metadata.append(KeyValue(key: "rerun:archetype", value: a)) }
                metadata.append(KeyValue(key: "rerun:component", value: c.component))
                if let t = c.componentType { metadata.append(KeyValue(key: "rerun:component_type", value: t)) }
                metadata.append(KeyValue(key: "rerun:kind", value: "data"))
                var dictionary: DictionaryEncoding?
                if let index = c.column.dictionaryIndexType {
                    dictionary = DictionaryEncoding(id: dictionaryId, indexType: index, isOrdered: false)
                    dictionaryId += 1
                }
                fields.append(
                    ArrowField(name: c.name, type: c.column.type, nullable: true, metadata: metadata, dictionary: dictionary))
            }
            columns.append(c.column)
        }

        var metadata = schemaMetadata
        let id = self.id.description
        if let k = metadata.firstIndex(where: { $0.key == "rerun:id" }) {
            metadata[k].value = id
        } else {
            metadata.append(KeyValue(key: "rerun:id", value: id))
        }
        if let k = metadata.firstIndex(where: { $0.key == "rerun:entity_path" }) {
            metadata[k].value = entityPath
        } else {
            metadata.insert(KeyValue(key: "rerun:entity_path", value: entityPath), at: 0)
        }
        if !metadata.contains(where: { $0.key == "sorbet:version" }) {
            metadata.append(KeyValue(key: "sorbet:version", value: SorbetVersion.current.description))
        }
        return RecordBatchParts(
            schema: ArrowSchema(fields: fields, metadata: metadata), columns: columns, length: numRows,
            isStatic: kept == 0)
    }

    /// This chunk as an Arrow IPC stream (see ``recordBatchParts(droppingTimelines:)``).
    /// - Throws: ``/ArrowIPC/ArrowError`` from the writer (a column type it cannot write).
    public func encodedIPC(
        droppingTimelines dropped: Set<String> = [], compression: ArrowIPCWriter.BodyCompression = .none
    ) throws(ArrowError) -> [UInt8] {
        let parts = recordBatchParts(droppingTimelines: dropped)
        return try ArrowIPCWriter.stream(
            schema: parts.schema, columns: parts.columns, length: parts.length, compression: compression)
    }
}

/// A chunk's record batch for writing (``Chunk/recordBatchParts(droppingTimelines:)``).
public struct RecordBatchParts: Sendable {
    /// Fields (row id, timelines, components) and the chunk-level metadata.
    public var schema: ArrowSchema
    /// One array per field.
    public var columns: [ArrowArray]
    /// Rows.
    public var length: Int
    /// Whether no timeline is left.
    public var isStatic: Bool
}
