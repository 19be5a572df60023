import Synchronization
import CZstd

/// Where a ``ParquetFileWriter`` puts its bytes, in order.
public protocol ParquetSink: AnyObject {
    /// Appends `bytes` to the output.
    func write(_ bytes: [UInt8]) throws(ParquetError)
}

/// A sink that keeps the file in memory.
public final class ParquetMemorySink: ParquetSink {
    public private(set) var bytes: [UInt8] = []
    public init() {}
    public func write(_ bytes: [UInt8]) throws(ParquetError) { self.bytes.append(contentsOf: bytes) }
}

/// Runs `body(i)` for every `i` in `0..<count`, in any order, possibly several at once; returns when all
/// are done.
public typealias ParquetParallelFor = @Sendable (_ count: Int, _ body: @Sendable (Int) -> Void) -> Void

/// Page compression.
public enum ParquetCompression: Hashable, Sendable {
    case none
    /// zstd (libzstd) at `level` (1 is Arrow's default).
    case zstd(level: Int32)

    var codec: Int32 {
        switch self {
        case .none: 0
        case .zstd: 6
        }
    }
}

/// What a ``ParquetFileWriter`` does with every column.
public struct ParquetWriterOptions: Hashable, Sendable {
    public var compression: ParquetCompression
    /// Uncompressed value bytes per data page (a page ends at the first row boundary past it).
    public var pageSize: Int
    /// Whether a column chunk whose values repeat (at most half distinct, dictionary ≤ ``maxDictionarySize``)
    /// is dictionary-encoded.
    public var dictionary: Bool
    public var maxDictionarySize: Int
    /// `created_by` in the footer.
    public var createdBy: String

    public init(
        compression: ParquetCompression = .zstd(level: 1), pageSize: Int = 1 << 20, dictionary: Bool = true,
        maxDictionarySize: Int = 1 << 20, createdBy: String = "StoreIngest"
    ) {
        self.compression = compression
        self.pageSize = pageSize
        self.dictionary = dictionary
        self.maxDictionarySize = maxDictionarySize
        self.createdBy = createdBy
    }
}

/// One leaf column's content in one row group: its levels and its present values.
public struct ParquetColumnData: Hashable, Sendable {
    /// One definition level per entry; `nil` when the column's maximum definition level is 0.
    public var definitionLevels: [UInt8]?
    /// One repetition level per entry; `nil` when the column's maximum repetition level is 0.
    public var repetitionLevels: [UInt8]?
    /// The values of the entries whose definition level is the maximum, in order.
    public var values: ParquetValues

    public init(definitionLevels: [UInt8]? = nil, repetitionLevels: [UInt8]? = nil, values: ParquetValues) {
        self.definitionLevels = definitionLevels
        self.repetitionLevels = repetitionLevels
        self.values = values
    }
}

/// Writes a Parquet file (format 2, data pages v1) to a sink: the magic, then one row group per
/// ``writeRowGroup(rows:columns:)``, then at ``close(keyValueMetadata:)`` the Thrift-encoded file
/// metadata, its length and the magic again.
///
/// Each column chunk is PLAIN- or dictionary-encoded (RLE_DICTIONARY indices over a PLAIN dictionary
/// page, when values repeat), split into pages at row boundaries, each page compressed on its own, with
/// statistics per page and per chunk; levels are RLE/bit-packed. Memory: one row group's input and one
/// column chunk's output.
public final class ParquetFileWriter {
    public let schema: ParquetSchema
    public let options: ParquetWriterOptions
    private let columns: [ParquetColumnDescriptor]
    private let sink: any ParquetSink
    private var offset: Int64 = 0
    private var rowGroups: [ParquetMetadataEncoding.RowGroup] = []
    private var rows: Int64 = 0
    private var closed = false

    public init(schema: ParquetSchema, options: ParquetWriterOptions = ParquetWriterOptions(), sink: any ParquetSink)
        throws(ParquetError)
    {
        self.schema = schema
        self.options = options
        self.columns = schema.columns
        self.sink = sink
        guard !columns.isEmpty else { throw ParquetError(.invalidInput, "a Parquet schema needs at least one column") }
        try emit(Array("PAR1".utf8))
    }

