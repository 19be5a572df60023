import ArrowIPC
import IngestCore
import Testing

@Suite("Byte accessors on dictionary-encoded arrays")
struct DictionaryAccessTests {
    /// A dictionary-encoded string column's slots hold indices; the byte accessors must follow them
    /// into the dictionary instead of reading the indices as string offsets (which read outside the
    /// buffer: found by the Arrow IPC fuzz target's differential check).
    @Test("string(at:) and bytes(at:) resolve through the dictionary", arguments: [
        "dictionary_int32_string.arrows", "dictionary_uint8_string.arrows",
    ])
    func resolvesThroughDictionary(_ file: String) throws {
        let batch = try ArrowStreamReader().read(ByteStorage(copying: try goldenBytes(file)))
        let column = batch.columns[0]
        #expect(column.dictionaryIndexType != nil)
        var checked = 0
        for i in 0..<column.length {
            if column.isNull(i) {
                #expect(column.bytes(at: i).isEmpty)
                continue
            }
            let (segment, slot) = try #require(column.dictionaryValue(index: column.dictionaryIndex(at: i)))
            let expected = try #require(segment.string(at: slot))
            #expect(column.string(at: i) == expected)
            #expect(column.bytes(at: i) == Array(expected.utf8))
            // The JSON rendering (which resolves the dictionary itself) agrees.
            #expect(column.jsonValue(at: i) == "\"\(expected)\"")
            checked += 1
        }
        #expect(checked > 0)
    }
}
