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
