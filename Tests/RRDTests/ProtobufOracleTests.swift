import FixtureSupport
import Foundation
import IngestCore
import RRD
import SwiftProtobuf
import Testing

/// Compares our wire reader with the swift-protobuf runtime (code generated from
/// `Proto/rrd_messages.proto`) on every payload of every fixture, field by field.
@Suite("Protobuf oracle (swift-protobuf) vs our wire reader")
struct ProtobufOracleTests {
    static let names = Fixtures.rrdNames.filter { $0 != "corrupt_bad_magic.rrd" }

    static func storeIdMatches(_ ours: StoreId, _ oracle: RrdOracle_StoreId, fallbackApp: String? = nil) -> Bool {
        let app = oracle.hasApplicationID ? oracle.applicationID.id : (fallbackApp ?? "")
        return ours.kind.rawValue == UInt64(oracle.kind.rawValue) && ours.recordingId == oracle.recordingID
            && ours.applicationId == app
    }

    static func tuid(_ t: RrdOracle_Tuid) -> Tuid { Tuid(timeNs: t.timeNs, inc: t.inc) }

    /// Asserts that our decoding of `payload` equals the oracle's; returns false when they differ.
    @discardableResult
    static func compare(_ message: RRD.Message, payload: [UInt8], context: String) throws -> Bool {
        var same = true
        func check(_ ok: Bool, _ what: String) {
            if !ok {
                same = false
                Issue.record("\(context): \(what) differs")
            }
        }
        switch message {
        case .setStoreInfo(let s):
            let o = try RrdOracle_SetStoreInfo(serializedBytes: payload)
            check(s.rowId == (o.hasRowID ? RowId(tuid(o.rowID)) : nil), "row_id")
            let fallback = o.info.hasApplicationID ? o.info.applicationID.id : nil
            check(storeIdMatches(s.info.storeId, o.info.storeID, fallbackApp: fallback), "store_id")
            check(
                s.info.source?.kind == (o.info.hasStoreSource ? UInt64(o.info.storeSource.kind.rawValue) : nil),
                "store_source.kind")
            check((s.info.source?.extra ?? []) == [UInt8](o.info.storeSource.extra.payload), "store_source.extra")
            check(
                s.info.storeVersionBits == (o.info.hasStoreVersion ? o.info.storeVersion.crateVersionBits : nil),
                "store_version")
        case .arrowMsg(let a):
            let o = try RrdOracle_ArrowMsg(serializedBytes: payload)
            check(storeIdMatches(a.storeId, o.storeID), "store_id")
            check(a.compression.rawValue == UInt64(o.compression.rawValue), "compression")
            check(a.uncompressedSize == o.uncompressedSize, "uncompressed_size")
            check(a.encoding == UInt64(o.encoding.rawValue), "encoding")
            check(a.payload.bytes == [UInt8](o.payload), "payload")
            check(a.chunkId == (o.hasChunkID ? ChunkId(tuid(o.chunkID)) : nil), "chunk_id")
            check(a.isStatic == (o.hasIsStatic ? o.isStatic : nil), "is_static")
        case .blueprintActivationCommand(let b):
            let o = try RrdOracle_BlueprintActivationCommand(serializedBytes: payload)
            check(storeIdMatches(b.blueprintId, o.blueprintID), "blueprint_id")
            check(b.makeActive == o.makeActive, "make_active")
            check(b.makeDefault == o.makeDefault, "make_default")
        case .end(let footer):
            check(footer.bytes == payload, "End payload")
            _ = try RrdOracle_RrdFooter(serializedBytes: payload)
        }
        return same
    }

    @Test("every fixture payload decodes the same with both", arguments: names)
    func fixturePayloads(name: String) throws {
        let events = try readEvents(Fixtures.rrdPath(name))
        let file = try Bytes.fixture(name)
        var compared = 0
        for case .message(let m) in events {
            let payload = payloadBytes(m, in: file)
            try Self.compare(m.message, payload: payload, context: "\(name) @\(m.offset)")
            compared += 1
        }
        #expect(compared == events.compactMap(\.framed).count)
        #expect(compared > 0)
    }

    @Test("RrdFooter manifests: one per store with chunks, with the store ids of EXPECTED.json", arguments: names)
    func footers(name: String) throws {
        let streams = try #require(Fixtures.expectation(name)["streams"] as? [[String: Any]])
        let footers = try readEvents(Fixtures.rrdPath(name)).compactMap(\.framed).compactMap { m -> ByteSlice? in
            if case .end(let p) = m.message { return p }
            return nil
        }
        let withFooter = streams.filter { $0["stream_footer"] is [String: Any] }
        #expect(footers.count == withFooter.count)
        for (payload, stream) in zip(footers, withFooter) {
            let footer = try RrdOracle_RrdFooter(serializedBytes: payload.bytes)
            let manifests = stream["manifests"] as? [[String: Any]] ?? []
            #expect(footer.manifests.count == manifests.count)
            for (m, e) in zip(footer.manifests, manifests) {
                let s = try #require(e["store_id"] as? [String: Any])
                #expect(m.storeID.recordingID == s["recording_id"] as? String)
                #expect(m.storeID.applicationID.id == s["application_id"] as? String)
            }
        }
    }

