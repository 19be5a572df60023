import FixtureSupport
import IngestCore
import Testing

@testable import ArrowIPC

/// Streams the pyarrow goldens do not cover, built with ``IPCBuilder`` on golden schemas.
@Suite("Hand-built IPC streams")
struct HandBuiltStreamTests {
    static func dictionaryStream(_ dictionaries: [(delta: Bool, values: [String])], indices: [Int32?]) throws -> [UInt8]
    {
        let golden = try goldenBytes("dictionary_int32_string.arrows")
        let schema = IPCBuilder.schemaMessage(of: golden)
        let id = try #require(try ArrowStreamReader().read(ByteStorage(copying: golden)).schema.fields[0].dictionary)
            .id
        var stream = schema
        for d in dictionaries {
            let (offsets, data) = IPCBuilder.utf8(d.values)
            stream += IPCBuilder.dictionaryBatch(
                id: id, isDelta: d.delta, length: d.values.count, nodes: [(d.values.count, 0)],
                buffers: [[], offsets, data])
        }
        var validity: UInt8 = 0
        for (i, x) in indices.enumerated() where x != nil { validity |= 1 << UInt8(i) }
        let nulls = indices.filter { $0 == nil }.count
        stream += IPCBuilder.recordBatch(
            length: indices.count, nodes: [(indices.count, nulls)],
            buffers: [[validity], IPCBuilder.le(indices.map { $0 ?? 0 })])
        return stream + IPCBuilder.eos
    }

    static func render(_ bytes: [UInt8]) throws -> [String] {
        let batch = try ArrowStreamReader().read(ByteStorage(copying: bytes), validateFully: true)
        return (0..<batch.length).map { batch.columns[0].jsonValue(at: $0) }
    }

    @Test("a delta DictionaryBatch extends the dictionary")
    func dictionaryDelta() throws {
        let bytes = try Self.dictionaryStream([(false, ["zero", "one"]), (true, ["two"])], indices: [2, nil, 0])
        #expect(try Self.render(bytes) == ["\"two\"", "null", "\"zero\""])
    }

    @Test("a non-delta DictionaryBatch replaces the dictionary")
    func dictionaryReplacement() throws {
        let bytes = try Self.dictionaryStream([(false, ["a"]), (false, ["b", "c"])], indices: [1, 0])
        #expect(try Self.render(bytes) == ["\"c\"", "\"b\""])
    }

    @Test("a dictionary index outside the dictionary is an error naming the column")
    func dictionaryIndexOutOfRange() throws {
        let bytes = try Self.dictionaryStream([(false, ["zero", "one"])], indices: [0, 2])
        let error = try #require(throws: ArrowError.self) { try Self.render(bytes) }
        #expect(error.code == .invalidData)
        #expect(error.path == "col")
        #expect(error.message.contains("dictionary index 2"))
    }

    @Test("a record batch without its DictionaryBatch is an error")
    func missingDictionary() throws {
        let bytes = try Self.dictionaryStream([], indices: [0])
        #expect(throws: ArrowError.self) { try Self.render(bytes) }
    }

    static func listViewStream(offsets: [Int32], sizes: [Int32]) throws -> [UInt8] {
        let schema = try IPCBuilder.patchFirstFieldType(
            IPCBuilder.schemaMessage(of: try goldenBytes("list_int32.arrows")), tag: 25)
        return schema
            + IPCBuilder.recordBatch(
                length: 3, nodes: [(3, 1), (3, 0)],
                buffers: [[0b101], IPCBuilder.le(offsets), IPCBuilder.le(sizes), [], IPCBuilder.le([Int32(7), 8, 9])])
            + IPCBuilder.eos
    }

    @Test("ListView: out-of-order and overlapping views")
    func listView() throws {
        let bytes = try Self.listViewStream(offsets: [0, 0, 1], sizes: [2, 0, 2])
        let batch = try ArrowStreamReader().read(ByteStorage(copying: bytes))
        #expect(batch.schema.fields[0].typeDescription == "list_view<item: int32>")
        #expect(try Self.render(bytes) == ["[7, 8]", "null", "[8, 9]"])
    }

    @Test("ListView: a view past the child is an error")
    func listViewOutOfRange() throws {
        let bytes = try Self.listViewStream(offsets: [0, 0, 1], sizes: [2, 0, 3])
        let error = try #require(throws: ArrowError.self) { try Self.render(bytes) }
        #expect(error.message.contains("list view 2"))
    }

    @Test("nodes and buffers left over after the schema's fields are an error")
    func leftoverBuffers() throws {
        let schema = IPCBuilder.schemaMessage(of: try goldenBytes("int32.arrows"))
        let bytes =
            schema
            + IPCBuilder.recordBatch(length: 1, nodes: [(1, 0)], buffers: [[], IPCBuilder.le([Int32(5)]), []])
            + IPCBuilder.eos
        let error = try #require(throws: ArrowError.self) { try Self.render(bytes) }
        #expect(error.message.contains("3 buffers"))
        let ok = schema + IPCBuilder.recordBatch(length: 1, nodes: [(1, 0)], buffers: [[], IPCBuilder.le([Int32(5)])])
        #expect(try Self.render(ok + IPCBuilder.eos) == ["5"])
    }

    @Test("a buffer shorter than its values is an error")
    func shortValues() throws {
        let schema = IPCBuilder.schemaMessage(of: try goldenBytes("int64.arrows"))
        let bytes =
            schema + IPCBuilder.recordBatch(length: 2, nodes: [(2, 0)], buffers: [[], IPCBuilder.le([Int64(5)])])
        let error = try #require(throws: ArrowError.self) { try Self.render(bytes + IPCBuilder.eos) }
        #expect(error.message.contains("values buffer has 8 bytes, needs at least 16"))
    }

    @Test("an error inside a nested array names the full column path")
    func nestedPath() throws {
        let schema = IPCBuilder.schemaMessage(of: try goldenBytes("list_int32.arrows"))
        let bytes =
            schema
            + IPCBuilder.recordBatch(
                length: 3, nodes: [(3, 0), (3, 0)],
                buffers: [[], IPCBuilder.le([Int32(0), 1, 2, 3]), [], IPCBuilder.le([Int32(7), 8])])
            + IPCBuilder.eos
        let error = try #require(throws: ArrowError.self) { try Self.render(bytes) }
        #expect(error.path == "col.item")
        #expect(error.description.contains("column col.item"))
    }

    @Test("full validation rejects messages or bytes after the record batch")
    func trailingData() throws {
        let golden = try goldenBytes("int32.arrows")
        #expect(throws: Never.self) { try ArrowStreamReader().read(ByteStorage(copying: golden), validateFully: true) }
        let withoutEOS = Array(golden.dropLast(8))
        #expect(throws: Never.self) {
            try ArrowStreamReader().read(ByteStorage(copying: withoutEOS), validateFully: true)
        }
        let batch = Array(withoutEOS[IPCBuilder.schemaMessage(of: golden).count...])
        let error = try #require(throws: ArrowError.self) {
            try ArrowStreamReader().read(
                ByteStorage(copying: withoutEOS + batch + IPCBuilder.eos), validateFully: true)
        }
        #expect(error.message.contains("after the record batch"))
        #expect(throws: ArrowError.self) {
            try ArrowStreamReader().read(ByteStorage(copying: golden + [0, 0, 0, 0, 0, 0, 0, 0]), validateFully: true)
        }
        // Without full validation the first record batch is returned, as the reference reader does.
        #expect(throws: Never.self) { try ArrowStreamReader().read(ByteStorage(copying: withoutEOS + batch)) }
    }
}
