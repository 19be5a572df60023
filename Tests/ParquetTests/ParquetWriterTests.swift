import Foundation
import Testing

@testable import Parquet

/// A decoder of the RLE / bit-packed hybrid, written from the format's description independently of
/// the encoder, to check it.
func decodeHybrid(_ bytes: [UInt8], bitWidth: Int, count: Int) -> [UInt32] {
    var out: [UInt32] = []
    var i = 0
    func varint() -> UInt64 {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = bytes[i]
            i += 1
            v |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return v }
            shift += 7
        }
    }
    while out.count < count {
        let header = varint()
        if header & 1 == 0 {
            let run = Int(header >> 1)
            var v: UInt32 = 0
            for k in 0..<(bitWidth + 7) / 8 {
                v |= UInt32(bytes[i]) << (8 * UInt32(k))
                i += 1
            }
            out += repeatElement(v, count: run)
        } else {
            let values = Int(header >> 1) * 8
            let start = i
            for n in 0..<values {
                var v: UInt32 = 0
                for b in 0..<bitWidth {
                    let bit = n * bitWidth + b
                    if bytes[start + bit / 8] >> (bit % 8) & 1 == 1 { v |= 1 << UInt32(b) }
                }
                out.append(v)
            }
            i = start + values * bitWidth / 8
        }
    }
    return Array(out.prefix(count))
}

/// A small file of every shape the export needs: required and optional primitives, strings that
/// repeat (dictionary), a nullable list of nullable doubles, booleans.
func sampleFile(compression: ParquetCompression, pageSize: Int = 1 << 20) throws -> (bytes: [UInt8], rows: Int) {
    let schema = ParquetSchema(fields: [
        .leaf("time", .int64, .required, logical: .timestamp(adjustedToUTC: true, unit: .nanoseconds)),
        .leaf("value", .double),
        .leaf("entity", .byteArray, logical: .string),
        .list("samples", element: .leaf("element", .double)),
        .leaf("flag", .boolean),
        .leaf("small", .int32, logical: .integer(bitWidth: 8, signed: false)),
    ])
    let rows = 1000
    let times = (0..<rows).map { Int64($0) * 1_000_000 }
    // value: null every 7th row.
    let valueDef = (0..<rows).map { $0 % 7 == 0 ? UInt8(0) : 1 }
    let values = (0..<rows).filter { $0 % 7 != 0 }.map { Double($0) * 0.5 - 100 }
    // entity: three distinct paths (dictionary-encoded), null every 11th row.
    let paths = ["/a", "/robot/arm", "/camera/image"]
    var entityData: [UInt8] = []
    var entityOffsets = [0]
    var entityDef: [UInt8] = []
    for r in 0..<rows {
        if r % 11 == 0 {
            entityDef.append(0)
        } else {
            entityDef.append(1)
            entityData += Array(paths[r % 3].utf8)
            entityOffsets.append(entityData.count)
        }
    }
    // samples: row r has r % 4 elements; every 5th row null; element 1 of each list null.
    var sampleDef: [UInt8] = []
    var sampleRep: [UInt8] = []
    var sampleValues: [Double] = []
    for r in 0..<rows {
        if r % 5 == 0 {
            sampleDef.append(0)
            sampleRep.append(0)
            continue
        }
        let n = r % 4
        if n == 0 {  // an empty list
            sampleDef.append(1)
            sampleRep.append(0)
            continue
        }
        for k in 0..<n {
            sampleRep.append(k == 0 ? 0 : 1)
            if k == 1 {
                sampleDef.append(2)
            } else {
                sampleDef.append(3)
                sampleValues.append(Double(r * 10 + k))
            }
        }
    }
    let flags = (0..<rows).map { $0 % 3 == 0 }
    let small = (0..<rows).map { Int32($0 % 200) }
    let sink = ParquetMemorySink()
    let writer = try ParquetFileWriter(
        schema: schema, options: ParquetWriterOptions(compression: compression, pageSize: pageSize), sink: sink)
    // Two row groups: 600 + 400 rows.
    func group(_ range: Range<Int>) throws {
        func present(_ def: [UInt8], _ max: UInt8, before r: Int) -> Int { def[..<r].filter { $0 == max }.count }
        let vLo = present(valueDef, 1, before: range.lowerBound)
        let vHi = present(valueDef, 1, before: range.upperBound)
        let eLo = present(entityDef, 1, before: range.lowerBound)
        let eHi = present(entityDef, 1, before: range.upperBound)
        // Entries of the list column for these rows.
        var rowStarts: [Int] = []
        for (i, rep) in sampleRep.enumerated() where rep == 0 { rowStarts.append(i) }
        rowStarts.append(sampleRep.count)
        let sLo = rowStarts[range.lowerBound]
        let sHi = rowStarts[range.upperBound]
        let svLo = present(sampleDef, 3, before: sLo)
        let svHi = present(sampleDef, 3, before: sHi)
        try writer.writeRowGroup(
            rows: range.count,
            columns: [
                ParquetColumnData(values: .int64(Array(times[range]))),
                ParquetColumnData(definitionLevels: Array(valueDef[range]), values: .double(Array(values[vLo..<vHi]))),
                ParquetColumnData(
                    definitionLevels: Array(entityDef[range]),
                    values: ParquetValues.byteArray(data: entityData, offsets: entityOffsets).slice(eLo..<eHi)),
                ParquetColumnData(
                    definitionLevels: Array(sampleDef[sLo..<sHi]), repetitionLevels: Array(sampleRep[sLo..<sHi]),
                    values: .double(Array(sampleValues[svLo..<svHi]))),
                ParquetColumnData(definitionLevels: Array(repeating: 1, count: range.count), values: .boolean(Array(flags[range]))),
                ParquetColumnData(definitionLevels: Array(repeating: 1, count: range.count), values: .int32(Array(small[range]))),
            ])
    }
    try group(0..<600)
    try group(600..<1000)
    try writer.close(keyValueMetadata: [("storeingest", "test")])
    return (sink.bytes, rows)
}