    /// The number of rows written so far.
    public var rowCount: Int64 { rows }

    /// Encodes a row group's column chunks at once when set: called with the number of chunks and a
    /// body to run for each index, it may run them on several threads (`DispatchQueue.concurrentPerform`);
    /// the chunks are then written in schema order. Nil: one after the other.
    public var parallelFor: ParquetParallelFor?

    /// Writes one row group of `rows` rows; `columns` in schema order (``ParquetSchema/columns``).
    /// - Throws: ``ParquetError/Code/invalidInput`` when a column's levels or values do not add up to
    ///   `rows` rows of the schema; ``ParquetError/Code/io`` from the sink.
    public func writeRowGroup(rows: Int, columns data: [ParquetColumnData]) throws(ParquetError) {
        guard !closed else { throw ParquetError(.invalidInput, "the writer is closed") }
        guard data.count == columns.count else {
            throw ParquetError(.invalidInput, "row group has \(data.count) columns, the schema \(columns.count)")
        }
        let start = offset
        var chunks: [ParquetMetadataEncoding.ColumnChunk] = []
        var uncompressed: Int64 = 0
        let descriptors = columns
        let options = options
        let encoded = Mutex<[Result<([UInt8], ParquetMetadataEncoding.ColumnChunk), ParquetError>?]>(
            .init(repeating: nil, count: data.count))
        let encode: @Sendable (Int) -> Void = { k in
            let result: Result<([UInt8], ParquetMetadataEncoding.ColumnChunk), ParquetError>
            do throws(ParquetError) {
                try Self.validate(data[k], descriptors[k], rows: rows)
                let (bytes, chunk) = try Self.encodeColumnChunk(data[k], descriptors[k], options: options)
                result = .success((bytes, chunk))
            } catch {
                result = .failure(error)
            }
            encoded.withLock { $0[k] = result }
        }
        if let parallelFor, data.count > 1 {
            parallelFor(data.count, encode)
        } else {
            for k in data.indices { encode(k) }
        }
        let results = encoded.withLock { $0 }
        for result in results {
            guard let result else { throw ParquetError(.invalidInput, "a column chunk was not encoded") }
            var (bytes, chunk) = try result.get()
            // Offsets were relative to the chunk's start.
            chunk.dataPageOffset += offset
            chunk.dictionaryPageOffset = chunk.dictionaryPageOffset.map { $0 + offset }
            try emit(bytes)
            bytes = []
            uncompressed += chunk.totalUncompressedSize
            chunks.append(chunk)
        }
        rowGroups.append(
            .init(
                columns: chunks, numRows: Int64(rows), totalByteSize: uncompressed, totalCompressedSize: offset - start,
                fileOffset: start, ordinal: Int16(truncatingIfNeeded: rowGroups.count)))
        self.rows += Int64(rows)
    }

    /// Writes the footer. `keyValueMetadata` goes into the file metadata (e.g. `ARROW:schema`).
    public func close(keyValueMetadata: [(String, String)] = []) throws(ParquetError) {
        guard !closed else { return }
        closed = true
        let metadata = ParquetMetadataEncoding.fileMetadata(
            schema: schema, rowGroups: rowGroups, numRows: rows, keyValues: keyValueMetadata,
            createdBy: options.createdBy)
        try emit(metadata)
        var tail: [UInt8] = []
        appendLittleEndian(CollectionOfOne(UInt32(metadata.count)), to: &tail)
        tail += Array("PAR1".utf8)
        try emit(tail)
    }

    // MARK: Column chunks

