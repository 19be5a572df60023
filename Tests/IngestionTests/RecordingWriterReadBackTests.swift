import FixtureSupport
import Foundation
import IngestCore
import Ingestion
import RRD
import Testing

/// What a recording holds, per store: its chunk ids in order, and every stream footer's checksum verdict.
private func readBack(_ path: String) throws -> (chunks: [StoreId: [ChunkId]], footers: [Bool], errors: [String]) {
    var reader = try RRDReader(path: path)
    var chunks: [StoreId: [ChunkId]] = [:]
    var footers: [Bool] = []
    var errors: [String] = []
    while let event = reader.next() {
        switch event {
        case .message(let framed):
            if case .arrowMsg(let msg) = framed.message, let id = msg.chunkId { chunks[msg.storeId, default: []].append(id) }
        case .streamFooter(let footer, _): footers.append(footer.crcOK)
        case .error(let e): errors.append(e.description)
        case .streamHeader: break
        }
    }
    return (chunks, footers, errors)
}

@Suite("RRD writer: our merge output read back by our reader, chunk for chunk, footer checksums intact")
struct RecordingWriterReadBackTests {
    static let wellFormed = Fixtures.rrdNames.filter { !$0.hasPrefix("corrupt_") }

    @Test("one fixture merged alone: every store's chunk ids in order, one checked footer", arguments: wellFormed)
    func mergeOne(name: String) throws {
        let input = Fixtures.rrdPath(name)
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("si-merge-\(UUID().uuidString).rrd").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let report = try RecordingRewrite.merge([input], into: try RecordingWriter(path: output))
        let before = try readBack(input)
        let after = try readBack(output)
        #expect(after.errors.isEmpty, "\(after.errors)")
        #expect(after.footers == [true], "one stream, its footer's xxHash32 checked")
        // The same chunks per store, in input order, each once (a merge drops a chunk id written already).
        var expected: [StoreId: [ChunkId]] = [:]
        for (store, ids) in before.chunks {
            var seen = Set<ChunkId>()
            expected[store] = ids.filter { seen.insert($0).inserted }
        }
        #expect(after.chunks == expected)
        #expect(report.chunksWritten == expected.values.reduce(0) { $0 + $1.count })
    }

    @Test("several fixtures merged: each store's chunks in input order across files")
    func mergeSeveral() throws {
        let names = ["scalars_sequence.rrd", "points3d.rrd", "text_logs.rrd", "recording_with_blueprint.rrd"]
        let inputs = names.map(Fixtures.rrdPath)
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("si-merge-\(UUID().uuidString).rrd").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        _ = try RecordingRewrite.merge(inputs, into: try RecordingWriter(path: output))
        var expected: [StoreId: [ChunkId]] = [:]
        for input in inputs {
            for (store, ids) in try readBack(input).chunks {
                for id in ids where !(expected[store] ?? []).contains(id) { expected[store, default: []].append(id) }
            }
        }
        let after = try readBack(output)
        #expect(after.errors.isEmpty && after.footers == [true])
        #expect(after.chunks == expected)
    }
}
