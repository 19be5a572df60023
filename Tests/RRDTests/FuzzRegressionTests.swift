import FixtureSupport
import Foundation
import IngestCore
import Ingestion
import RRD
import Testing

/// The inputs kept in `Fixtures/fuzz/<target>/` (findings and notable corpus entries of `scripts/fuzz.sh`), replayed
/// with the checks of the `FuzzStream` and `FuzzCompression` harnesses of `Tests/Fuzz`.
@Suite("Fuzz regression inputs: stream layer and compression")
struct FuzzRegressionTests {
    static func inputs(_ target: String) -> [String] {
        let dir = Fixtures.root.appendingPathComponent("fuzz/\(target)").path
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted().map { "\(dir)/\($0)" }
    }

    @Test("FuzzStream inputs: same events in one piece and in pieces, payload checks throw or pass", arguments: inputs("FuzzStream"))
    func stream(path: String) throws {
        let bytes = try Fixtures.bytes(URL(fileURLWithPath: path))
        let options = ReaderOptions(maxMessageSize: 1 << 24)
        let whole = Self.decode(bytes, piece: bytes.count, options: options)
        let pieces = Self.decode(bytes, piece: 7, options: options)
        #expect(whole == pieces)
        #expect(!whole.isEmpty)
        for case .message(let framed) in whole {
            guard case .arrowMsg(let msg) = framed.message else { continue }
            _ = try? msg.checkedIPCPayload(source: "fuzz", offset: framed.offset, maxSize: 1 << 24)
        }
    }

    @Test("FuzzCompression inputs: LZ4 block, ArrowMsg payload or zstd input, as byte 0 says", arguments: inputs("FuzzCompression"))
    func compression(path: String) throws {
        let bytes = try Fixtures.bytes(URL(fileURLWithPath: path))
        try #require(bytes.count >= 4)
        let declared = Int(bytes[1]) | Int(bytes[2]) << 8 | Int(bytes[3]) << 16
        let rest = Array(bytes[4...])
        switch bytes[0] % 3 {
        case 0:
            var out = [UInt8](repeating: 0, count: declared)
            let n = rest.withUnsafeBytes { src in out.withUnsafeMutableBytes { LZ4Block.decompress(src, into: $0) } }
            #expect(n == nil || n == declared)
        case 1:
            let msg = ArrowMsg(
                storeId: StoreId(kind: .recording, applicationId: "a", recordingId: "r"),
                compression: PayloadCompression(rawValue: 2), uncompressedSize: UInt64(declared), encoding: 1,
                payload: ByteSlice(copying: rest), chunkId: nil, isStatic: nil)
            if let out = try? msg.decompressedPayload(maxSize: 1 << 20) { #expect(out.count == declared) }
        default:
            let name = "fuzz-replay-\(getpid())-\((path as NSString).lastPathComponent).rrd.zst"
            let file = FileManager.default.temporaryDirectory.appendingPathComponent(name)
            try Data(rest).write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            var reader = try RRDReader(path: file.path, options: ReaderOptions(maxMessageSize: 1 << 24, readBlockSize: 4096))
            var events = 0
            while reader.next() != nil { events += 1 }
            #expect(events > 0)
        }
    }

    static func decode(_ bytes: [UInt8], piece: Int, options: ReaderOptions) -> [StreamEvent] {
        var decoder = StreamDecoder(source: "fuzz", options: options)
        var events: [StreamEvent] = []
        bytes.withUnsafeBytes { b in
            var i = 0
            while i < b.count {
                let end = Swift.min(b.count, i + Swift.max(piece, 1))
                decoder.feed(UnsafeRawBufferPointer(rebasing: b[i..<end])) { events.append($0) }
                i = end
            }
        }
        decoder.finish { events.append($0) }
        return events
    }
}
