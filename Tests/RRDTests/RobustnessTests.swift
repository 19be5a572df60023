import ArrowIPC
import FixtureSupport
import Foundation
import IngestCore
import Ingestion
import RRD
import Testing

/// Seeded random damage: whatever the bytes, decoding ends with well-ordered events and never
/// traps (a trap would end the test process).
@Suite("Robustness under random damage")
struct RobustnessTests {
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
    }

    @Test(
        "flipped bytes anywhere in a file: ordered events, at most one framing error, payload checks never trap",
        arguments: [
            "scalars_sequence.rrd", "recording_with_blueprint.rrd", "uncompressed.rrd", "two_recordings_concat.rrd",
        ])
    func randomFlips(name: String) throws {
        let original = try Bytes.fixture(name)
        var g = Generator(state: UInt64(original.count))
        for round in 0..<300 {
            var bytes = original
            for _ in 0..<(1 + Int(g.next() % 4)) {
                bytes[Int(g.next() % UInt64(bytes.count))] ^= UInt8(1 + g.next() % 255)
            }
            let events = decode(bytes, options: ReaderOptions(maxMessageSize: 1 << 20))
            var last: UInt64 = 0
            var framingErrors = 0
            for e in events {
                switch e {
                case .streamHeader(_, let o), .streamFooter(_, let o):
                    #expect(o >= last, "\(name) round \(round)")
                    last = o
                case .message(let m):
                    #expect(m.offset >= last, "\(name) round \(round)")
                    last = m.offset
                    if case .arrowMsg(let a) = m.message {
                        _ = try? a.checkedIPCPayload(source: "mem", offset: m.offset, maxSize: 1 << 24)
                    }
                case .error(let err):
                    #expect(err.offset <= UInt64(bytes.count), "\(name) round \(round)")
                    if err.code != .badProtobuf && err.code != .checksumMismatch && err.code != .badFooter {
                        framingErrors += 1
                    }
                }
            }
            #expect(framingErrors <= 1, "\(name) round \(round): \(framingErrors) framing errors")
        }
    }

    @Test("flipped bytes inside decompressed Arrow IPC streams: the framing walk throws or succeeds, never traps")
    func ipcFlips() throws {
        var g = Generator(state: 7)
        var rejected = 0
        for case .message(let m) in try readEvents(Fixtures.rrdPath("points3d.rrd")) {
            guard case .arrowMsg(let a) = m.message else { continue }
            let ipc = try a.checkedIPCPayload(source: "mem", offset: m.offset).ipc.bytes
            for _ in 0..<500 {
                var bytes = ipc
                // Damage the framing-relevant start of a message more often than the body.
                let at = g.next() % 2 == 0 ? Int(g.next() % 64) : Int(g.next() % UInt64(bytes.count))
                bytes[at] ^= UInt8(1 + g.next() % 255)
                do {
                    try ByteSlice(copying: bytes).withUnsafeBytes { (b) throws(ArrowError) in _ = try IPCFraming.check(b)
                    }
                } catch {
                    rejected += 1
                    // Framing damage only (the walk decodes no array data).
                    #expect([.truncated, .malformed, .unsupported].contains(error.code))
                    #expect(error.offset <= bytes.count)
                }
            }
        }
        #expect(rejected > 0)
    }
}
