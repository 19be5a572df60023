import Chunks
import FixtureSupport
import RRD
import Testing

@Suite("Chunk decoder caps")
struct ChunkCapTests {
    @Test("an ArrowMsg declaring more than maxPayloadSize uncompressed bytes is a chunk error naming the cap")
    func payloadCap() throws {
        var reader = try RRDReader(path: Fixtures.rrdPath("scalars_sequence.rrd"))
        var msg: ArrowMsg?
        while msg == nil, let event = reader.next() {
            if case .message(let m) = event, case .arrowMsg(let a) = m.message, a.compression.rawValue == 2 { msg = a }
        }
        let arrow = try #require(msg)
        let decoder = ChunkDecoder()
        #expect(try decoder.decode(arrow).numRows > 0)
        decoder.maxPayloadSize = arrow.uncompressedSize - 1
        do {
            _ = try decoder.decode(arrow)
            Issue.record("decoded above the cap")
        } catch {
            #expect(error.message.contains("above the cap of \(arrow.uncompressedSize - 1)"), "\(error)")
        }
    }
}
