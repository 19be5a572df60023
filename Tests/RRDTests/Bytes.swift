import FixtureSupport
import Foundation
import IngestCore
import RRD

/// Small builders for synthetic RRD bytes and protobuf payloads (tests only).
enum Bytes {
    static func fixture(_ name: String) throws -> [UInt8] {
        try Fixtures.bytes(URL(fileURLWithPath: Fixtures.rrdPath(name)))
    }

    static func u64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    static func u32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    static func streamHeader(
        magic: String = "RRF2", version: [UInt8] = [0, 41, 0, 0], compression: UInt8 = 1,
        serializer: UInt8 = 2, reserved: [UInt8] = [0, 0]
    ) -> [UInt8] {
        Array(magic.utf8) + version + [compression, serializer] + reserved
    }

    static func message(kind: UInt64, _ payload: [UInt8]) -> [UInt8] {
        u64(kind) + u64(UInt64(payload.count)) + payload
    }

    // protobuf
    static func varint(_ v: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        var v = v
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
        return out
    }
    static func tag(_ field: UInt64, _ wire: UInt64) -> [UInt8] { varint(field << 3 | wire) }
    static func vfield(_ field: UInt64, _ v: UInt64) -> [UInt8] { tag(field, 0) + varint(v) }
    static func ld(_ field: UInt64, _ bytes: [UInt8]) -> [UInt8] { tag(field, 2) + varint(UInt64(bytes.count)) + bytes }
    static func ld(_ field: UInt64, _ s: String) -> [UInt8] { ld(field, Array(s.utf8)) }
    static func f64(_ field: UInt64, _ v: UInt64) -> [UInt8] { tag(field, 1) + u64(v) }
    static func f32(_ field: UInt64, _ v: UInt32) -> [UInt8] { tag(field, 5) + u32(v) }

    static func storeId(kind: UInt64, app: String?, rec: String) -> [UInt8] {
        vfield(1, kind) + ld(2, rec) + (app.map { ld(3, ld(1, $0)) } ?? [])
    }
}

/// Reads `bytes` as one block through a ``StreamDecoder``.
func decode(_ bytes: [UInt8], options: ReaderOptions = .init()) -> [StreamEvent] {
    var decoder = StreamDecoder(source: "mem", options: options)
    var events: [StreamEvent] = []
    decoder.feed(ByteSlice(copying: bytes)) { events.append($0) }
    decoder.finish { events.append($0) }
    return events
}
