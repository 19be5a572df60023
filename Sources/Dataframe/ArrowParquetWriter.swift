import ArrowIPC
import Parquet
import Synchronization

/// Writes Arrow columns as a Parquet file: the schema mapped by ``ArrowParquetMapping``, one row
/// group per ``writeRowGroup(_:rows:)``, and at ``close(keyValueMetadata:)`` the `ARROW:schema`
/// key-value metadata that lets Arrow readers (pyarrow, Polars, DuckDB's Arrow export) restore the
/// exact Arrow types.
///
/// ```swift
/// let sink = ParquetMemorySink()
/// let writer = try ArrowParquetWriter(schema: frame.schema, sink: sink)
/// try writer.writeRowGroup(frame.columns.map(\.array), rows: 0..<frame.rowCount)
/// try writer.close()
/// ```
public final class ArrowParquetWriter {
    /// The Arrow schema the columns follow.
    public let schema: ArrowSchema
    /// The schema a reader restores (``ArrowParquetMapping/node(for:)``).
    public let statedSchema: ArrowSchema
    private let writer: ParquetFileWriter

    /// A writer of `schema`'s columns to `sink`.
    /// - Throws: ``/Parquet/ParquetError/Code/unsupported`` for a field without a Parquet form.
    public init(
        schema: ArrowSchema, options: ParquetWriterOptions = ParquetWriterOptions(), sink: any ParquetSink
    )
        throws(ParquetError)
    {
        let (parquet, stated) = try ArrowParquetMapping.schema(for: schema)
        self.schema = schema
        self.statedSchema = stated
        writer = try ParquetFileWriter(schema: parquet, options: options, sink: sink)
    }

    /// The rows written so far.
    public var rowCount: Int64 { writer.rowCount }

    /// Shreds the columns, and encodes the column chunks, at once when set (see
    /// ``/Parquet/ParquetFileWriter/parallelFor``).
    public var parallelFor: ParquetParallelFor? {
        get { writer.parallelFor }
        set { writer.parallelFor = newValue }
    }

    /// Writes rows `rows` of `columns` (one array per schema field) as one row group.
    public func writeRowGroup(_ columns: [ArrowArray], rows: Range<Int>) throws(ParquetError) {
        guard columns.count == schema.fields.count else {
            throw ParquetError(.invalidInput, "\(columns.count) columns for a schema of \(schema.fields.count) fields")
        }
        let fields = schema.fields
        for (field, column) in zip(fields, columns) where rows.upperBound > column.length {
            throw ParquetError(.invalidInput, "\(field.name): rows \(rows) of a column of \(column.length)")
        }
        let shredded = Mutex<[Result<[ParquetColumnData], ParquetError>?]>(.init(repeating: nil, count: columns.count))
        let shred: @Sendable (Int) -> Void = { k in
            let result: Result<[ParquetColumnData], ParquetError>
            do throws(ParquetError) {
                result = .success(try ArrowParquetMapping.shred(columns[k], field: fields[k], rows: rows))
            } catch {
                result = .failure(error)
            }
            shredded.withLock { $0[k] = result }
        }
        if let parallelFor, columns.count > 1 {
            parallelFor(columns.count, shred)
        } else {
            for k in columns.indices { shred(k) }
        }
        var data: [ParquetColumnData] = []
        for result in shredded.withLock({ $0 }) {
            guard let result else { throw ParquetError(.invalidInput, "a column was not shredded") }
            data += try result.get()
        }
        try writer.writeRowGroup(rows: rows.count, columns: data)
    }

    /// Writes the footer, with `ARROW:schema` first and then `keyValueMetadata`.
    public func close(keyValueMetadata: [(String, String)] = []) throws(ParquetError) {
        try writer.close(
            keyValueMetadata: [("ARROW:schema", ArrowParquetMapping.arrowSchemaMetadata(statedSchema))]
                + keyValueMetadata)
    }
}

extension Dataframe {
    /// Writes the dataframe as one Parquet file to `sink`: row groups of about `rowGroupBytes` bytes of
    /// Arrow buffers each (at least one row each; one empty row group for an empty dataframe), the
    /// `ARROW:schema` metadata, then `keyValueMetadata`.
    ///
    /// `parallelFor` (e.g. over `DispatchQueue.concurrentPerform`) shreds and encodes the columns of a
    /// row group at once; nil: one after the other.
    public func writeParquet(
        to sink: any ParquetSink, options: ParquetWriterOptions = ParquetWriterOptions(),
        rowGroupBytes: Int = 128 << 20, keyValueMetadata: [(String, String)] = [],
        parallelFor: ParquetParallelFor? = nil
    ) throws(ParquetError) {
        let writer = try ArrowParquetWriter(schema: schema, options: options, sink: sink)
        writer.parallelFor = parallelFor
        let arrays = columns.map(\.array)
        for rows in rowGroups(bytes: rowGroupBytes) { try writer.writeRowGroup(arrays, rows: rows) }
        try writer.close(keyValueMetadata: keyValueMetadata)
    }

    /// Row ranges of about `bytes` bytes of Arrow buffers each (by the average row size).
    public func rowGroups(bytes: Int) -> [Range<Int>] {
        guard rowCount > 0 else { return [0..<0] }
        let total = columns.reduce(0) { $0 + $1.array.bufferBytes }
        let perGroup = max(1, Int((Double(max(bytes, 1)) / Double(max(total, 1)) * Double(rowCount)).rounded(.down)))
        return stride(from: 0, to: rowCount, by: perGroup).map { $0..<min($0 + perGroup, rowCount) }
    }
}
