@testable import ArrowIPC
import IngestCore
import Testing

@Suite("Record batch retained bytes")
struct RetainedBytesTests {
    @Test("the count the reader records equals the walk over the arrays", arguments: GoldenType.allFiles.map(\.1))
    func recordedEqualsWalked(_ file: String) throws {
        let bytes = try goldenBytes(file)
        let batch = try ArrowStreamReader().read(ByteStorage(copying: bytes))
        #expect(batch.retainedByteCount == batch.walkedRetainedByteCount)
        let compressed = file.contains(".lz4.") || file.contains(".zstd.")
        let hasDictionary = batch.fields.contains { $0.dictionary != nil }
        // Recorded (not walked) exactly when no dictionary batch came with the record batch.
        #expect((batch.knownRetainedByteCount >= 0) == !hasDictionary)
        if !compressed && !hasDictionary {
            // Every array points into the stream itself.
            #expect(batch.retainedByteCount == bytes.count)
        }
    }
}
