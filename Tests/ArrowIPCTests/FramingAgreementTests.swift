import ArrowIPC
import FixtureSupport
import IngestCore
import Foundation
import RRD
import Testing

/// `ingest print`/`stats` judge a chunk by ``IPCFraming/check(_:)``, `ingest verify` (and the engine) by
/// ``ArrowStreamReader``. Over damaged copies of real payloads (every recording fixture's chunks, every
/// pyarrow golden stream): whenever the fully validating reader accepts a stream the walk accepts it
/// too, with the same row count; a stream the walk rejects the reader rejects too.
@Suite("IPC framing walk and full reader agree on damaged payloads")
struct FramingAgreementTests {

    struct Tally: CustomStringConvertible {
        var variants = 0
        var bothAccept = 0
        var bothReject = 0
        /// The walk accepts, the reader rejects: damage inside the schema or the array data, which
        /// the walk does not decode.
        var onlyWalkAccepts = 0
        var description: String {
            "\(variants) variants: both accept \(bothAccept), both reject \(bothReject), "
                + "only the walk accepts \(onlyWalkAccepts)"
        }
    }

    /// Judges `bytes` both ways and checks the agreement; `context` names the variant in failures.
    static func judge(
        _ bytes: [UInt8], reader: ArrowStreamReader, _ context: @autoclosure () -> String, tally: inout Tally
    ) {
        tally.variants += 1
        var walked: [IPCFraming.Entry]?
        var walkError: ArrowError?
        do {
            walked = try ByteStorage(copying: bytes).withUnsafeBytes { (b) throws(ArrowError) in
                try IPCFraming.check(b)
            }
        } catch {
            walkError = error
        }
        var rows: Int?
        do {
            rows = try reader.read(ByteStorage(copying: bytes), validateFully: true).length
        } catch {
            #expect(!error.message.isEmpty)
        }
        if let walkError {
            #expect(walkError.offset >= 0 && walkError.offset <= bytes.count, "\(context()): \(walkError)")
            #expect([.truncated, .malformed, .unsupported].contains(walkError.code), "\(context()): \(walkError)")
        }
        switch (walked, rows) {
        case (let entries?, let rows?):
            tally.bothAccept += 1
            #expect(entries.last?.headerType == 3, "\(context())")
            #expect(entries.last?.rowCount == Int64(rows), "\(context()): walk and reader disagree on the row count")
        case (nil, let rows?):
            Issue.record("\(context()): the reader accepts \(rows) rows, the walk rejects: \(walkError!)")
        case (_?, nil):
            tally.onlyWalkAccepts += 1
        case (nil, nil):
            tally.bothReject += 1
        }
    }

    /// Truncations and bit flips of `original`: every prefix when `everyPrefix`, else the prefixes
    /// that end near a message boundary (found by walking the intact stream) or in the first
    /// `headBytes` bytes, and `samples` random ones; flips of each of the first `headBytes` bytes
    /// (the schema message's framing and flatbuffer), of every message prefix and of the last 8
    /// bytes, and `samples` random flips anywhere.
    static func variants(
        of original: [UInt8], everyPrefix: Bool, headBytes: Int, samples: Int, rng: inout SplitMix64,
        _ body: ([UInt8], String) -> Void
    ) {
        let n = original.count
        let entries =
            (try? ByteStorage(copying: original).withUnsafeBytes { (b) throws(ArrowError) in
                try IPCFraming.check(b)
            }) ?? []
        let boundaries = entries.map(\.offset) + [n]
        var cuts: [Int]
        if everyPrefix {
            cuts = Array(0..<n)
        } else {
            cuts = Array(0..<Swift.min(headBytes, n)) + (0..<samples).map { _ in rng.below(n) }
            for b in boundaries { cuts += (Swift.max(0, b - 9)...Swift.min(n - 1, b + 9)) }
        }
        for cut in Set(cuts).sorted() { body(Array(original[..<cut]), "truncated to \(cut) of \(n)") }
        var flips: [(Int, UInt8)] = []
        for i in 0..<Swift.min(headBytes, n) { flips.append((i, UInt8(1) << UInt8(rng.below(8)))) }
        for _ in 0..<samples { flips.append((rng.below(n), UInt8(1 + rng.below(255)))) }
        for e in entries { for k in 0..<8 { flips.append((e.offset + k, UInt8(1) << UInt8(rng.below(8)))) } }
        for k in Swift.max(0, n - 8)..<n { flips.append((k, 0xFF)) }
        for (at, mask) in flips {
            var b = original
            b[at] ^= mask
            body(b, "byte \(at) ^= \(mask) of \(n)")
        }
    }

