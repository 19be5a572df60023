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
    /// The number of Parquet leaf columns of each field.
    private let leafCounts: [Int]

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
        leafCounts = parquet.fields.map { ParquetSchema(fields: [$0]).columns.count }
    }

    /// The rows written so far.
    public var rowCount: Int64 { writer.rowCount }

    /// Shreds and encodes several columns at once when set (see ``/Parquet/ParquetFileWriter/parallelFor``).
    public var parallelFor: ParquetParallelFor?

    /// Arrow buffer bytes of a column shredded at once: the batches its column chunk is encoded from,
    /// so a row group's levels and values are never in memory whole (they are several times the
    /// Arrow bytes: a level pair and a slot per entry, values widened to 32 bits), and stay below the
    /// size at which glibc maps and unmaps each allocation.
    public var batchBytes = 4 << 20

    /// Writes rows `rows` of `columns` (one array per schema field) as one row group: each column
    /// shredded and encoded in batches of rows of about ``batchBytes`` (several columns at once with
    /// ``parallelFor``).
    public func writeRowGroup(_ columns: [ArrowArray], rows: Range<Int>) throws(ParquetError) {
        guard columns.count == schema.fields.count else {
            throw ParquetError(.invalidInput, "\(columns.count) columns for a schema of \(schema.fields.count) fields")
        }
        let fields = schema.fields
        for (field, column) in zip(fields, columns) where rows.upperBound > column.length {
            throw ParquetError(.invalidInput, "\(field.name): rows \(rows) of a column of \(column.length)")
        }
        let descriptors = writer.columnDescriptors
        var firstLeaf = 0
        let leaves = leafCounts.map { n in
            defer { firstLeaf += n }
            return firstLeaf..<(firstLeaf + n)
        }
        let options = writer.options
        let batchBytes = max(batchBytes, 1)
        let encoded = Mutex<[Result<[ParquetEncodedColumnChunk], ParquetError>?]>(.init(repeating: nil, count: columns.count))
        let encode: @Sendable (Int) -> Void = { k in
            let result: Result<[ParquetEncodedColumnChunk], ParquetError>
            do throws(ParquetError) {
                let column = columns[k]
                var encoders = descriptors[leaves[k]].map { ParquetColumnChunkEncoder(descriptor: $0, options: options) }
                let rowBytes = Double(column.bufferBytes) / Double(max(column.length, 1))
                let step = max(1, Int((Double(batchBytes) / max(rowBytes, 1)).rounded(.down)))
                var lower = rows.lowerBound
                repeat {
                    let batch = lower..<min(lower + step, rows.upperBound)
                    let data = try ArrowParquetMapping.shred(column, field: fields[k], rows: batch)
                    guard data.count == encoders.count else {
                        throw ParquetError(.invalidInput, "\(fields[k].name): \(data.count) leaves for \(encoders.count) columns")
                    }
                    for j in encoders.indices { try encoders[j].append(data[j], rows: batch.count) }
                    lower = batch.upperBound
                } while lower < rows.upperBound
                var chunks: [ParquetEncodedColumnChunk] = []
                for encoder in encoders { chunks.append(try encoder.finish()) }
                result = .success(chunks)
            } catch {
                result = .failure(error)
            }
            encoded.withLock { $0[k] = result }
        }
        if let parallelFor, columns.count > 1 {
            parallelFor(columns.count, encode)
        } else {
            for k in columns.indices { encode(k) }
        }
        var chunks: [ParquetEncodedColumnChunk] = []
        for result in encoded.withLock({ $0 }) {
            guard let result else { throw ParquetError(.invalidInput, "a column was not encoded") }
            chunks += try result.get()
        }
        try writer.writeRowGroup(rows: rows.count, chunks: chunks)
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