    @Test("repeated non-repeated fields merge like swift-protobuf (last scalar wins, sub-messages merge)")
    func merging() throws {
        let arrow =
            Bytes.ld(1, Bytes.vfield(1, 1) + Bytes.ld(2, "r1")) + Bytes.ld(5, [1])
            + Bytes.ld(1, Bytes.ld(3, Bytes.ld(1, "app")))
            + Bytes.ld(6, Bytes.f64(1, 10)) + Bytes.ld(6, Bytes.f64(2, 20)) + Bytes.vfield(2, 1) + Bytes.vfield(2, 2)
            + Bytes.ld(5, [2, 3]) + Bytes.vfield(7, 1) + Bytes.vfield(7, 0)
        let info =
            Bytes.ld(1, Bytes.f64(1, 1)) + Bytes.ld(2, Bytes.ld(2, Bytes.storeId(kind: 2, app: nil, rec: "bp")))
            + Bytes.ld(2, Bytes.ld(1, Bytes.ld(1, "legacy")) + Bytes.ld(6, Bytes.vfield(1, 10496)))
            + Bytes.ld(1, Bytes.f64(2, 2)) + Bytes.ld(2, Bytes.ld(5, Bytes.vfield(1, 2)))
            + Bytes.ld(2, Bytes.ld(5, Bytes.ld(2, Bytes.ld(1, [7, 7]))))
        let activation =
            Bytes.ld(1, Bytes.storeId(kind: 2, app: nil, rec: "x")) + Bytes.ld(1, Bytes.ld(3, Bytes.ld(1, "a")))
            + Bytes.vfield(2, 1)
        for (kind, payload) in [
            (MessageKind.arrowMsg, arrow), (.setStoreInfo, info), (.blueprintActivationCommand, activation),
        ] {
            let ours = try MessageDecoding.decode(kind: kind, payload: ByteSlice(copying: payload))
            #expect(try Self.compare(ours, payload: payload, context: "merge \(kind)"))
        }
        guard case .arrowMsg(let a) = try MessageDecoding.decode(kind: .arrowMsg, payload: ByteSlice(copying: arrow))
        else { throw RRDError(.io, source: "", offset: 0, "kind") }
        #expect(a.storeId == StoreId(kind: .recording, applicationId: "app", recordingId: "r1"))
        #expect(a.chunkId == ChunkId(timeNs: 10, inc: 20))
        #expect(a.payload.bytes == [2, 3])
        #expect(a.isStatic == false)
    }

    @Test("mutated payloads: whenever both decoders accept, they agree")
    func mutations() throws {
        var state: UInt64 = 42
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        var bothAccepted = 0
        var tried = 0
        for name in ["scalars_sequence.rrd", "recording_with_blueprint.rrd", "uncompressed.rrd"] {
            let file = try Bytes.fixture(name)
            for case .message(let m) in try readEvents(Fixtures.rrdPath(name)) {
                if case .end = m.message { continue }
                let original = payloadBytes(m, in: file)
                // Mutate the protobuf structure near the start (the Arrow payload is opaque to both).
                let span = Swift.min(original.count, 128)
                for _ in 0..<40 where span > 0 {
                    var p = original
                    p[Int(next() % UInt64(span))] = UInt8(truncatingIfNeeded: next())
                    tried += 1
                    guard let ours = try? MessageDecoding.decode(kind: m.message.kind, payload: ByteSlice(copying: p))
                    else {
                        continue
                    }
                    // Ours accepted: the oracle must accept too, with the same fields.
                    var oracleAccepts = true
                    do { _ = try Self.oracleDecode(m.message.kind, p) } catch { oracleAccepts = false }
                    #expect(oracleAccepts, "\(name) @\(m.offset): ours accepted a payload swift-protobuf rejects")
                    if oracleAccepts {
                        bothAccepted += 1
                        try Self.compare(ours, payload: p, context: "\(name) @\(m.offset) mutated")
                    }
                }
            }
        }
        #expect(bothAccepted > 0 && tried > bothAccepted)
    }

    static func oracleDecode(_ kind: MessageKind, _ p: [UInt8]) throws -> any SwiftProtobuf.Message {
        switch kind {
        case .setStoreInfo: return try RrdOracle_SetStoreInfo(serializedBytes: p)
        case .arrowMsg: return try RrdOracle_ArrowMsg(serializedBytes: p)
        case .blueprintActivationCommand: return try RrdOracle_BlueprintActivationCommand(serializedBytes: p)
        case .end: return try RrdOracle_RrdFooter(serializedBytes: p)
        }
    }
}

/// The payload bytes of a framed message, cut from the file it was read from.
private func payloadBytes(_ m: FramedMessage, in file: [UInt8]) -> [UInt8] {
    let start = Int(m.offset) + 16
    return Array(file[start..<(start + Int(m.length))])
}
