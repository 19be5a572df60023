import ArrowIPC
import Chunks
import FixtureSupport
import Foundation
import IngestCore
import RRD
import Testing

@Suite("Chunks decoded from the RRD fixtures match EXPECTED.json")
struct ChunkFixtureTests {
    @Test(
        "ids, entity paths, rows, static flags, timelines, columns, types and sample values",
        arguments: chunkFixtureNames)
    func fixture(_ name: String) throws {
        let expectation = Fixtures.expectation(name)
        let expectedChunks = expectation["chunks"] as! [[String: Any]]
        let file = try DecodedFile(name)
        let chunks = file.chunks
        try #require(chunks.count == expectedChunks.count, "\(name): \(file.chunkErrors)")
        if expectation["expect_valid"] as! Bool {
            #expect(file.chunkErrors.isEmpty)
        }
        for (chunk, exp) in zip(chunks, expectedChunks) {
            #expect(chunk.id.description == exp["chunk_id"] as! String)
            #expect(chunk.entityPath == exp["entity_path"] as! String)
            #expect(chunk.numRows == exp["num_rows"] as! Int)
            #expect(chunk.isStatic == exp["is_static"] as! Bool)
            #expect(!chunk.wasResorted)
            #expect(chunk.warnings.isEmpty, "\(chunk.warnings)")

            let expTimelines = exp["timelines"] as! [String: [String: Any]]
            #expect(Set(chunk.timelines.map(\.name)) == Set(expTimelines.keys))
            for t in chunk.timelines {
                let e = try #require(expTimelines[t.name])
                #expect(t.arrowType == e["arrow_type"] as! String)
                #expect(t.min == (e["min"] as! NSNumber).int64Value)
                #expect(t.max == (e["max"] as! NSNumber).int64Value)
                #expect(t.isSorted == e["sorted"] as! Bool)
            }

            let columns = exp["columns"] as! [[String: Any]]
            let fields = chunk.recordBatch.schema.fields
            #expect(fields.map(\.name) == columns.map { $0["name"] as! String })
            #expect(fields.map(\.typeDescription) == columns.map { $0["arrow_type"] as! String })
            for (i, col) in columns.enumerated() where i < fields.count {
                let array = chunk.recordBatch.columns[i]
                #expect(fields[i].nullable == col["nullable"] as! Bool)
                #expect(array.nullCount == col["null_count"] as! Int)
                var text = "["
                for r in 0..<array.length {
                    if r > 0 { text += ", " }
                    if case .fixedSizeBinary(16) = array.type, col["kind"] as? String == "control" {
                        text += "\"" + chunk.rowIds[r].description + "\""
                    } else {
                        array.appendJSON(at: r, to: &text, options: .integers)
                    }
                }
                text += "]"
                let mismatch = matchesExpected(
                    try parseJSONValue(text), col["values"]!, path: "\(name) \(chunk.entityPath) \(col["name"]!)")
                #expect(mismatch == nil, "\(mismatch ?? "")")
                if col["kind"] as? String == "data" {
                    let c = try #require(chunk.component(named: col["name"] as! String))
                    #expect(c.archetype == col["archetype"] as? String)
                    #expect(c.component == (col["component"] as? String ?? c.name))
                    #expect(c.componentType == col["component_type"] as? String)
                    #expect(c.arrowType == col["arrow_type"] as! String)
                    #expect((0..<chunk.numRows).filter { c.isNull($0) }.count == col["null_count"] as! Int)
                }
            }
            let lines = chunk.summaryLines()
            #expect(lines.count == 1 + chunk.timelines.count + chunk.components.count)
            #expect(lines[0].hasPrefix(chunk.entityPath + " " + chunk.id.description))
        }
    }

    @Test("a corrupt LZ4 payload is a chunk error, the next chunk still decodes")
    func corruptLZ4() throws {
        let file = try DecodedFile("corrupt_lz4_flipped.rrd")
        #expect(file.chunkErrors.count == 1)
        #expect(file.chunks.count == 1)
        #expect(file.chunkErrors.first?.message.contains("LZ4") == true)
    }

    @Test("null cells of a compacted chunk are kept")
    func nullCells() throws {
        let file = try DecodedFile("compacted_with_nulls.rrd")
        let chunk = try #require(file.chunks.first)
        let labels = try #require(chunk.component(named: "Points3D:labels"))
        let nulls = (0..<chunk.numRows).filter { labels.isNull($0) }
        #expect(nulls.count == 4)
        #expect(labels.jsonValue(at: nulls[0]) == "null")
        #expect(labels.instanceCount(nulls[0]) == 0)
    }

