import ArrowIPC
import FixtureSupport
import Foundation
import IngestCore
import Testing

/// Every limit the Arrow IPC reader puts on what input controls, each shown with a clear `.tooLarge` error:
/// nesting depth, decompressed body size, column count, row count and dictionary size.
@Suite("Arrow IPC resource caps")
struct ArrowResourceCapTests {
    static func golden(_ name: String) throws -> [UInt8] {
        try Fixtures.bytes(Fixtures.arrow.appendingPathComponent(name))
    }

    static func read(_ bytes: [UInt8], _ configure: (ArrowStreamReader) -> Void = { _ in }) -> Result<
        ArrowRecordBatch, ArrowError
    > {
        let reader = ArrowStreamReader()
        configure(reader)
        do throws(ArrowError) {
            return .success(try reader.read(ByteStorage(copying: bytes)))
        } catch {
            return .failure(error)
        }
    }

    static func error(_ r: Result<ArrowRecordBatch, ArrowError>) -> ArrowError? {
        if case .failure(let e) = r { return e }
        return nil
    }

    @Test("nesting: 63 nested lists are read, 64 and 10 000 are rejected at the field (no deep recursion)")
    func nestingDepth() {
        let ok = Self.error(Self.read(NestedSchema.stream(listLevels: 63)))
        #expect(ok?.code != .tooLarge, "\(String(describing: ok))")
        for levels in [64, 10_000] {
            let e = Self.error(Self.read(NestedSchema.stream(listLevels: levels)))
            #expect(e?.code == .tooLarge)
            #expect(e?.message.contains("nesting deeper than 64") == true, "\(String(describing: e))")
            #expect((e?.offset ?? 0) > 0)
        }
    }

    @Test("decompressed body: a compressed golden above maxDecompressedBodySize", arguments: ["int64", "string"])
    func decompressedBody(type: String) throws {
        for codec in ["lz4", "zstd"] {
            let bytes = try Self.golden("\(type).\(codec).arrows")
            guard case .success = Self.read(bytes) else {
                Issue.record("\(type).\(codec) does not read with the default caps")
                continue
            }
            let e = Self.error(Self.read(bytes) { $0.maxDecompressedBodySize = 8 })
            #expect(e?.code == .tooLarge, "\(String(describing: e))")
            #expect(e?.message.contains("cap 8") == true)
        }
    }

    @Test("columns: above maxColumns")
    func columns() throws {
        let bytes = try Self.golden("struct.arrows")
        let batch = try Self.read(bytes).get()
        let n = batch.schema.fields.count
        #expect(Self.error(Self.read(bytes) { $0.maxColumns = n }) == nil)
        let e = Self.error(Self.read(bytes) { $0.maxColumns = n - 1 })
        #expect(e?.code == .tooLarge)
        #expect(e?.message == "schema has \(n) columns, above the cap of \(n - 1)")
    }

    @Test("rows: above maxRows (the default is 2^40)")
    func rows() throws {
        let bytes = try Self.golden("int32.arrows")
        let batch = try Self.read(bytes).get()
        try #require(batch.length > 1)
        #expect(Self.error(Self.read(bytes) { $0.maxRows = batch.length }) == nil)
        let e = Self.error(Self.read(bytes) { $0.maxRows = batch.length - 1 })
        #expect(e?.code == .tooLarge)
        #expect(e?.message.contains("\(batch.length) rows, above the cap of \(batch.length - 1)") == true)
    }

    @Test("dictionary: more values than maxDictionaryLength", arguments: ["dictionary_int32_string", "dictionary_uint8_string"])
    func dictionary(name: String) throws {
        let bytes = try Self.golden("\(name).arrows")
        let batch = try Self.read(bytes).get()
        let n = batch.columns[0].dictionaryLength
        try #require(n > 0)
        #expect(Self.error(Self.read(bytes) { $0.maxDictionaryLength = n }) == nil)
        let e = Self.error(Self.read(bytes) { $0.maxDictionaryLength = n - 1 })
        #expect(e?.code == .tooLarge)
        #expect(e?.message.contains("would hold \(n) values, above the cap of \(n - 1)") == true)
    }
}

/// A schema-only IPC stream whose single column is `listLevels` nested lists of int32, written as a forward-laid
/// flatbuffer (each table before what it points to, so every offset is positive).
enum NestedSchema {
    struct Writer {
        var b: [UInt8] = [0, 0, 0, 0]  // root offset, patched

        enum Scalar {
            case u8(UInt8), i16(Int16), i32(Int32), i64(Int64)
            var size: Int {
                switch self {
                case .u8: return 1
                case .i16: return 2
                case .i32: return 4
                case .i64: return 8
                }
            }
        }

