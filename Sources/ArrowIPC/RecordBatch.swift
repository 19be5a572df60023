/// One decoded record batch: its schema and one ``ArrowArray`` per top-level field.
public struct ArrowRecordBatch: Sendable {
    /// The stream's schema.
    public let schema: ArrowSchema
    /// Identifies the schema within the ``ArrowStreamReader`` that decoded it: equal ids mean the
    /// schema message bytes were identical, so derived per-schema data can be cached under it.
    public let schemaID: Int
    /// Number of rows.
    public let length: Int
    /// One array per schema field, in schema order.
    public let columns: [ArrowArray]
    /// Columns whose type is not decoded (kept raw), as warnings: `name: type`.
    public let warnings: [String]
}

extension ArrowRecordBatch {
    /// Bytes of memory the columns keep alive: the sum of the sizes of the distinct storages they
    /// point into (the whole decompressed IPC stream, or the decompressed body, or the fresh buffers
    /// of an assembled batch; a storage that borrows a slice of a larger block counts that slice).
    ///
    /// This is what dropping the batch can give back, unlike ``ArrowArray/bufferBytes``, which only
    /// counts the buffers the arrays use (for a tiny message the schema alone is about half of it).
    /// - Complexity: O(arrays); allocates only when the columns use more than one storage.
    public var retainedByteCount: Int {
        var first: ObjectIdentifier?
        var others: [ObjectIdentifier] = []
        var total = 0
        func visit(_ a: ArrowArray) {
            let id = ObjectIdentifier(a.storage)
            if first == nil {
                first = id
                total += a.storage.count
            } else if id != first, !others.contains(id) {
                others.append(id)
                total += a.storage.count
            }
            for c in a.children { visit(c) }
            for d in a.dictionarySegments { visit(d) }
        }
        for c in columns { visit(c) }
        return total
    }
}