    @Test("cells render as pyarrow's to_pylist JSON")
    func cellJSON() throws {
        let file = try DecodedFile("points3d.rrd")
        let chunk = try #require(
            file.chunks.first { $0.component(named: "Points3D:positions") != nil && $0.numRows == 1 })
        let positions = try #require(chunk.component(named: "Points3D:positions"))
        #expect(positions.jsonValue(at: 0) == "[[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]")
        let labels = try #require(chunk.component(named: "Points3D:labels"))
        #expect(labels.jsonValue(at: 0) == "[\"origin\", \"one\"]")
    }
}

@Suite("Chunk decoding on IPC bytes")
struct ChunkIPCTests {
    /// The decompressed IPC stream of the first chunk of scalars_sequence.rrd.
    static func scalarsIPC() throws -> [UInt8] {
        let msg = try #require(try DecodedFile("scalars_sequence.rrd").messages.first)
        return try msg.decompressedPayload().bytes
    }

    @Test("rows not sorted by RowId are sorted, with every column following the permutation")
    func resort() throws {
        var ipc = try Self.scalarsIPC()
        let sorted = try ChunkDecoder().decode(ipc: ByteStorage(copying: ipc))
        #expect(!sorted.wasResorted)
        // Swap the 16-byte row ids of rows 0 and 1 inside the body.
        func be(_ r: RowId) -> [UInt8] {
            (0..<8).map { UInt8(truncatingIfNeeded: r.tuid.timeNs >> (56 - 8 * UInt64($0))) }
                + (0..<8).map { UInt8(truncatingIfNeeded: r.tuid.inc >> (56 - 8 * UInt64($0))) }
        }
        let r0 = be(sorted.rowIds[0])
        let r1 = be(sorted.rowIds[1])
        let at = try #require((0...(ipc.count - 32)).first { Array(ipc[$0..<($0 + 32)]) == r0 + r1 })
        ipc.replaceSubrange(at..<(at + 32), with: r1 + r0)
        let chunk = try ChunkDecoder().decode(ipc: ByteStorage(copying: ipc))
        #expect(chunk.wasResorted)
        #expect(chunk.rowIds == sorted.rowIds)
        let frame = try #require(chunk.timeline(named: "frame"))
        #expect(frame.time(at: 0) == 1)
        #expect(frame.time(at: 1) == 0)
        #expect(frame.time(at: 2) == 2)
        #expect(!frame.isSorted)
        #expect(frame.range == 0...59)
        let scalars = try #require(chunk.component(named: "Scalars:scalars"))
        let original = try #require(sorted.component(named: "Scalars:scalars"))
        #expect(scalars.jsonValue(at: 0) == original.jsonValue(at: 1))
        #expect(scalars.jsonValue(at: 1) == original.jsonValue(at: 0))
    }

    @Test("truncated chunk IPC streams throw instead of trapping")
    func truncations() throws {
        let ipc = try Self.scalarsIPC()
        let decoder = ChunkDecoder()
        for n in stride(from: 0, to: ipc.count - 8, by: 7) {
            #expect(throws: ChunkError.self) { try decoder.decode(ipc: ByteStorage(copying: Array(ipc[..<n]))) }
        }
    }

    static let validFixtures = Fixtures.expectedFiles.filter { $0["expect_valid"] as! Bool }.map {
        $0["file"] as! String
    }

    @Test("bit flips in chunk IPC streams never trap", arguments: validFixtures)
    func bitFlips(_ name: String) throws {
        let decoder = ChunkDecoder()
        decoder.validateFully = true
        // The first chunk of every file, and every chunk's IPC for files with few chunks.
        for msg in try DecodedFile(name).messages.prefix(3) {
            let ipc = try msg.decompressedPayload().bytes
            for i in stride(from: 0, to: ipc.count, by: 3) {
                var b = ipc
                b[i] ^= 0xFF
                if let chunk = try? decoder.decode(ipc: ByteStorage(copying: b)) {
                    for c in chunk.components { for r in 0..<chunk.numRows { _ = c.jsonValue(at: r) } }
                    for t in chunk.timelines { for r in 0..<chunk.numRows { _ = t.time(at: r) } }
                }
            }
        }
    }

    @Test("entity paths keep their escapes and expose unescaped parts")
    func entityPaths() {
        let p = EntityPath(escaped: "/a\\ b/x\\/y/ü")
        #expect(p.parts == ["a b", "x/y", "ü"])
        #expect(EntityPath(parts: ["a b", "x/y", "ü"]).escaped == "/a\\ b/x\\/y/ü")
        #expect(EntityPath(escaped: "/").parts == [])
        #expect(EntityPath(parts: []).escaped == "/")
    }
}
