import IngestCore
import RRD
import Testing

@Suite("Protobuf wire reader")
struct ProtobufTests {
    @Test("legacy StoreInfo.application_id fills a missing StoreId.application_id")
    func legacyApplicationId() throws {
        let payload =
            Bytes.ld(1, Bytes.f64(1, 5) + Bytes.f64(2, 6))
            + Bytes.ld(
                2, Bytes.ld(1, Bytes.ld(1, "legacy-app")) + Bytes.ld(2, Bytes.storeId(kind: 1, app: nil, rec: "r1")))
        let m = try MessageDecoding.decode(kind: .setStoreInfo, payload: ByteSlice(copying: payload))
        guard case .setStoreInfo(let s) = m else { throw RRDError(.io, source: "", offset: 0, "kind") }
        #expect(s.info.storeId == StoreId(kind: .recording, applicationId: "legacy-app", recordingId: "r1"))
        #expect(s.rowId == RowId(timeNs: 5, inc: 6))
        // StoreId's own application id wins.
        let both = Bytes.ld(
            2, Bytes.ld(1, Bytes.ld(1, "legacy")) + Bytes.ld(2, Bytes.storeId(kind: 1, app: "new", rec: "r")))
        guard
            case .setStoreInfo(let s2) = try MessageDecoding.decode(
                kind: .setStoreInfo, payload: ByteSlice(copying: both))
        else { throw RRDError(.io, source: "", offset: 0, "kind") }
        #expect(s2.info.storeId.applicationId == "new")
    }

    @Test("unknown fields of every wire type are skipped; fields in any order; open enums")
    func unknownFieldsAndOrder() throws {
        let payload: [UInt8] =
            Bytes.ld(6, Bytes.f64(1, 0x18EA) + Bytes.f64(2, 0x45)) + Bytes.vfield(7, 1) + Bytes.vfield(99, 12345)
            + Bytes.f32(98, 7) + Bytes.f64(97, 9) + Bytes.ld(96, [1, 2, 3]) + Bytes.ld(5, [9, 8, 7])
            + Bytes.vfield(2, 2) + Bytes.vfield(3, 3) + Bytes.vfield(4, 1)
            + Bytes.ld(1, Bytes.storeId(kind: 9, app: "a", rec: "r"))
        let m = try MessageDecoding.decode(kind: .arrowMsg, payload: ByteSlice(copying: payload))
        guard case .arrowMsg(let a) = m else { throw RRDError(.io, source: "", offset: 0, "kind") }
        #expect(a.storeId.kind.rawValue == 9)
        #expect(a.storeId.kind.description == "unknown(9)")
        #expect(a.payload.bytes == [9, 8, 7])
        #expect(a.chunkId == ChunkId(timeNs: 0x18EA, inc: 0x45))
        #expect(a.isStatic == true)
        #expect(a.compression == .lz4)
        #expect(a.uncompressedSize == 3)
        #expect(a.encoding == 1)
    }

    @Test("the Arrow payload is a slice of the input, not a copy")
    func zeroCopy() throws {
        let payload = Bytes.ld(1, Bytes.storeId(kind: 1, app: "a", rec: "r")) + Bytes.ld(5, [1, 2, 3, 4])
        let slice = ByteSlice(copying: payload)
        guard case .arrowMsg(let a) = try MessageDecoding.decode(kind: .arrowMsg, payload: slice)
        else { throw RRDError(.io, source: "", offset: 0, "kind") }
        #expect(a.payload.storage === slice.storage)
        #expect(a.payload.range == (payload.count - 4)..<payload.count)
    }

    @Test(
        "malformed payloads throw badProtobuf with the message offset",
        arguments: [
            [0x08] as [UInt8],  // truncated varint
            [0x0A, 0x05, 0x01],  // length beyond the end
            [0x0B],  // group
            [0x00, 0x01],  // field number 0
            [0x0F],  // wire type 7
            [0x08] + [UInt8](repeating: 0xFF, count: 10) + [0x01],  // varint too long
            [0x0A, 0x02, 0x12, 0x01],  // nested truncation (StoreId.recording_id)
            [0x0A, 0x04, 0x12, 0x02, 0xC3, 0x28],  // invalid UTF-8
            [0x10, 0x02, 0x00],  // wrong wire type for a known field? (2 = varint ok) then field 0
        ])
    func malformed(payload: [UInt8]) {
        do {
            _ = try MessageDecoding.decode(
                kind: .arrowMsg, payload: ByteSlice(copying: payload), source: "s", offset: 77)
            Issue.record("accepted \(payload)")
        } catch {
            #expect(error.code == .badProtobuf)
            #expect(error.offset == 77)
            #expect(error.source == "s")
        }
    }

    @Test("wrong wire type for a known field is an error")
    func wrongWireType() {
        let payload = Bytes.ld(2, [1])  // compression must be a varint
        #expect(throws: RRDError.self) {
            try MessageDecoding.decode(kind: .arrowMsg, payload: ByteSlice(copying: payload))
        }
    }

    @Test("BlueprintActivationCommand")
    func activation() throws {
        let payload = Bytes.ld(1, Bytes.storeId(kind: 2, app: "app", rec: "bp")) + Bytes.vfield(3, 1)
        guard
            case .blueprintActivationCommand(let b) = try MessageDecoding.decode(
                kind: .blueprintActivationCommand, payload: ByteSlice(copying: payload))
        else { throw RRDError(.io, source: "", offset: 0, "kind") }
        #expect(b.blueprintId == StoreId(kind: .blueprint, applicationId: "app", recordingId: "bp"))
        #expect(!b.makeActive)
        #expect(b.makeDefault)
    }
}