/// The footer of a Parquet file, decoded with our Thrift reader.
func footer(_ bytes: [UInt8]) throws -> ThriftStruct {
    #expect(Array(bytes.prefix(4)) == Array("PAR1".utf8))
    #expect(Array(bytes.suffix(4)) == Array("PAR1".utf8))
    let n = bytes.count
    let length = Int(bytes[n - 8]) | Int(bytes[n - 7]) << 8 | Int(bytes[n - 6]) << 16 | Int(bytes[n - 5]) << 24
    var reader = ThriftCompactReader(Array(bytes[(n - 8 - length)..<(n - 8)]))
    let s = try reader.readStruct()
    #expect(reader.position == length)
    return s
}

@Suite("Parquet writer: levels, pages, footer (our read-back) and pyarrow")
struct ParquetWriterTests {
    @Test("the RLE / bit-packed hybrid round-trips runs, mixed values and every bit width")
    func hybrid() {
        for width in [1, 2, 3, 5, 8, 12, 20] {
            let maxValue = UInt32((1 << UInt64(width)) - 1)
            var values: [UInt32] = []
            for i in 0..<537 { values.append(i % 50 < 20 ? 1 & maxValue : UInt32(i * 7919) & maxValue) }
            values += repeatElement(maxValue, count: 30)
            values += [0, 1, 0]
            let encoded = HybridRLEEncoder.encode(values, bitWidth: width)
            #expect(decodeHybrid(encoded, bitWidth: width, count: values.count) == values, "width \(width)")
        }
        // A long run is one RLE run: a header byte (or two) and one value byte.
        #expect(HybridRLEEncoder.encode(Array(repeating: UInt8(1), count: 50), bitWidth: 1).count == 2)
    }

