/// The Thrift structs of Parquet's metadata (`parquet.thrift`), encoded with the field ids the format
/// gives them. Only what this writer produces is here.
enum ParquetMetadataEncoding {
    enum Encoding: Int32 {
        case plain = 0
        case rle = 3
        case rleDictionary = 8
    }

    enum PageType: Int32 {
        case dataPage = 0
        case dictionaryPage = 2
    }

    /// The metadata of one column chunk in one row group.
    struct ColumnChunk {
        var descriptor: ParquetColumnDescriptor
        var encodings: [Encoding]
        var codec: Int32
        var numValues: Int64
        var totalUncompressedSize: Int64
        var totalCompressedSize: Int64
        var dataPageOffset: Int64
        var dictionaryPageOffset: Int64?
        var statistics: ParquetStatistics?
    }

    struct RowGroup {
        var columns: [ColumnChunk]
        var numRows: Int64
        var totalByteSize: Int64
        var totalCompressedSize: Int64
        var fileOffset: Int64
        var ordinal: Int16
    }

    static func statistics(_ s: ParquetStatistics, into w: inout ThriftCompactWriter) {
        w.field(3, s.nullCount)
        if let max = s.maxValue { w.field(5, binary: max) }
        if let min = s.minValue { w.field(6, binary: min) }
    }

    static func dataPageHeader(
        uncompressedSize: Int, compressedSize: Int, numValues: Int, encoding: Encoding, statistics s: ParquetStatistics?
    ) -> [UInt8] {
        var w = ThriftCompactWriter()
        w.field(1, PageType.dataPage.rawValue)
        w.field(2, Int32(uncompressedSize))
        w.field(3, Int32(compressedSize))
        w.field(5) { h in
            h.field(1, Int32(numValues))
            h.field(2, encoding.rawValue)
            h.field(3, Encoding.rle.rawValue)
            h.field(4, Encoding.rle.rawValue)
            if let s { h.field(5) { statistics(s, into: &$0) } }
        }
        w.stop()
        return w.bytes
    }

    static func dictionaryPageHeader(uncompressedSize: Int, compressedSize: Int, numValues: Int) -> [UInt8] {
        var w = ThriftCompactWriter()
        w.field(1, PageType.dictionaryPage.rawValue)
        w.field(2, Int32(uncompressedSize))
        w.field(3, Int32(compressedSize))
        w.field(7) { h in
            h.field(1, Int32(numValues))
            h.field(2, Encoding.plain.rawValue)
        }
        w.stop()
        return w.bytes
    }

    static func fileMetadata(
        schema: ParquetSchema, rowGroups: [RowGroup], numRows: Int64, keyValues: [(String, String)], createdBy: String
    ) -> [UInt8] {
        var elements: [(inout ThriftCompactWriter) -> Void] = []
        elements.append { w in
            w.field(4, "schema")
            w.field(5, Int32(schema.fields.count))
        }
        func visit(_ node: ParquetSchemaNode) {
            elements.append { w in schemaElement(node, into: &w) }
            if case .group(let children) = node.kind { children.forEach(visit) }
        }
        schema.fields.forEach(visit)
        let columnCount = schema.columns.count

        var w = ThriftCompactWriter(reservingCapacity: 1024 + rowGroups.count * columnCount * 96)
        w.field(1, Int32(2))
        w.field(2, list: .struct, count: elements.count) { w in
            for element in elements { w.structElement(element) }
        }
        w.field(3, numRows)
        w.field(4, list: .struct, count: rowGroups.count) { w in
            for group in rowGroups { w.structElement { rowGroup(group, into: &$0) } }
        }
        if !keyValues.isEmpty {
            w.field(5, list: .struct, count: keyValues.count) { w in
                for (key, value) in keyValues {
                    w.structElement { kv in
                        kv.field(1, key)
                        kv.field(2, value)
                    }
                }
            }
        }
        w.field(6, createdBy)
        // Column orders: every column sorts by its type's order, which is what lets readers trust
        // min_value / max_value.
        w.field(7, list: .struct, count: columnCount) { w in
            for _ in 0..<columnCount { w.structElement { $0.field(1) { _ in } } }
        }
        w.stop()
        return w.bytes
    }

