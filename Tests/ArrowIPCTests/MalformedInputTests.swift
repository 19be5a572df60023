import ArrowIPC
import FixtureSupport
import Foundation
import IngestCore
import Testing

/// Decoding damaged streams must throw or succeed, never trap, and what succeeds must be renderable.
@Suite("Arrow reader on damaged input")
struct MalformedInputTests {
    /// Decodes `bytes` and, when that works, touches every value (the accessors must stay in bounds).
    static func decodeAndTouch(_ bytes: [UInt8]) -> Bool {
        do {
            let batch = try ArrowStreamReader().read(ByteStorage(copying: bytes), validateFully: true)
            for c in batch.columns {
                for i in 0..<c.length { _ = c.jsonValue(at: i) }
            }
            return true
        } catch {
            #expect(!error.description.isEmpty)
            return false
        }
    }

    static let uncompressed = GoldenType.allFiles.map(\.1).filter { !$0.contains(".lz4.") && !$0.contains(".zstd.") }
    static let compressed = GoldenType.allFiles.map(\.1).filter { $0.contains(".lz4.") || $0.contains(".zstd.") }

    @Test("every truncation throws", arguments: uncompressed + compressed)
    func truncations(_ file: String) throws {
        let bytes = try goldenBytes(file)
        // A prefix that still holds the schema, dictionaries and the batch but not the EOS marker is
        // still a complete stream; anything shorter must fail.
        for n in 0..<bytes.count {
            let ok = Self.decodeAndTouch(Array(bytes[..<n]))
            if ok { #expect(n >= bytes.count - 8, "\(file) truncated to \(n) of \(bytes.count) bytes decoded") }
        }
    }

    @Test("bit flips never trap", arguments: uncompressed + compressed)
    func bitFlips(_ file: String) throws {
        let bytes = try goldenBytes(file)
        for i in 0..<bytes.count {
            for mask: UInt8 in file.contains(".arrows") && !file.contains(".lz4.") && !file.contains(".zstd.")
                ? [0xFF, 0x01] : [0x80]
            {
                var b = bytes
                b[i] ^= mask
                _ = Self.decodeAndTouch(b)
            }
        }
    }

    @Test("errors name the column and the problem")
    func columnPath() throws {
        // Corrupt the last offset of list_int32 so it exceeds its child: find the offsets buffer by value.
        var bytes = try goldenBytes("list_int32.arrows")
        let batch = try ArrowStreamReader().read(ByteStorage(copying: bytes))
        #expect(batch.columns[0].valueRange(at: 0) == 0..<2)
        // Offsets [0, 2, 2, 2] as int32 little-endian.
        let pattern: [UInt8] = [0, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0]
        let at = try #require(
            (0...(bytes.count - pattern.count)).first { Array(bytes[$0..<($0 + pattern.count)]) == pattern })
        bytes[at + 12] = 99
        let error = try #require(throws: ArrowError.self) { try ArrowStreamReader().read(ByteStorage(copying: bytes)) }
        #expect(error.code == .invalidData)
        #expect(error.path == "col")
        #expect(error.message.contains("last offset 99"))
    }

    @Test("empty input and EOS-only input are errors")
    func emptyStreams() {
        #expect(throws: ArrowError.self) { try ArrowStreamReader().read(ByteStorage(copying: [])) }
        #expect(throws: ArrowError.self) {
            try ArrowStreamReader().read(ByteStorage(copying: [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]))
        }
    }

    @Test("schema cache returns the same schema id for identical schema bytes")
    func schemaCache() throws {
        let reader = ArrowStreamReader()
        let a = try reader.read(ByteStorage(copying: try goldenBytes("int64.arrows")))
        let b = try reader.read(ByteStorage(copying: try goldenBytes("int64.lz4.arrows")))
        let c = try reader.read(ByteStorage(copying: try goldenBytes("string.arrows")))
        #expect(a.schemaID == b.schemaID)
        #expect(a.schemaID != c.schemaID)
    }
}
