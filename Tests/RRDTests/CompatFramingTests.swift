import FixtureSupport
import Foundation
import IngestCore
import RRD
import Testing

/// The framing and store ids of recordings from rerun-sdk 0.23 … 0.40 (`Fixtures/rrd/compat`),
/// against each version's `EXPECTED.json`.
@Suite("Old recordings: framing and store ids (Fixtures/rrd/compat)")
struct CompatFramingTests {
    @Test("every stream, message and footer where EXPECTED.json has it; no error", arguments: CompatFixtures.cases)
    func framing(c: CompatCase) throws {
        let events = try readEvents(c.path)
        #expect(events.compactMap(\.error).isEmpty, "\(events.compactMap(\.error))")
        let streams = try #require(c.expected["streams"] as? [[String: Any]])
        var headers: [UInt64] = []
        var footers: [UInt64] = []
        var messages: [(UInt64, String, UInt64)] = []
        for e in events {
            switch e {
            case .streamHeader(_, let offset): headers.append(offset)
            case .streamFooter(_, let offset): footers.append(offset)
            case .message(let m): messages.append((m.offset, m.message.kind.description, m.length))
            case .error: break
            }
        }
        #expect(headers == streams.map { u64($0["offset"])! })
        // A stream footer where (and only where) the stream has one.
        let withFooter = streams.filter { ($0["footer_status"] as? String) == "ok" }
        #expect(footers.count == withFooter.count)
        #expect(withFooter.allSatisfy { ($0["ended_by"] as? String) == "End + stream footer" })
        if c.isFooterless { #expect(footers.isEmpty) }
        var theirs = streams.flatMap { $0["messages"] as! [[String: Any]] }
        if c.hasTrailingEnd {
            theirs.append(["offset": c.expected["size_bytes"]!, "kind": "End", "len": 0])
        }
        try #require(messages.count == theirs.count)
        for (o, e) in zip(messages, theirs) {
            #expect(o.0 == u64(e["offset"]) && o.1 == e["kind"] as? String && o.2 == u64(e["len"]))
        }
    }

    @Test("in pieces of 1, 7 and 4096 bytes the events are the same", arguments: CompatFixtures.cases)
    func pieces(c: CompatCase) throws {
        let bytes = try Fixtures.bytes(URL(fileURLWithPath: c.path))
        let whole = decode(bytes)
        for piece in [1, 7, 4096] {
            #expect(firstDifference(decodeInPieces(bytes, piece: piece), whole) == nil, "piece \(piece)")
        }
    }

    @Test(
        "every message carries its store's resolved id; activations target the blueprint store",
        arguments: CompatFixtures.cases)
    func storeIds(c: CompatCase) throws {
        let events = try readEvents(c.path)
        let stores = try #require(c.expected["stores"] as? [[String: Any]])
        var seen: [StoreId] = []
        var activations: [StoreId] = []
        for case .message(let m) in events {
            guard let id = m.message.storeId else { continue }
            #expect(stores.contains { id.matches($0) }, "\(m.message.kind) at \(m.offset): \(id)")
            if !seen.contains(id) { seen.append(id) }
            if case .blueprintActivationCommand(let b) = m.message { activations.append(b.blueprintId) }
        }
        // No store beyond the expected ones (0.23/0.24 activations used to make a third, nameless one).
        #expect(seen.count == stores.count)
        let expectedActivations = try #require(c.expected["blueprint_activations"] as? [[String: Any]])
        #expect(activations.count == expectedActivations.count)
        for (a, e) in zip(activations, expectedActivations) { #expect(a.matches(e["blueprint_id"])) }
    }

    // MARK: - End of stream, synthetic

    /// `SetStoreInfo` of a legacy (0.23/0.24) store: application id only in `StoreInfo` field 1.
    static func legacyInfo(kind: UInt64, app: String, rec: String) -> [UInt8] {
        Bytes.ld(2, Bytes.ld(1, Bytes.ld(1, app)) + Bytes.ld(2, Bytes.storeId(kind: kind, app: nil, rec: rec)))
    }

    static let v027: [UInt8] = [0, 27, 3, 0]
    static let v028: [UInt8] = [0, 28, 2, 0]

    @Test("before 0.28: an empty End at the end of the input or before the next stream completes its stream")
    func footerlessEnd() {
        let stream =
            Bytes.streamHeader(version: Self.v027)
            + Bytes.message(kind: 1, Self.legacyInfo(kind: 1, app: "a", rec: "r"))
            + Bytes.message(kind: 0, [])
        for input in [stream, stream + stream, stream + stream + stream] {
            let events = decode(input)
            #expect(events.compactMap(\.error).isEmpty, "\(events)")
            #expect(
                events.filter { if case .streamHeader = $0 { true } else { false } }.count == input.count / stream.count
            )
            #expect(events.compactMap(\.framed).count == 2 * input.count / stream.count)
        }
        // A footer-less End followed by a 0.28 stream with its footer.
        let footered =
            Bytes.streamHeader(version: Self.v028) + Bytes.message(kind: 0, []) + Self.footer(payloadStart: 28)
        let events = decode(stream + footered)
        #expect(events.compactMap(\.error).isEmpty, "\(events)")
        #expect(events.contains { if case .streamFooter = $0 { true } else { false } })
    }

    /// A 32-byte stream footer pointing at an empty End payload starting `payloadStart` bytes into its stream.
    static func footer(payloadStart: UInt64) -> [UInt8] {
        Bytes.u64(payloadStart) + Bytes.u64(0)
            + Bytes.u32(XXHash32.hash(UnsafeRawBufferPointer(start: nil, count: 0), seed: 7_850_921))
            + Array("RRF2FOOT".utf8) + Bytes.u32(1)
    }

    @Test("from 0.28 on: an End without its 32-byte stream footer is damage, empty or not, at EOF or before RRF2")
    func cutFooter() {
        let head = Bytes.streamHeader(version: Self.v028)
        for body in [[UInt8](), [0x0A, 0x00]] {
            let end = Bytes.message(kind: 0, body)
            for input in [head + end, head + end + head, head + end + Array(repeating: 0, count: 10)] {
                let errors = decode(input).compactMap(\.error)
                #expect(errors.first?.code == .badFooter, "body \(body.count) B, \(input.count) B: \(errors)")
            }
        }
        // Before 0.28, an End with a body (an RRD footer) still needs its stream footer.
        let old = Bytes.streamHeader(version: Self.v027) + Bytes.message(kind: 0, [0x0A, 0x00])
        #expect(decode(old).compactMap(\.error).first?.code == .badFooter)
        #expect(decode(old + old).compactMap(\.error).first?.code == .badFooter)
        // And the complete 0.41 form reads clean.
        let ok = head + Bytes.message(kind: 0, []) + Self.footer(payloadStart: 28)
        #expect(decode(ok).compactMap(\.error).isEmpty)
    }

    @Test("a legacy activation gets the application id of its blueprint's SetStoreInfo, whatever the order of stores")
    func legacyActivation() throws {
        let bp = "3fcdf0323b024ce0a4cc663d6ee04351"
        let activation = Bytes.ld(1, Bytes.storeId(kind: 2, app: nil, rec: bp)) + Bytes.vfield(3, 1)
        let input =
            Bytes.streamHeader(version: [0, 23, 4, 0])
            + Bytes.message(kind: 1, Self.legacyInfo(kind: 2, app: "bp-app", rec: bp))
            + Bytes.message(kind: 1, Self.legacyInfo(kind: 1, app: "rec-app", rec: bp))  // same id, other kind
            + Bytes.message(kind: 3, activation) + Bytes.message(kind: 0, [])
        let events = decode(input)
        #expect(events.compactMap(\.error).isEmpty)
        let ids = events.compactMap(\.framed).compactMap(\.message.storeId)
        try #require(ids.count == 3)
        #expect(ids[2] == StoreId(kind: .blueprint, applicationId: "bp-app", recordingId: bp))
        #expect(ids[2].isIdentical(to: ids[0]), "the store's one value")
        // Before any SetStoreInfo of its store, an id stays as written.
        let early = decode(Bytes.streamHeader(version: [0, 23, 4, 0]) + Bytes.message(kind: 3, activation))
        #expect(early.compactMap(\.framed).first?.message.storeId?.applicationId == "")
    }
}