    @Test("the footer read back: rows, schema, row groups, column chunks, statistics", arguments: [
        ParquetCompression.none, .zstd(level: 1),
    ])
    func footerReadBack(compression: ParquetCompression) throws {
        let (bytes, rows) = try sampleFile(compression: compression, pageSize: 512)
        let f = try footer(bytes)
        #expect(f[3]?.int == Int64(rows))
        let schema = try #require(f[2]?.list)
        // root + time, value, entity, samples(list → list → element), flag, small
        #expect(schema.count == 9)
        #expect(schema.compactMap { $0.struct?[4]?.string } == [
            "schema", "time", "value", "entity", "samples", "list", "element", "flag", "small",
        ])
        let groups = try #require(f[4]?.list)
        #expect(groups.map { $0.struct?[3]?.int } == [600, 400])
        var offset = 4
        for (g, rowRange) in zip(groups, [0..<600, 600..<1000]) {
            let columns = try #require(g.struct?[1]?.list)
            #expect(columns.count == 6)
            for c in columns {
                let meta = try #require(c.struct?[3]?.struct)
                #expect(meta[4]?.int == Int64(compression == .none ? 0 : 6))
                let start = Int(meta[11]?.int ?? meta[9]!.int!)
                #expect(start == offset, "column chunks back to back")
                offset += Int(meta[7]!.int!)
            }
            // value column: the null count of this group.
            let value = try #require(columns[1].struct?[3]?.struct?[12]?.struct)
            #expect(value[3]?.int == Int64(rowRange.filter { $0 % 7 == 0 }.count))
        }
        let n = bytes.count
        let metadataLength = Int(bytes[n - 8]) | Int(bytes[n - 7]) << 8 | Int(bytes[n - 6]) << 16 | Int(bytes[n - 5]) << 24
        #expect(offset == n - 8 - metadataLength, "the metadata right after the last column chunk")
        // Statistics of `time` in the first group: 0 and 599 ms as int64 LE.
        let time = try #require(groups[0].struct?[1]?.list?[0].struct?[3]?.struct?[12]?.struct)
        let le = { (v: Int64) in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        #expect(time[6]?.binary == le(0))
        #expect(time[5]?.binary == le(599_000_000))
        // The entity column is dictionary-encoded (RLE_DICTIONARY in its encodings).
        let entity = try #require(groups[0].struct?[1]?.list?[2].struct?[3]?.struct)
        #expect(entity[2]?.list?.contains(.int(8)) == true)
        #expect(entity[11] != nil)
        #expect(f[5]?.list?.first?.struct?[1]?.string == "storeingest")
    }

    @Test("input that contradicts the schema is refused with the column named")
    func invalidInput() throws {
        let schema = ParquetSchema(fields: [.leaf("x", .int32)])
        let writer = try ParquetFileWriter(schema: schema, sink: ParquetMemorySink())
        #expect(throws: ParquetError.self) {
            try writer.writeRowGroup(rows: 3, columns: [ParquetColumnData(definitionLevels: [1, 1, 0], values: .int32([1]))])
        }
        #expect(throws: ParquetError.self) {
            try writer.writeRowGroup(rows: 2, columns: [ParquetColumnData(definitionLevels: [1, 1, 0], values: .int32([1, 2]))])
        }
        #expect(throws: ParquetError.self) {
            try writer.writeRowGroup(rows: 1, columns: [ParquetColumnData(definitionLevels: [1], values: .int64([1]))])
        }
        do {
            try writer.writeRowGroup(rows: 1, columns: [ParquetColumnData(definitionLevels: [2], values: .int32([]))])
            Issue.record("a level above the maximum was accepted")
        } catch {
            #expect(error.description.contains("column x"))
        }
    }

    @Test("a damaged footer is an error, never a trap")
    func damagedFooter() throws {
        let (bytes, _) = try sampleFile(compression: .none)
        let n = bytes.count
        let length = Int(bytes[n - 8]) | Int(bytes[n - 7]) << 8
        let meta = Array(bytes[(n - 8 - length)..<(n - 8)])
        for cut in stride(from: 0, to: meta.count, by: 7) {
            var reader = ThriftCompactReader(Array(meta.prefix(cut)))
            _ = try? reader.readStruct()
        }
        var flipped = meta
        for i in stride(from: 0, to: flipped.count, by: 13) {
            flipped[i] ^= 0xA5
            var reader = ThriftCompactReader(flipped)
            _ = try? reader.readStruct()
        }
    }

    /// A Python with pyarrow: `STOREINGEST_PYTHON`, the benchmark venv, or `python3`.
    static let python: String? = {
        let candidates = [
            ProcessInfo.processInfo.environment["STOREINGEST_PYTHON"], "/work/bench/venv/bin/python", "/usr/bin/python3",
        ].compactMap { $0 }
        for c in candidates where FileManager.default.isExecutableFile(atPath: c) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: c)
            p.arguments = ["-c", "import pyarrow.parquet"]
            p.standardError = FileHandle.nullDevice
            guard (try? p.run()) != nil else { continue }
            p.waitUntilExit()
            if p.terminationStatus == 0 { return c }
        }
        return nil
    }()

    @Test(
        "pyarrow reads the file: every value, the types, statistics present",
        .enabled(if: python != nil, "no Python with pyarrow (set STOREINGEST_PYTHON)"),
        arguments: [ParquetCompression.none, .zstd(level: 3)])
    func pyarrowReads(compression: ParquetCompression) throws {
        let (bytes, rows) = try sampleFile(compression: compression, pageSize: 700)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("storeingest-\(UUID().uuidString).parquet")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let script = """
            import json, sys, pyarrow.parquet as pq
            f = pq.ParquetFile(sys.argv[1])
            t = f.read()
            md = f.metadata
            stats = all(md.row_group(g).column(c).statistics is not None and md.row_group(g).column(c).statistics.has_min_max
                        for g in range(md.num_row_groups) for c in (0, 1, 2, 5))
            print(json.dumps({"rows": md.num_rows, "groups": md.num_row_groups, "types": [str(x.type) for x in t.schema],
                              "stats": stats, "columns": {n: t.column(n).to_pylist() for n in t.column_names if n != "time"},
                              "time0": str(t.column("time")[1].as_py())}))
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.python!)
        p.arguments = ["-c", script, url.path]
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        try #require(p.terminationStatus == 0, "pyarrow failed: \(errText)")
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["rows"] as? Int == rows)
        #expect(json["groups"] as? Int == 2)
        #expect(json["stats"] as? Bool == true)
        #expect(
            json["types"] as? [String] == [
                "timestamp[ns, tz=UTC]", "double", "string", "list<element: double>", "bool", "uint8",
            ])
        let columns = try #require(json["columns"] as? [String: Any])
        let value = try #require(columns["value"] as? [Any])
        for r in 0..<rows {
            if r % 7 == 0 { #expect(value[r] is NSNull) } else { #expect(value[r] as? Double == Double(r) * 0.5 - 100) }
        }
        let entity = try #require(columns["entity"] as? [Any])
        let paths = ["/a", "/robot/arm", "/camera/image"]
        for r in 0..<rows {
            if r % 11 == 0 { #expect(entity[r] is NSNull) } else { #expect(entity[r] as? String == paths[r % 3]) }
        }
        let samples = try #require(columns["samples"] as? [Any])
        for r in 0..<rows {
            if r % 5 == 0 {
                #expect(samples[r] is NSNull)
                continue
            }
            let list = try #require(samples[r] as? [Any], "row \(r)")
            #expect(list.count == r % 4)
            for (k, v) in list.enumerated() {
                if k == 1 { #expect(v is NSNull) } else { #expect(v as? Double == Double(r * 10 + k)) }
            }
        }
        #expect((columns["flag"] as? [Bool]) == (0..<rows).map { $0 % 3 == 0 })
        #expect((columns["small"] as? [Int]) == (0..<rows).map { $0 % 200 })
        #expect((json["time0"] as? String)?.hasPrefix("1970-01-01 00:00:00.001") == true)
    }
}
