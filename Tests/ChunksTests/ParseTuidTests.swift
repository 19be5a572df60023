@testable import Chunks
import IngestCore
import RRD
import Testing

@Suite("Chunk id parsing")
struct ParseTuidTests {
    private static func parse(_ s: String) -> Tuid? { ChunkDecoder.parseTuid(s) }

    @Test("every prefix form and both cases parse as Tuid(parsing:) does")
    func agreesWithTuidParsing() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let t = Tuid(timeNs: rng.next(), inc: rng.next())
            for s in [t.description, "chunk_" + t.description, "row_" + t.description, t.description.lowercased(), t.description.uppercased()]
            {
                #expect(Self.parse(s) == t, "\(s)")
                #expect(Self.parse(s) == Tuid(parsing: s), "\(s)")
            }
        }
        #expect(Self.parse("chunk_0123456789abcdefFEDCBA9876543210") == Tuid(timeNs: 0x0123_4567_89ab_cdef, inc: 0xFEDC_BA98_7654_3210))
        #expect(Self.parse(String(repeating: "0", count: 32)) == Tuid(timeNs: 0, inc: 0))
        #expect(Self.parse(String(repeating: "f", count: 32)) == Tuid(timeNs: .max, inc: .max))
    }

    @Test("any byte that is not a hex digit, at any position, is refused")
    func rejectsNonHex() {
        let valid = Array("0123456789abcdefABCDEF0123456789".utf8)
        let hexDigits = Set("0123456789abcdefABCDEF".utf8)
        for position in valid.indices {
            for byte in 0...255 where !hexDigits.contains(UInt8(byte)) {
                var bytes = valid
                bytes[position] = UInt8(byte)
                let parsed = bytes.withUnsafeBytes { ChunkDecoder.parseTuid($0) }
                #expect(parsed == nil, "byte \(byte) at \(position)")
            }
        }
        #expect(Self.parse("0123") == nil)
        #expect(Self.parse("chunk_0123456789abcdef0123456789abcde") == nil)
    }
}