    private static func rowGroup(_ g: RowGroup, into w: inout ThriftCompactWriter) {
        w.field(1, list: .struct, count: g.columns.count) { w in
            for c in g.columns {
                w.structElement { cc in
                    cc.field(2, c.dictionaryPageOffset ?? c.dataPageOffset)
                    cc.field(3) { m in columnMetadata(c, into: &m) }
                }
            }
        }
        w.field(2, g.totalByteSize)
        w.field(3, g.numRows)
        w.field(5, g.fileOffset)
        w.field(6, g.totalCompressedSize)
        w.field(7, g.ordinal)
    }

    private static func columnMetadata(_ c: ColumnChunk, into m: inout ThriftCompactWriter) {
        m.field(1, c.descriptor.physicalType.rawValue)
        m.field(2, list: .i32, count: c.encodings.count) { w in
            for e in c.encodings { w.element(e.rawValue) }
        }
        m.field(3, list: .binary, count: c.descriptor.path.count) { w in
            for p in c.descriptor.path { w.element(p) }
        }
        m.field(4, c.codec)
        m.field(5, c.numValues)
        m.field(6, c.totalUncompressedSize)
        m.field(7, c.totalCompressedSize)
        m.field(9, c.dataPageOffset)
        if let d = c.dictionaryPageOffset { m.field(11, d) }
        if let s = c.statistics { m.field(12) { statistics(s, into: &$0) } }
    }

    private static func schemaElement(_ node: ParquetSchemaNode, into w: inout ThriftCompactWriter) {
        if case .leaf(let type, let length) = node.kind {
            w.field(1, type.rawValue)
            if let length { w.field(2, length) }
        }
        w.field(3, node.repetition.rawValue)
        w.field(4, node.name)
        if case .group(let children) = node.kind { w.field(5, Int32(children.count)) }
        if let logical = node.logicalType {
            if let converted = convertedType(logical) { w.field(6, converted) }
            if case .decimal(let scale, let precision) = logical {
                w.field(7, scale)
                w.field(8, precision)
            }
            w.field(10) { logicalType(logical, into: &$0) }
        }
    }

    /// The legacy converted type that says the same, for readers older than logical types.
    private static func convertedType(_ t: ParquetLogicalType) -> Int32? {
        switch t {
        case .string: 0
        case .map: 1
        case .list: 3
        case .decimal: 5
        case .date: 6
        case .time(true, .milliseconds): 7
        case .time(true, .microseconds): 8
        case .timestamp(true, .milliseconds): 9
        case .timestamp(true, .microseconds): 10
        case .integer(let bits, let signed):
            switch (bits, signed) {
            case (8, false): 11
            case (16, false): 12
            case (32, false): 13
            case (64, false): 14
            case (8, true): 15
            case (16, true): 16
            case (32, true): 17
            case (64, true): 18
            default: nil
            }
        case .json: 19
        default: nil
        }
    }

    private static func logicalType(_ t: ParquetLogicalType, into w: inout ThriftCompactWriter) {
        func unit(_ u: ParquetTimeUnit, into w: inout ThriftCompactWriter) {
            let id: Int16 =
                switch u {
                case .milliseconds: 1
                case .microseconds: 2
                case .nanoseconds: 3
                }
            w.field(id) { _ in }
        }
        switch t {
        case .string: w.field(1) { _ in }
        case .map: w.field(2) { _ in }
        case .list: w.field(3) { _ in }
        case .decimal(let scale, let precision):
            w.field(5) { d in
                d.field(1, scale)
                d.field(2, precision)
            }
        case .date: w.field(6) { _ in }
        case .time(let utc, let u):
            w.field(7) { x in
                x.field(1, utc)
                x.field(2) { unit(u, into: &$0) }
            }
        case .timestamp(let utc, let u):
            w.field(8) { x in
                x.field(1, utc)
                x.field(2) { unit(u, into: &$0) }
            }
        case .integer(let bits, let signed):
            w.field(10) { x in
                x.field(1, byte: bits)
                x.field(2, signed)
            }
        case .unknown: w.field(11) { _ in }
        case .json: w.field(12) { _ in }
        case .uuid: w.field(14) { _ in }
        case .float16: w.field(15) { _ in }
        }
    }
}
