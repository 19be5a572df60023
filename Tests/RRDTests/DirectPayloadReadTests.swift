import FixtureSupport
import IngestCore
import Testing

@testable import RRD

@Suite("StreamDecoder: reading a large payload's rest straight into its storage")
struct DirectPayloadReadTests {
    /// Decodes `bytes` like a reader that reads pieces of `piece` bytes and, whenever at least
    /// `threshold` payload bytes are missing, reads them with `readPayload(limit: piece, ...)`
    /// (handing out at most `grant` bytes per read, 0 every `stallEvery`-th time).
    static func decodeDirect(
        _ bytes: [UInt8], piece: Int, threshold: Int, grant: Int, stallEvery: Int = 0
    ) -> (events: [StreamEvent], directBytes: Int) {
        var decoder = StreamDecoder(source: "mem")
        var events: [StreamEvent] = []
        var i = 0
        var direct = 0
        var reads = 0
        while i < bytes.count {
            if decoder.payloadBytesMissing >= threshold {
                reads += 1
                let stall = stallEvery > 0 && reads % stallEvery == 0
                let n = decoder.readPayload(limit: piece, { events.append($0) }) { (buf) throws(Never) -> Int in
                    let n = stall ? 0 : min(buf.count, grant, bytes.count - i)
                    bytes.withUnsafeBytes { src in buf.baseAddress!.copyMemory(from: src.baseAddress! + i, byteCount: n) }
                    return n
                }
                i += n
                direct += n
                continue
            }
            let j = min(i + piece, bytes.count)
            bytes.withUnsafeBytes { decoder.feed(UnsafeRawBufferPointer(rebasing: $0[i..<j])) { events.append($0) } }
            i = j
        }
        decoder.finish { events.append($0) }
        return (events, direct)
    }

    @Test(
        "every fixture decodes as when fed whole, with payload rests read directly",
        arguments: Fixtures.rrdNames)
    func fixtures(name: String) throws {
        let bytes = try Bytes.fixture(name)
        let reference = decode(bytes)
        for (piece, threshold, grant, stall) in [(64, 32, 64, 0), (500, 1, 37, 3), (4096, 2048, 1 << 20, 2), (7, 1, 3, 0)] {
            let (events, _) = Self.decodeDirect(bytes, piece: piece, threshold: threshold, grant: grant, stallEvery: stall)
            #expect(firstDifference(events, reference) == nil, "\(name), piece \(piece): \(firstDifference(events, reference) ?? "")")
        }
    }

    @Test("a payload read directly is complete and intact; its storage grows only with what arrived")
    func largePayload() throws {
        let payload = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let body = Bytes.ld(1, Bytes.storeId(kind: 1, app: "a", rec: "r")) + Bytes.ld(5, payload)
        let bytes = Bytes.streamHeader() + Bytes.message(kind: 2, body) + Bytes.message(kind: 2, body)
        let (events, direct) = Self.decodeDirect(bytes, piece: 4096, threshold: 2048, grant: 1000)
        #expect(direct > 500_000)
        #expect(events.allSatisfy { $0.error == nil })
        let payloads = events.compactMap { e -> ByteSlice? in
            guard case .arrowMsg(let a)? = e.framed?.message else { return nil }
            return a.payload
        }
        #expect(payloads.count == 2)
        #expect(payloads.allSatisfy { $0.bytes == payload })

        // A lying length: storage stays within what arrived (doubled) plus one read's limit.
        let lying = Bytes.streamHeader() + Bytes.u64(2) + Bytes.u64(1 << 29) + [UInt8](repeating: 1, count: 10_000)
        var decoder = StreamDecoder(source: "mem")
        lying.withUnsafeBytes { decoder.feed(UnsafeRawBufferPointer(rebasing: $0[0..<1028])) { _ in } }
        var fed = 1000
        while fed < 10_000 {
            let n = decoder.readPayload(limit: 512, { _ in }) { (buf) throws(Never) -> Int in
                min(buf.count, 10_000 - fed)
            }
            fed += n
            #expect(decoder.payloadBytesMissing == (1 << 29) - fed)
            #expect(decoder.assemblyAllocated <= max(2 * fed, fed + 512, 1 << 16))
        }
        var events2: [StreamEvent] = []
        decoder.finish { events2.append($0) }
        #expect(events2.first?.error?.code == .truncated)
    }
}
