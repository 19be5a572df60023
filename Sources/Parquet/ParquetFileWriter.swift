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
/// Each column chunk is encoded by a ``ParquetColumnChunkEncoder``: PLAIN- or dictionary-encoded
/// (RLE_DICTIONARY indices over a PLAIN dictionary page, when values repeat), split into pages at row
/// boundaries, each page compressed on its own, with statistics per page and per chunk; levels are
/// RLE/bit-packed. Memory: with ``writeRowGroup(rows:columns:)``, one row group's input and its column
/// chunks' output; with ``writeRowGroup(rows:chunks:)`` the caller feeds each encoder in batches, so
/// only the encoded chunks are held.
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

    /// The leaf columns, in the order of a row group's column chunks.
    public var columnDescriptors: [ParquetColumnDescriptor] { columns }

    /// Encodes a row group's column chunks at once when set: called with the number of chunks and a
    /// body to run for each index, it may run them on several threads (`DispatchQueue.concurrentPerform`);
    /// the chunks are then written in schema order. Nil: one after the other.
    public var parallelFor: ParquetParallelFor?

    /// Writes one row group of `rows` rows; `columns` in schema order (``ParquetSchema/columns``), each
    /// encoded as one batch (``ParquetColumnChunkEncoder``).
    /// - Throws: ``ParquetError/Code/invalidInput`` when a column's levels or values do not add up to
    ///   `rows` rows of the schema; ``ParquetError/Code/io`` from the sink.
    public func writeRowGroup(rows: Int, columns data: [ParquetColumnData]) throws(ParquetError) {
        guard !closed else { throw ParquetError(.invalidInput, "the writer is closed") }
        guard data.count == columns.count else {
            throw ParquetError(.invalidInput, "row group has \(data.count) columns, the schema \(columns.count)")
        }
        let descriptors = columns
        let options = options
        let encoded = Mutex<[Result<ParquetEncodedColumnChunk, ParquetError>?]>(.init(repeating: nil, count: data.count))
        let encode: @Sendable (Int) -> Void = { k in
            let result: Result<ParquetEncodedColumnChunk, ParquetError>
            do throws(ParquetError) {
                var encoder = ParquetColumnChunkEncoder(descriptor: descriptors[k], options: options)
                try encoder.append(data[k], rows: rows)
                result = .success(try encoder.finish())
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
        var chunks: [ParquetEncodedColumnChunk] = []
        for result in encoded.withLock({ $0 }) {
            guard let result else { throw ParquetError(.invalidInput, "a column chunk was not encoded") }
            chunks.append(try result.get())
        }
        try writeRowGroup(rows: rows, chunks: chunks)
    }

    /// Writes one row group of `rows` rows from column chunks encoded by ``ParquetColumnChunkEncoder``s
    /// of this writer's ``columnDescriptors``, in that order.
    /// - Throws: ``ParquetError/Code/invalidInput`` when a chunk is of another column or holds another
    ///   number of rows; ``ParquetError/Code/io`` from the sink.
    public func writeRowGroup(rows: Int, chunks encoded: [ParquetEncodedColumnChunk]) throws(ParquetError) {
        guard !closed else { throw ParquetError(.invalidInput, "the writer is closed") }
        guard encoded.count == columns.count else {
            throw ParquetError(.invalidInput, "row group has \(encoded.count) columns, the schema \(columns.count)")
        }
        for (c, d) in zip(encoded, columns) {
            let name = d.path.joined(separator: ".")
            guard c.metadata.descriptor == d else {
                throw ParquetError(.invalidInput, "column \(name): a chunk of column \(c.metadata.descriptor.path.joined(separator: "."))")
            }
            guard c.rows == rows else {
                throw ParquetError(.invalidInput, "column \(name): \(c.rows) records, the row group \(rows) rows")
            }
        }
        let start = offset
        var chunks: [ParquetMetadataEncoding.ColumnChunk] = []
        var uncompressed: Int64 = 0
        for c in encoded {
            var chunk = c.metadata
            // Offsets were relative to the chunk's start.
            chunk.dataPageOffset += offset
            chunk.dictionaryPageOffset = chunk.dictionaryPageOffset.map { $0 + offset }
            for piece in c.pieces { try emit(piece) }
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

    private func emit(_ bytes: [UInt8]) throws(ParquetError) {
        try sink.write(bytes)
        offset += Int64(bytes.count)
    }
}

/// One column chunk encoded by a ``ParquetColumnChunkEncoder``, for
/// ``ParquetFileWriter/writeRowGroup(rows:chunks:)``.
public struct ParquetEncodedColumnChunk: Sendable {
    /// The chunk's bytes in order: the dictionary page (when any), then the data pages.
    var pieces: [[UInt8]]
    /// Offsets relative to the chunk's start.
    var metadata: ParquetMetadataEncoding.ColumnChunk
    /// The rows (records) the chunk holds.
    public let rows: Int
    /// The chunk's size in the file.
    public var bytes: Int { pieces.reduce(0) { $0 + $1.count } }
}

/// Encodes one column chunk from batches of whole rows, so a row group's column never has to be in
/// memory at once: each ``append(_:rows:)`` validates its batch and encodes it as data pages (split
/// at row boundaries after about ``ParquetWriterOptions/pageSize`` value bytes, each compressed on
/// its own, with statistics); ``finish()`` puts the dictionary page in front.
///
/// The dictionary (RLE_DICTIONARY indices over a PLAIN dictionary page) is decided on the first
/// ``dictionaryDecisionValues`` values (batches are held until then, so a chunk up to that size is
/// decided as a whole): it is used when at most half of them are distinct and it stays within
/// ``ParquetWriterOptions/maxDictionarySize``. Later batches keep it while that still holds for all
/// the values seen; once a batch would break it, that batch and every later one are PLAIN pages (the
/// format allows both in one chunk, as Arrow's own writer does). Levels are RLE/bit-packed.
public struct ParquetColumnChunkEncoder: Sendable {
    /// The column encoded.
    public let descriptor: ParquetColumnDescriptor
    public let options: ParquetWriterOptions
    /// Values held back before the dictionary is decided: early batches are not a fair sample (a few
    /// rows of coordinates on a grid repeat, the whole point cloud does not).
    public static let dictionaryDecisionValues = 1 << 20
    /// The dictionary (nil: PLAIN), and whether later batches may still use it.
    private var dictionary: ParquetDictionary?
    private var dictionaryOpen = true
    private var dictionaryUsed = false
    /// Batches waiting for the dictionary decision, and their values.
    private var pending: [(column: ParquetColumnData, rows: Int)] = []
    private var pendingValues = 0
    /// Set by ``finish()`` to write the empty page of a chunk without entries.
    private var finishing = false
    /// Data pages (headers and compressed bodies).
    private var data: [UInt8] = []
    private var pages = 0
    private var uncompressed: Int64 = 0
    private var statistics: ParquetStatistics?
    private var entries = 0
    /// The rows appended so far.
    public private(set) var rows = 0

    /// An encoder of `descriptor`'s column with `options`.
    public init(descriptor: ParquetColumnDescriptor, options: ParquetWriterOptions) {
        self.descriptor = descriptor
        self.options = options
        dictionary =
            options.dictionary
            ? ParquetDictionary(
                descriptor.physicalType, typeLength: descriptor.typeLength.map(Int.init), maxSize: options.maxDictionarySize)
            : nil
    }

    /// Encodes the next `rows` rows of the column (levels and present values of whole rows).
    /// - Throws: ``ParquetError/Code/invalidInput`` when the batch's levels or values do not add up to
    ///   `rows` rows of the column; ``ParquetError/Code/compression`` from zstd.
    public mutating func append(_ column: ParquetColumnData, rows: Int) throws(ParquetError) {
        try Self.validate(column, descriptor, rows: rows)
        let entries = column.definitionLevels?.count ?? column.values.count
        if dictionary != nil, !dictionaryUsed {
            pending.append((column, rows))
            pendingValues += column.values.count
            if pendingValues >= Self.dictionaryDecisionValues { try decideDictionary() }
            return
        }
        var indices: [UInt32]?
        if dictionary != nil, dictionaryOpen, column.values.count > 0 {
            indices = dictionary!.indices(column.values)
            if indices == nil { dictionaryOpen = false }
        }
        try encode(column, rows: rows, entries: entries, indices: indices)
    }

    /// Decides the dictionary on the batches held back, and encodes them.
    private mutating func decideDictionary() throws(ParquetError) {
        let batches = pending
        pending = []
        var indices: [[UInt32]] = []
        for b in batches where dictionary != nil {
            if let i = dictionary!.indices(b.column.values, total: pendingValues) {
                indices.append(i)
            } else {
                dictionary = nil
            }
        }
        pendingValues = 0
        dictionaryUsed = dictionary != nil
        for (k, b) in batches.enumerated() {
            let entries = b.column.definitionLevels?.count ?? b.column.values.count
            try encode(b.column, rows: b.rows, entries: entries, indices: dictionaryUsed ? indices[k] : nil)
        }
    }

    /// Encodes one batch as pages (`indices`: its dictionary indices, nil for PLAIN).
    private mutating func encode(
        _ column: ParquetColumnData, rows: Int, entries: Int, indices: [UInt32]?
    ) throws(ParquetError) {
        // An empty batch adds no page (``finish()`` writes the one empty page an empty chunk needs).
        guard entries > 0 || finishing else {
            self.rows += rows
            return
        }
        let d = descriptor
        let maxDef = UInt8(d.maxDefinitionLevel)
        let pageSize = options.pageSize
        var fixedSize = 0
        var byteOffsets: [Int] = []
        switch column.values {
        case .boolean: fixedSize = 1
        case .int32, .float: fixedSize = 4
        case .int64, .double: fixedSize = 8
        case .byteArray(_, let offsets): byteOffsets = offsets
        case .fixedLenByteArray(_, let width): fixedSize = width
        }
        let rep = column.repetitionLevels ?? []
        let def = column.definitionLevels ?? []
        let hasRep = column.repetitionLevels != nil
        let hasDef = column.definitionLevels != nil
        var entry = 0
        var valueIndex = 0
        repeat {
            // One page: entries up to about pageSize value bytes, ending at a row boundary.
            let (end, values) = rep.withUnsafeBufferPointer { rep in
                def.withUnsafeBufferPointer { def in
                    byteOffsets.withUnsafeBufferPointer { offsets in
                        if fixedSize > 0 {
                            // Fixed-size values: the page's bytes are reached at its `needed`-th
                            // value; then on to the next row start (the hot loop of big columns).
                            let needed = max(1, (pageSize + fixedSize - 1) / fixedSize)
                            var end =
                                hasDef
                                ? (Self.index(ofNth: needed, equalTo: maxDef, in: def, from: entry).map { $0 + 1 }
                                    ?? entries)
                                : min(entry + needed, entries)
                            if hasRep, end < entries { end = Self.index(ofNth: 1, equalTo: 0, in: rep, from: end) ?? entries }
                            let values =
                                hasDef
                                ? Self.scanLevels(UnsafeBufferPointer(rebasing: def[entry..<end]), counting: maxDef).count
                                : end - entry
                            return (end, values)
                        }
                        var end = entry
                        var values = 0
                        var bytes = 0
                        while end < entries {
                            if end > entry, bytes >= pageSize, !hasRep || rep[end] == 0 { break }
                            if !hasDef || def[end] == maxDef {
                                let v = valueIndex + values
                                bytes += fixedSize > 0 ? fixedSize : offsets[v + 1] - offsets[v] + 4
                                values += 1
                            }
                            end += 1
                        }
                        return (end, values)
                    }
                }
            }
            try writePage(
                column, entries: entry..<end, values: valueIndex..<(valueIndex + values), indices: indices)
            entry = end
            valueIndex += values
        } while entry < entries
        self.entries += entries
        self.rows += rows
    }

    private mutating func writePage(
        _ column: ParquetColumnData, entries: Range<Int>, values: Range<Int>, indices: [UInt32]?
    ) throws(ParquetError) {
        let d = descriptor
        let pageValues = column.values.slice(values)
        var body: [UInt8] = []
        if d.maxRepetitionLevel > 0, let rep = column.repetitionLevels {
            Self.appendLevels(rep[entries], max: d.maxRepetitionLevel, to: &body)
        }
        if d.maxDefinitionLevel > 0, let def = column.definitionLevels {
            Self.appendLevels(def[entries], max: d.maxDefinitionLevel, to: &body)
        }
        let encoding: ParquetMetadataEncoding.Encoding
        if let indices, let dictionary {
            let width = HybridRLEEncoder.bitWidth(forMax: UInt64(max(dictionary.count - 1, 0)))
            body.append(UInt8(width))
            body += HybridRLEEncoder.encode(indices[values], bitWidth: width)
            encoding = .rleDictionary
        } else {
            pageValues.plainEncoded(into: &body)
            encoding = .plain
        }
        let pageStatistics = ParquetStatistics(pageValues, nulls: entries.count - values.count, logicalType: d.logicalType)
        if statistics == nil {
            statistics = pageStatistics
        } else {
            statistics!.merge(pageStatistics, physicalType: d.physicalType, logicalType: d.logicalType)
        }
        let compressed = try Self.compress(body, options.compression)
        let header = ParquetMetadataEncoding.dataPageHeader(
            uncompressedSize: body.count, compressedSize: compressed.count, numValues: entries.count,
            encoding: encoding, statistics: pageStatistics)
        data.append(contentsOf: header)
        data.append(contentsOf: compressed)
        uncompressed += Int64(header.count + body.count)
        pages += 1
    }

    /// The chunk: its dictionary page (when the dictionary was used), then the data pages.
    /// - Throws: ``ParquetError/Code/compression`` from zstd.
    public consuming func finish() throws(ParquetError) -> ParquetEncodedColumnChunk {
        if !pending.isEmpty { try decideDictionary() }
        if pages == 0 {
            finishing = true
            try encode(
                ParquetColumnData(
                    definitionLevels: descriptor.maxDefinitionLevel > 0 ? [] : nil,
                    repetitionLevels: descriptor.maxRepetitionLevel > 0 ? [] : nil,
                    values: .empty(descriptor.physicalType, width: Int(descriptor.typeLength ?? 1))),
                rows: 0, entries: 0, indices: nil)
        }
        var pieces: [[UInt8]] = []
        var dictionaryOffset: Int64?
        var total = uncompressed
        var dataOffset: Int64 = 0
        if let dictionary, dictionaryUsed {
            var body: [UInt8] = []
            let values = dictionary.values
            values.plainEncoded(into: &body)
            let compressed = try Self.compress(body, options.compression)
            let header = ParquetMetadataEncoding.dictionaryPageHeader(
                uncompressedSize: body.count, compressedSize: compressed.count, numValues: values.count)
            dictionaryOffset = 0
            pieces = [header, compressed]
            dataOffset = Int64(header.count + compressed.count)
            total += Int64(header.count + body.count)
        }
        pieces.append(data)
        var encodings: [ParquetMetadataEncoding.Encoding] = [.plain, .rle]
        if dictionaryUsed { encodings.append(.rleDictionary) }
        let metadata = ParquetMetadataEncoding.ColumnChunk(
            descriptor: descriptor, encodings: encodings, codec: options.compression.codec, numValues: Int64(entries),
            totalUncompressedSize: total, totalCompressedSize: dataOffset + Int64(data.count), dataPageOffset: dataOffset,
            dictionaryPageOffset: dictionaryOffset, statistics: statistics)
        return ParquetEncodedColumnChunk(pieces: pieces, metadata: metadata, rows: rows)
    }

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
            let increasing = offsets.withUnsafeBufferPointer { o in
                guard let last = o.last, o[0] == 0, last == data.count else { return false }
                for i in 1..<o.count where o[i - 1] > o[i] { return false }
                return true
            }
            guard increasing else {
                throw ParquetError(.invalidInput, "column \(name): byte-array offsets are not increasing from 0 to the data size")
            }
        }
        let entries: Int
        if d.maxDefinitionLevel > 0 {
            guard let def = c.definitionLevels else {
                throw ParquetError(.invalidInput, "column \(name): definition levels missing")
            }
            let maxDef = UInt8(truncatingIfNeeded: d.maxDefinitionLevel)
            let (highest, present) = scanLevels(def, counting: maxDef)
            guard Int(highest) <= d.maxDefinitionLevel else {
                throw ParquetError(.invalidInput, "column \(name): a definition level above \(d.maxDefinitionLevel)")
            }
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
            let (highest, records) = scanLevels(rep, counting: 0)
            guard rep.first.map({ $0 == 0 }) ?? true, Int(highest) <= d.maxRepetitionLevel else {
                throw ParquetError(.invalidInput, "column \(name): repetition levels must start at 0 and stay ≤ \(d.maxRepetitionLevel)")
            }
            guard records == rows else {
                throw ParquetError(.invalidInput, "column \(name): \(records) records, the row group \(rows) rows")
            }
        } else {
            guard entries == rows else {
                throw ParquetError(.invalidInput, "column \(name): \(entries) entries, the row group \(rows) rows")
            }
        }
    }

    /// The highest of `levels` and how many equal `value`, in one pass of 16 levels at a time (the
    /// check of every entry of big nested columns).
    static func scanLevels(_ levels: [UInt8], counting value: UInt8) -> (highest: UInt8, count: Int) {
        levels.withUnsafeBufferPointer { scanLevels($0, counting: value) }
    }

    /// The index of the `n`-th (from 1) level equal to `value` at or after `start`, nil when there
    /// are fewer; 16 levels at a time.
    static func index(ofNth n: Int, equalTo value: UInt8, in p: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard let base = p.baseAddress, n > 0 else { return nil }
        let raw = UnsafeRawPointer(base)
        let target = SIMD16<UInt8>(repeating: value)
        let zero = SIMD16<UInt8>(repeating: 0)
        let one = SIMD16<UInt8>(repeating: 1)
        var left = n
        var i = start
        // Whole blocks while the n-th match lies beyond them.
        while i + 16 <= p.count {
            let v = raw.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)
            let matches = Int(zero.replacing(with: one, where: v .== target).wrappedSum())
            if matches >= left { break }
            left -= matches
            i += 16
        }
        while i < p.count {
            if p[i] == value {
                left -= 1
                if left == 0 { return i }
            }
            i += 1
        }
        return nil
    }

    static func scanLevels(_ p: UnsafeBufferPointer<UInt8>, counting value: UInt8) -> (highest: UInt8, count: Int) {
        do {
            guard let base = p.baseAddress else { return (0, 0) }
            let raw = UnsafeRawPointer(base)
            let n = p.count
            var highest = SIMD16<UInt8>(repeating: 0)
            let target = SIMD16<UInt8>(repeating: value)
            let zero = SIMD16<UInt8>(repeating: 0)
            let one = SIMD16<UInt8>(repeating: 1)
            var count = 0
            var i = 0
            while i + 16 <= n {
                // Lane counters of one byte: at most 255 blocks before they are added up.
                var lanes = zero
                let stop = min(n - 15, i + 255 * 16)
                while i < stop {
                    let v = raw.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)
                    highest = pointwiseMax(highest, v)
                    lanes &+= zero.replacing(with: one, where: v .== target)
                    i += 16
                }
                count += Int(SIMD16<UInt16>(truncatingIfNeeded: lanes).wrappedSum())
            }
            var top = highest.max()
            while i < n {
                top = max(top, p[i])
                count += p[i] == value ? 1 : 0
                i += 1
            }
            return (top, count)
        }
    }

    /// Levels of a data page v1: a 4-byte little-endian length, then the RLE/bit-packed levels.
    private static func appendLevels(_ levels: ArraySlice<UInt8>, max: Int, to body: inout [UInt8]) {
        let encoded = HybridRLEEncoder.encode(levels, bitWidth: HybridRLEEncoder.bitWidth(forMax: UInt64(max)))
        appendLittleEndian(CollectionOfOne(UInt32(encoded.count)), to: &body)
        body += encoded
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
}