    /// A reader for damaged inputs: a flipped length prefix of a compressed buffer can declare up to
    /// the default cap of decompressed bytes, which the reader allocates (and zeroes) before it finds
    /// the data short; the streams here are a few KiB.
    static func reader() -> ArrowStreamReader {
        let reader = ArrowStreamReader()
        reader.maxDecompressedBodySize = 1 << 20
        return reader
    }

    /// The decompressed payloads of every recording fixture's `ArrowMsg`s (those that decompress).
    static func fixturePayloads(_ name: String) throws -> [[UInt8]] {
        var reader = try RRDReader(path: Fixtures.rrdPath(name))
        var out: [[UInt8]] = []
        while let event = reader.next() {
            guard case .message(let m) = event, case .arrowMsg(let a) = m.message,
                let ipc = try? a.decompressedPayload()
            else { continue }
            out.append(ipc.bytes)
        }
        return out
    }

    @Test("recording fixtures: damaged chunk payloads", arguments: Fixtures.rrdNames)
    func recordings(name: String) throws {
        let payloads = try Self.fixturePayloads(name)
        // Recordings without chunks (empty, or damaged before the first) have nothing to damage.
        guard !payloads.isEmpty else { return }
        var rng = SplitMix64(seed: UInt64(name.utf8.count) &* 7919)
        var tally = Tally()
        let reader = Self.reader()
        // The intact payloads: both accept, same rows.
        for (k, p) in payloads.enumerated() {
            Self.judge(p, reader: reader, "\(name) chunk \(k) intact", tally: &tally)
        }
        #expect(tally.bothAccept == tally.variants, "\(name): \(tally)")
        // Damage: every prefix of the first payload; sampled variants of up to seven more.
        for (k, p) in payloads.prefix(8).enumerated() {
            Self.variants(of: p, everyPrefix: k == 0, headBytes: k == 0 ? 256 : 24, samples: 40, rng: &rng) {
                Self.judge($0, reader: reader, "\(name) chunk \(k) \($1)", tally: &tally)
            }
        }
        #expect(tally.bothReject > 0, "\(name): \(tally)")
        #expect(tally.bothAccept > payloads.count, "\(name): no damaged variant accepted: \(tally)")
    }

    @Test("pyarrow golden streams (dictionaries, compressed bodies, every type): damaged copies")
    func goldenStreams() throws {
        var tally = Tally()
        var rng = SplitMix64(seed: 2024)
        let reader = Self.reader()
        for (_, file) in GoldenType.allFiles {
            let bytes = try goldenBytes(file)
            Self.judge(bytes, reader: reader, "\(file) intact", tally: &tally)
            Self.variants(of: bytes, everyPrefix: true, headBytes: 64, samples: 60, rng: &rng) {
                Self.judge($0, reader: reader, "\(file) \($1)", tally: &tally)
            }
        }
        print("golden streams: \(tally)")
        #expect(tally.bothReject > 0 && tally.onlyWalkAccepts > 0 && tally.bothAccept > GoldenType.allFiles.count)
    }

    @Test("a stream may end at the end of its bytes instead of the end-of-stream marker; nothing may follow the marker")
    func endOfStream() throws {
        var tally = Tally()
        let reader = Self.reader()
        let golden = try goldenBytes("int32.arrows")
        #expect(Array(golden.suffix(8)) == [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0])
        let withoutEOS = Array(golden.dropLast(8))
        for bytes in [
            golden, withoutEOS, golden + [0], golden + golden.suffix(8), withoutEOS + [0xFF, 0xFF, 0xFF, 0xFF],
        ] {
            Self.judge(bytes, reader: reader, "\(bytes.count) of \(golden.count) bytes", tally: &tally)
        }
        #expect(tally.bothAccept == 2 && tally.bothReject == 3, "\(tally)")
        let error = try #require(throws: ArrowError.self) {
            try ByteStorage(copying: golden + [0]).withUnsafeBytes { (b) throws(ArrowError) in try IPCFraming.check(b)
            }
        }
        #expect(error.offset == golden.count)
        #expect(error.message == "expected nothing after the end-of-stream marker, found 1 bytes")
    }
}
