/// What a Parquet file's footer says, read back with the bounds-checked Thrift reader: the check
/// that the files we write describe themselves as they should (row counts, statistics, key-value
/// metadata), and a reader of any file's footer.
///
/// ```swift
/// let metadata = try ParquetFileMetadata(file: bytes)
/// print(metadata.numRows, metadata.rowGroups.map(\.numRows), metadata.keyValues["ARROW:schema"] != nil)
/// ```
public struct ParquetFileMetadata: Hashable, Sendable {
    /// One column chunk's metadata.
    public struct ColumnChunk: Hashable, Sendable {
        /// The leaf's path (`["/plot:Scalars:scalars", "list", "item"]`).
        public var path: [String]
        /// The physical type's number (`parquet.thrift` `Type`).
        public var physicalType: Int32
        /// Level entries (values and nulls) in the chunk.
        public var numValues: Int64
        /// `null_count` of the chunk's statistics (nil when there are no statistics).
        public var nullCount: Int64?
        /// `min_value`, PLAIN-encoded (nil when absent).
        public var minValue: [UInt8]?
        /// `max_value`, PLAIN-encoded (nil when absent).
        public var maxValue: [UInt8]?
        /// The compression codec's number (0 none, 6 zstd).
        public var codec: Int32
    }

    /// One row group.
    public struct RowGroup: Hashable, Sendable {
        /// Rows in the group.
        public var numRows: Int64
        /// Its column chunks, in schema order.
        public var columns: [ColumnChunk]
    }

    /// The file's total rows.
    public var numRows: Int64
    /// The row groups.
    public var rowGroups: [RowGroup]
    /// The key-value metadata (`ARROW:schema`, …).
    public var keyValues: [String: String]
    /// `created_by`.
    public var createdBy: String?
    /// Schema element names in depth-first order (the root first).
    public var schemaNames: [String]

    /// Reads the footer of the file `bytes` (`PAR1` … metadata, its length, `PAR1`).
    /// - Throws: ``ParquetError/Code/malformed`` or ``ParquetError/Code/truncated`` for a footer that
    ///   is not one, never a trap.
    public init(file bytes: [UInt8]) throws(ParquetError) {
        let n = bytes.count
        guard n >= 12, Array(bytes[0..<4]) == Array("PAR1".utf8), Array(bytes[(n - 4)...]) == Array("PAR1".utf8) else {
            throw ParquetError(.malformed, "not a Parquet file: no PAR1 magic at both ends")
        }
        let length = Int(bytes[n - 8]) | Int(bytes[n - 7]) << 8 | Int(bytes[n - 6]) << 16 | Int(bytes[n - 5]) << 24
        guard length > 0, length <= n - 12 else {
            throw ParquetError(.truncated, "footer length \(length) does not fit a file of \(n) bytes")
        }
        var reader = ThriftCompactReader(Array(bytes[(n - 8 - length)..<(n - 8)]))
        let f = try reader.readStruct()
        func need<T>(_ v: T?, _ what: String) throws(ParquetError) -> T {
            guard let v else { throw ParquetError(.malformed, "footer: \(what) missing") }
            return v
        }
        numRows = try need(f[3]?.int, "num_rows")
        schemaNames = (f[2]?.list ?? []).compactMap { $0.struct?[4]?.string }
        createdBy = f[6]?.string
        var keyValues: [String: String] = [:]
        for kv in f[5]?.list ?? [] {
            if let k = kv.struct?[1]?.string { keyValues[k] = kv.struct?[2]?.string ?? "" }
        }
        self.keyValues = keyValues
        var groups: [RowGroup] = []
        for g in try need(f[4]?.list, "row_groups") {
            let group = try need(g.struct, "row group")
            var columns: [ColumnChunk] = []
            for c in try need(group[1]?.list, "row group columns") {
                let meta = try need(c.struct?[3]?.struct, "column metadata")
                let statistics = meta[12]?.struct
                columns.append(
                    ColumnChunk(
                        path: (meta[3]?.list ?? []).compactMap(\.string),
                        physicalType: Int32(truncatingIfNeeded: try need(meta[1]?.int, "column type")),
                        numValues: try need(meta[5]?.int, "num_values"), nullCount: statistics?[3]?.int,
                        minValue: statistics?[6]?.binary, maxValue: statistics?[5]?.binary,
                        codec: Int32(truncatingIfNeeded: meta[4]?.int ?? 0)))
            }
            groups.append(RowGroup(numRows: try need(group[3]?.int, "row group num_rows"), columns: columns))
        }
        rowGroups = groups
    }
}
