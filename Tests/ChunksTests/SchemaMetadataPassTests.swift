import ArrowIPC
import Chunks
import FixtureSupport
import IngestCore
import RRD
import Testing

@Suite("Schema metadata lent during the read")
struct SchemaMetadataPassTests {
    static let validFixtures = Fixtures.expectedFiles.filter { $0["expect_valid"] as! Bool }.map {
        $0["file"] as! String
    }

    @Test("read(_:schemaMetadata:) lends exactly the batch's metadata entries, in order", arguments: validFixtures)
    func sameEntries(_ name: String) throws {
        let reader = ArrowStreamReader()
        for msg in try DecodedFile(name).messages {
            let storage = ArrowStorage(copying: try msg.decompressedPayload().bytes)
            var lent: [[UInt8]] = []
            let batch = try reader.read(storage) { key, value in
                lent.append(Array(key))
                lent.append(Array(value))
            }
            var stored: [[UInt8]] = []
            batch.forEachSchemaMetadataEntry { key, value in
                stored.append(Array(key))
                stored.append(Array(value))
            }
            #expect(lent == stored)
            #expect(lent.count == 2 * batch.schemaMetadata.count)
            #expect(!lent.isEmpty)
        }
    }
}
