import IngestCore
import RRD
import Testing

@Suite("Store ids: one shared value per store")
struct StoreIdIdentityTests {
    static func arrow(_ storeIdField: [UInt8], payload: [UInt8] = [1, 2, 3]) -> [UInt8] {
        Bytes.message(kind: 2, storeIdField + Bytes.vfield(2, 1) + Bytes.vfield(4, 1) + Bytes.ld(5, payload))
    }

    static func storeInfo(kind: UInt64, app: String, rec: String) -> [UInt8] {
        Bytes.message(kind: 1, Bytes.ld(2, Bytes.ld(2, Bytes.storeId(kind: kind, app: app, rec: rec))))
    }

    static func storeIds(_ events: [StreamEvent]) -> [StoreId] {
        events.compactMap { $0.framed?.message.storeId }
    }

    @Test("equal ids made apart are equal and hash alike; setting a field changes only that copy")
    func valueSemantics() {
        let a = StoreId(kind: .recording, applicationId: "app", recordingId: "rec")
        let b = StoreId(kind: .recording, applicationId: "app", recordingId: "rec")
        #expect(a == b)
        #expect(!a.isIdentical(to: b))
        #expect(a.hashValue == b.hashValue)
        #expect(Set([a, b]).count == 1)
        var c = a
        #expect(c.isIdentical(to: a))
        c.applicationId = "other"
        #expect(c != a)
        #expect(a.applicationId == "app")
        #expect(c.applicationId == "other" && c.recordingId == "rec" && c.kind == .recording)
        c.applicationId = "app"
        #expect(c == a)
        c.kind = .blueprint
        #expect(c != a)
        c.kind = .recording
        c.recordingId = "x"
        #expect(c != a)
        #expect(a.description == "recording:app:rec")
    }

    @Test("every message of a store carries the same id value, with stores interleaved and fields reordered")
    func oneValuePerStore() throws {
        let a = Bytes.storeId(kind: 1, app: "app", rec: "A")
        // The same id with its fields in another order: other bytes, the same value.
        let aReordered = Bytes.ld(3, Bytes.ld(1, "app")) + Bytes.ld(2, "A") + Bytes.vfield(1, 1)
        let b = Bytes.storeId(kind: 1, app: "app", rec: "B")
        var bytes = Bytes.streamHeader() + Self.storeInfo(kind: 1, app: "app", rec: "A")
        for field in [a, a, b, a, b, b, aReordered, a, b] { bytes += Self.arrow(Bytes.ld(1, field)) }
        for events in [decode(bytes), decodeInPieces(bytes, piece: 7)] {
            #expect(events.allSatisfy { $0.error == nil })
            let ids = Self.storeIds(events)
            #expect(ids.map(\.recordingId) == ["A", "A", "A", "B", "A", "B", "B", "A", "A", "B"])
            let first = try #require(ids.first)
            let firstB = try #require(ids.first { $0.recordingId == "B" })
            for id in ids {
                #expect(id.isIdentical(to: id.recordingId == "A" ? first : firstB))
                #expect(id.applicationId == "app" && id.kind == .recording)
            }
        }
    }

    @Test("a repeated store id field merges, and the next message's single field is decoded on its own")
    func repeatedFieldMerges() throws {
        let plain = Bytes.storeId(kind: 1, app: nil, rec: "r")
        let appOnly = Bytes.ld(3, Bytes.ld(1, "merged"))
        let bytes =
            Bytes.streamHeader()
            + Self.arrow(Bytes.ld(1, plain))
            + Self.arrow(Bytes.ld(1, plain) + Bytes.ld(1, appOnly))
            + Self.arrow(Bytes.ld(1, plain))
            + Self.arrow(Bytes.ld(1, appOnly))
        let ids = Self.storeIds(decode(bytes))
        #expect(ids.count == 4)
        #expect(ids[0] == StoreId(kind: .recording, applicationId: "", recordingId: "r"))
        #expect(ids[1] == StoreId(kind: .recording, applicationId: "merged", recordingId: "r"))
        #expect(ids[2] == StoreId(kind: .recording, applicationId: "", recordingId: "r"))
        #expect(ids[2].isIdentical(to: ids[0]))
        #expect(ids[3] == StoreId(kind: .unspecified, applicationId: "merged", recordingId: ""))
    }

    @Test("legacy ArrowMsgs get the application id of their SetStoreInfo, as the same value")
    func legacyCompletion() throws {
        let legacy = Bytes.ld(1, Bytes.storeId(kind: 1, app: nil, rec: "r"))
        let bytes =
            Bytes.streamHeader() + Self.arrow(legacy) + Self.storeInfo(kind: 1, app: "app", rec: "r")
            + Self.arrow(legacy) + Self.arrow(legacy) + Self.storeInfo(kind: 1, app: "app2", rec: "r")
            + Self.arrow(legacy)
        let ids = Self.storeIds(decode(bytes))
        #expect(ids.map(\.applicationId) == ["", "app", "app", "app", "app2", "app2"])
        #expect(ids[2].isIdentical(to: ids[1]) && ids[3].isIdentical(to: ids[1]))
        #expect(ids[5].isIdentical(to: ids[4]))
    }

    @Test("a varint tag or length of several bytes decodes like a one-byte one")
    func multiByteVarints() throws {
        // Field 16 (two-byte tag, unknown: skipped) and a 200-byte payload (two-byte length).
        let payload = [UInt8](repeating: 7, count: 200)
        let body =
            Bytes.vfield(16, 300) + Bytes.ld(1, Bytes.storeId(kind: 1, app: "a", rec: "r")) + Bytes.vfield(3, 200)
            + Bytes.ld(5, payload)
        guard case .arrowMsg(let m) = try MessageDecoding.decode(kind: .arrowMsg, payload: ByteSlice(copying: body))
        else { throw RRDError(.io, source: "", offset: 0, "kind") }
        #expect(m.payload.bytes == payload)
        #expect(m.uncompressedSize == 200)
        #expect(m.storeId == StoreId(kind: .recording, applicationId: "a", recordingId: "r"))
    }
}