    private static func validate(_ c: ParquetColumnData, _ d: ParquetColumnDescriptor, rows: Int) throws(ParquetError) {
        let name = d.path.joined(separator: ".")
        guard c.values.physicalType == d.physicalType else {
            throw ParquetError(.invalidInput, "column \(name): \(c.values.physicalType) values for a \(d.physicalType) column")
        }
        if case .fixedLenByteArray(let data, let width) = c.values {
            guard Int32(width) == d.typeLength, width > 0, data.count % width == 0 else {
                throw ParquetError(.invalidInput, "column \(name): values of width \(width), the schema says \(d.typeLength ?? 0)")
            }
        }
        if case .byteArray(let data, let offsets) = c.values {
            guard let last = offsets.last, offsets.first == 0, last == data.count,
                zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 })
            else { throw ParquetError(.invalidInput, "column \(name): byte-array offsets are not increasing from 0 to the data size") }
        }
        let entries: Int
        if d.maxDefinitionLevel > 0 {
            guard let def = c.definitionLevels else {
                throw ParquetError(.invalidInput, "column \(name): definition levels missing")
            }
            guard def.allSatisfy({ Int($0) <= d.maxDefinitionLevel }) else {
                throw ParquetError(.invalidInput, "column \(name): a definition level above \(d.maxDefinitionLevel)")
            }
            let present = def.lazy.filter { Int($0) == d.maxDefinitionLevel }.count
            guard present == c.values.count else {
                throw ParquetError(.invalidInput, "column \(name): \(present) present entries but \(c.values.count) values")
            }
            entries = def.count
        } else {
            entries = c.values.count
        }
        if d.maxRepetitionLevel > 0 {
            guard let rep = c.repetitionLevels, rep.count == entries else {
                throw ParquetError(.invalidInput, "column \(name): \(c.repetitionLevels?.count ?? 0) repetition levels for \(entries) entries")
            }
            guard rep.first.map({ $0 == 0 }) ?? true, rep.allSatisfy({ Int($0) <= d.maxRepetitionLevel }) else {
                throw ParquetError(.invalidInput, "column \(name): repetition levels must start at 0 and stay ≤ \(d.maxRepetitionLevel)")
            }
            let records = rep.lazy.filter { $0 == 0 }.count
            guard records == rows else {
                throw ParquetError(.invalidInput, "column \(name): \(records) records, the row group \(rows) rows")
            }
        } else {
            guard entries == rows else {
                throw ParquetError(.invalidInput, "column \(name): \(entries) entries, the row group \(rows) rows")
            }
        }
    }

    /// One column chunk's pages, with offsets relative to the chunk's start (a pure function of its
    /// input, so chunks can be encoded at once on several threads).
    static func encodeColumnChunk(
        _ column: ParquetColumnData, _ d: ParquetColumnDescriptor, options: ParquetWriterOptions
    ) throws(ParquetError) -> (bytes: [UInt8], chunk: ParquetMetadataEncoding.ColumnChunk) {
        var out: [UInt8] = []
        var offset: Int64 { Int64(out.count) }
        let entries = column.definitionLevels?.count ?? column.values.count
        let dictionary = options.dictionary ? ParquetDictionary(column.values, maxSize: options.maxDictionarySize) : nil
        var uncompressedTotal: Int64 = 0
        let chunkStart = offset
        var dictionaryOffset: Int64?
        if let dictionary {
            var body: [UInt8] = []
            dictionary.values.plainEncoded(into: &body)
            let compressed = try compress(body, options.compression)
            let header = ParquetMetadataEncoding.dictionaryPageHeader(
                uncompressedSize: body.count, compressedSize: compressed.count, numValues: dictionary.values.count)
            dictionaryOffset = offset
            out.append(contentsOf: header)
            out.append(contentsOf: compressed)
            uncompressedTotal += Int64(header.count + body.count)
        }
        let dataStart = offset
        var chunkStatistics: ParquetStatistics?
        var entry = 0
        var valueIndex = 0
        let valueSize = Self.approximateValueSize(column.values)
        let maxDef = UInt8(d.maxDefinitionLevel)
        repeat {
            // One page: entries up to about pageSize value bytes, ending at a row boundary.
            var end = entry
            var values = 0
            var bytes = 0
            while end < entries {
                if end > entry, bytes >= options.pageSize, column.repetitionLevels.map({ $0[end] == 0 }) ?? true { break }
                if column.definitionLevels.map({ $0[end] == maxDef }) ?? true {
                    values += 1
                    bytes += valueSize(valueIndex + values - 1)
                }
                end += 1
            }
            let pageValues = column.values.slice(valueIndex..<valueIndex + values)
            var body: [UInt8] = []
            if d.maxRepetitionLevel > 0, let rep = column.repetitionLevels {
                Self.appendLevels(rep[entry..<end], max: d.maxRepetitionLevel, to: &body)
            }
            if d.maxDefinitionLevel > 0, let def = column.definitionLevels {
                Self.appendLevels(def[entry..<end], max: d.maxDefinitionLevel, to: &body)
            }
            let encoding: ParquetMetadataEncoding.Encoding
            if let dictionary {
                let indices = dictionary.indices[valueIndex..<valueIndex + values]
                let width = HybridRLEEncoder.bitWidth(forMax: UInt64(max(dictionary.values.count - 1, 0)))
                body.append(UInt8(width))
                body += HybridRLEEncoder.encode(indices, bitWidth: width)
                encoding = .rleDictionary
            } else {
                pageValues.plainEncoded(into: &body)
                encoding = .plain
            }
            let statistics = ParquetStatistics(pageValues, nulls: (end - entry) - values, logicalType: d.logicalType)
            if chunkStatistics == nil {
                chunkStatistics = statistics
            } else {
                chunkStatistics!.merge(statistics, physicalType: d.physicalType, logicalType: d.logicalType)
            }
            let compressed = try compress(body, options.compression)
            let header = ParquetMetadataEncoding.dataPageHeader(
                uncompressedSize: body.count, compressedSize: compressed.count, numValues: end - entry,
                encoding: encoding, statistics: statistics)
            out.append(contentsOf: header)
            out.append(contentsOf: compressed)
            uncompressedTotal += Int64(header.count + body.count)
            entry = end
            valueIndex += values
        } while entry < entries
        var encodings: [ParquetMetadataEncoding.Encoding] = [.plain, .rle]
        if dictionary != nil { encodings.append(.rleDictionary) }
        return (
            out,
            .init(
            descriptor: d, encodings: encodings, codec: options.compression.codec, numValues: Int64(entries),
            totalUncompressedSize: uncompressedTotal, totalCompressedSize: offset - chunkStart, dataPageOffset: dataStart,
            dictionaryPageOffset: dictionaryOffset, statistics: chunkStatistics))
    }

    /// Levels of a data page v1: a 4-byte little-endian length, then the RLE/bit-packed levels.
    private static func appendLevels(_ levels: ArraySlice<UInt8>, max: Int, to body: inout [UInt8]) {
        let encoded = HybridRLEEncoder.encode(Array(levels), bitWidth: HybridRLEEncoder.bitWidth(forMax: UInt64(max)))
        appendLittleEndian(CollectionOfOne(UInt32(encoded.count)), to: &body)
        body += encoded
    }

    private static func approximateValueSize(_ values: ParquetValues) -> (Int) -> Int {
        switch values {
        case .boolean: { _ in 1 }
        case .int32, .float: { _ in 4 }
        case .int64, .double: { _ in 8 }
        case .byteArray(_, let offsets): { offsets[$0 + 1] - offsets[$0] + 4 }
        case .fixedLenByteArray(_, let width): { _ in width }
        }
    }

    private static func compress(_ body: [UInt8], _ compression: ParquetCompression) throws(ParquetError) -> [UInt8] {
        switch compression {
        case .none: return body
        case .zstd(let level):
            let bound = ZSTD_compressBound(body.count)
            var out = [UInt8](repeating: 0, count: bound)
            let n = out.withUnsafeMutableBytes { o in
                body.withUnsafeBytes { i in ZSTD_compress(o.baseAddress, bound, i.baseAddress, i.count, level) }
            }
            guard ZSTD_isError(n) == 0 else {
                throw ParquetError(.compression, "zstd: \(String(cString: ZSTD_getErrorName(n)))")
            }
            out.removeLast(bound - n)
            return out
        }
    }

    private func emit(_ bytes: [UInt8]) throws(ParquetError) {
        try sink.write(bytes)
        offset += Int64(bytes.count)
    }
}
