import CZstd
import Foundation
import IngestCore
import RRD
import Testing

/// A distinct, recognisable byte pattern for payload `index`.
private func pattern(_ index: Int, count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index &* 7 &+ 1) }
}

@Suite("Payloads decompress into a slab arena")
struct ArenaDecompressionTests {
    @Test("decompressedPayload(arena:) decompresses into the arena; corrupt data throws and leaves no trace")
    func decompressIntoArena() throws {
        // An LZ4 block of literals only: token (15 << 4) + length extension, then the bytes.
        let raw = pattern(9, count: 300)
        var lz4: [UInt8] = [0xF0]
        var rest = raw.count - 15
        while rest >= 255 {
            lz4.append(255)
            rest -= 255
        }
        lz4.append(UInt8(rest))
        lz4 += raw
        let store = StoreId(kind: .recording, applicationId: "app", recordingId: "rec")
        let msg = ArrowMsg(
            storeId: store, compression: .lz4, uncompressedSize: UInt64(raw.count), encoding: 1,
            payload: ByteSlice(copying: lz4), chunkId: nil, isStatic: nil)
        let arena = SlabArena(.payloads)
        let a = try msg.decompressedPayload(arena: arena)
        #expect(a.storage.isArenaSlab && a.bytes == raw)
        var bad = msg
        bad.uncompressedSize += 1
        #expect(throws: RRDError.self) { _ = try bad.decompressedPayload(arena: arena) }
        let b = try msg.decompressedPayload(arena: arena)
        #expect(b.storage === a.storage && b.range.lowerBound == SlabArena.alignment * ((raw.count + 15) / 16))
        #expect(b.bytes == raw && a.bytes == raw)
    }
}

@Suite("RRDReader: payloads held across recycled read blocks keep their bytes")
struct ReaderBlockReuseTests {
    /// `count` uncompressed ArrowMsgs of distinct payloads (`pattern(i)`, 200...700 bytes).
    static func syntheticRecording(count: Int) -> (bytes: [UInt8], payloads: [[UInt8]]) {
        var bytes = Bytes.streamHeader(compression: 0)
        var payloads: [[UInt8]] = []
        for i in 0..<count {
            let p = pattern(i, count: 200 + (i * 53) % 500)
            payloads.append(p)
            let msg =
                Bytes.ld(1, Bytes.storeId(kind: 1, app: "app", rec: "rec")) + Bytes.vfield(2, 1)
                + Bytes.vfield(3, UInt64(p.count)) + Bytes.vfield(4, 1) + Bytes.ld(5, p)
            bytes += Bytes.message(kind: 2, msg)
        }
        return (bytes, payloads)
    }

    @Test("RRDReader: payloads kept across later blocks keep their bytes (plain and zstd input)", arguments: [false, true])
    func readerKeepsHeldPayloads(zstd: Bool) throws {
        let (bytes, payloads) = Self.syntheticRecording(count: 400)
        var file = bytes
        if zstd {
            var out = [UInt8](repeating: 0, count: ZSTD_compressBound(bytes.count))
            let n = ZSTD_compress(&out, out.count, bytes, bytes.count, 3)
            #expect(ZSTD_isError(n) == 0)
            file = Array(out[0..<n])
        }
        let path = NSTemporaryDirectory() + "block-reuse-\(getpid())-\(zstd).rrd"
        try Data(file).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        // Blocks of 2000 bytes hold a few messages each; every 7th payload is kept until the end.
        var reader = try RRDReader(path: path, options: ReaderOptions(readBlockSize: 2000))
        #expect(reader.isZstdCompressed == zstd)
        var kept: [(Int, ByteSlice)] = []
        var i = 0
        while let event = reader.next() {
            if case .streamHeader = event { continue }
            guard case .message(let m) = event, case .arrowMsg(let a) = m.message else {
                Issue.record("unexpected event \(event)")
                continue
            }
            let asRead = a.payload.bytes == payloads[i]
            #expect(asRead, "payload \(i) as read")
            if i % 7 == 0 { kept.append((i, a.payload)) }
            i += 1
        }
        #expect(i == payloads.count)
        for (k, payload) in kept {
            let intact = payload.bytes == payloads[k]
            #expect(intact, "payload \(k) kept across later blocks")
        }
    }
}