        mutating func align(_ n: Int) { while b.count % n != 0 { b.append(0) } }
        mutating func put<T: FixedWidthInteger>(_ v: T, at: Int? = nil) {
            withUnsafeBytes(of: v.littleEndian) { raw in
                if let at { for k in 0..<raw.count { b[at + k] = raw[k] } } else { b += raw }
            }
        }
        /// Points the offset slot at `slot` to `target` (which lies after it).
        mutating func patch(_ slot: Int, to target: Int) { put(UInt32(target - slot), at: slot) }

        /// A table with scalar fields and offset slots by field id; returns the table and each slot's position.
        mutating func table(scalars: [Int: Scalar], offsets: [Int]) -> (table: Int, slots: [Int: Int]) {
            var layout: [(id: Int, size: Int)] = offsets.map { ($0, 4) } + scalars.map { ($0.key, $0.value.size) }
            layout.sort { $0.size != $1.size ? $0.size > $1.size : $0.id < $1.id }
            var position: [Int: Int] = [:]
            var cursor = 4
            for f in layout {
                cursor = (cursor + f.size - 1) / f.size * f.size
                position[f.id] = cursor
                cursor += f.size
            }
            let ids = (layout.map(\.id).max() ?? -1) + 1
            align(2)
            let vtable = b.count
            put(UInt16(4 + 2 * ids))
            put(UInt16(cursor))
            for id in 0..<ids { put(UInt16(position[id] ?? 0)) }
            align(8)
            let table = b.count
            put(Int32(table - vtable))
            b += [UInt8](repeating: 0, count: cursor - 4)
            for (id, value) in scalars {
                let at = table + position[id]!
                switch value {
                case .u8(let v): put(v, at: at)
                case .i16(let v): put(v, at: at)
                case .i32(let v): put(v, at: at)
                case .i64(let v): put(v, at: at)
                }
            }
            return (table, Dictionary(uniqueKeysWithValues: offsets.map { ($0, table + position[$0]!) }))
        }

        mutating func string(_ s: String) -> Int {
            align(4)
            let at = b.count
            put(UInt32(s.utf8.count))
            b += Array(s.utf8) + [0]
            return at
        }

        /// A vector of `count` offsets; returns the vector and its slots.
        mutating func offsetVector(_ count: Int) -> (vector: Int, slots: [Int]) {
            align(4)
            let at = b.count
            put(UInt32(count))
            for _ in 0..<count { put(UInt32(0)) }
            return (at, (0..<count).map { at + 4 + 4 * $0 })
        }

        /// `Field` (name 0, nullable 1, type_type 2, type 3, children 5): lists down to an int32 leaf, iteratively.
        mutating func fieldChain(levels: Int) -> Int {
            var first = 0
            var pendingSlot: Int?
            for level in stride(from: levels, through: 0, by: -1) {
                let isLeaf = level == 0
                let (t, slots) = table(
                    scalars: [1: .u8(1), 2: .u8(isLeaf ? 2 : 12)], offsets: isLeaf ? [0, 3] : [0, 3, 5])
                if let pendingSlot { patch(pendingSlot, to: t) } else { first = t }
                patch(slots[0]!, to: string(isLeaf ? "item" : "l\(level)"))
                if isLeaf {
                    let (int, _) = table(scalars: [0: .i32(32), 1: .u8(1)], offsets: [])  // Int { bitWidth, is_signed }
                    patch(slots[3]!, to: int)
                    pendingSlot = nil
                } else {
                    let (list, _) = table(scalars: [:], offsets: [])  // List {}
                    patch(slots[3]!, to: list)
                    let (vector, vslots) = offsetVector(1)
                    patch(slots[5]!, to: vector)
                    pendingSlot = vslots[0]
                }
            }
            return first
        }
    }

    static func stream(listLevels: Int) -> [UInt8] {
        var w = Writer()
        // Message { version 0: V5 = 4, header_type 1: Schema = 1, header 2, bodyLength 3 }
        let (message, mslots) = w.table(scalars: [0: .i16(4), 1: .u8(1), 3: .i64(0)], offsets: [2])
        w.patch(0, to: message)
        // Schema { endianness 0, fields 1 }
        let (schema, sslots) = w.table(scalars: [0: .i16(0)], offsets: [1])
        w.patch(mslots[2]!, to: schema)
        let (fields, fslots) = w.offsetVector(1)
        w.patch(sslots[1]!, to: fields)
        w.patch(fslots[0], to: w.fieldChain(levels: listLevels))
        w.align(8)
        var out: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF]
        withUnsafeBytes(of: UInt32(w.b.count).littleEndian) { out += $0 }
        return out + w.b + [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]
    }
}
