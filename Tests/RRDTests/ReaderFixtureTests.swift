import FixtureSupport
import Foundation
import IngestCore
import Ingestion
import RRD
import Testing

@Suite("RRD reader against EXPECTED.json")
struct ReaderFixtureTests {
    static let names = Fixtures.rrdNames

    @Test("stream headers, message offsets/kinds/lengths, chunk and store ids", arguments: names)
    func streamsMatch(name: String) throws {
        let expected = Fixtures.expectation(name)
        let events = try readEvents(Fixtures.rrdPath(name))
        let streams = try #require(expected["streams"] as? [[String: Any]])

        // Split our events into streams.
        var ours:
            [(offset: UInt64, header: StreamHeader, messages: [FramedMessage], footers: [(StreamFooterInfo, UInt64)])] =
                []
        for e in events {
            switch e {
            case .streamHeader(let h, let off): ours.append((off, h, [], []))
            case .message(let m): ours[ours.count - 1].messages.append(m)
            case .streamFooter(let f, let off): ours[ours.count - 1].footers.append((f, off))
            case .error: break
            }
        }
        try #require(ours.count == streams.count, "\(name): stream count")
        for (s, exp) in zip(ours, streams) {
            #expect(s.offset == u64(exp["offset"]))
            #expect(s.header.versionString == exp["version"] as? String)
            #expect((s.header.compression == 1 ? "lz4" : "off") == exp["header_compression"] as? String)
            let msgs = try #require(exp["messages"] as? [[String: Any]])
            try #require(s.messages.count == msgs.count, "\(name): message count in stream at \(s.offset)")
            for (m, em) in zip(s.messages, msgs) {
                #expect(m.offset == u64(em["offset"]))
                #expect(m.message.kind.description == em["kind"] as? String)
                #expect(m.length == u64(em["len"]))
                if case .arrowMsg(let a) = m.message {
                    if let cid = em["chunk_id"] as? String { #expect(a.chunkId?.description == cid) }
                    if let st = em["is_static"] as? Bool { #expect(a.isStatic == st) }
                    if let pl = u64(em["payload_len"]) { #expect(UInt64(a.payload.count) == pl) }
                    if let us = u64(em["uncompressed_size"]) { #expect(a.uncompressedSize == us) }
                    if let c = em["compression"] as? String { #expect((a.compression == .lz4 ? "lz4" : "none") == c) }
                }
            }
            let counts = try #require(exp["message_counts"] as? [String: Any])
            for kind in MessageKind.allCases {
                let n = s.messages.filter { $0.message.kind == kind }.count
                #expect(UInt64(n) == (u64(counts[kind.description]) ?? 0), "\(kind)")
            }
            if let f = exp["stream_footer"] as? [String: Any] {
                let (ours, _) = try #require(s.footers.first)
                #expect(ours.rrdFooterStart == u64(f["rrd_footer_start"]))
                #expect(ours.rrdFooterLength == u64(f["rrd_footer_len"]))
                #expect(UInt64(ours.crc) == u64(f["crc"]))
                #expect(UInt64(ours.numEntries) == u64(f["num_entries"]))
                #expect(ours.crcOK == (f["crc_ok"] as? Bool))
                #expect(ours.pointsAtEndPayload == (f["points_at_end_payload"] as? Bool))
            } else {
                #expect(s.footers.isEmpty)
            }
        }
    }

    @Test("stores, SetStoreInfo counts and blueprint activations", arguments: names)
    func storesMatch(name: String) throws {
        let expected = Fixtures.expectation(name)
        let messages = try readEvents(Fixtures.rrdPath(name)).compactMap(\.framed)
        let stores = try #require(expected["stores"] as? [[String: Any]])
        var infos: [StoreId: Int] = [:]
        var chunks: [StoreId: Int] = [:]
        for m in messages {
            switch m.message {
            case .setStoreInfo(let s): infos[s.info.storeId, default: 0] += 1
            case .arrowMsg(let a):
                if (try? a.checkedIPCPayload(source: name, offset: m.offset)) != nil {
                    chunks[a.storeId, default: 0] += 1
                }
            default: break
            }
        }
        #expect(infos.count == stores.count)
        for st in stores {
            let id = try #require(infos.keys.first { $0.matches(st) }, "\(name): store \(st)")
            #expect(UInt64(infos[id]!) == u64(st["set_store_info_messages"]))
            #expect(UInt64(chunks[id] ?? 0) == u64(st["num_chunks"]))
        }
        let activations = messages.compactMap { m -> BlueprintActivationCommand? in
            if case .blueprintActivationCommand(let b) = m.message { return b }
            return nil
        }
        let expectedActivations = try #require(expected["blueprint_activations"] as? [[String: Any]])
        try #require(activations.count == expectedActivations.count)
        for (a, e) in zip(activations, expectedActivations) {
            #expect(a.blueprintId.matches(e["blueprint_id"]))
            #expect(a.makeActive == e["make_active"] as? Bool)
            #expect(a.makeDefault == e["make_default"] as? Bool)
        }
    }

    @Test("errors: framing damage from the reader, payload damage from checkedIPCPayload", arguments: names)
    func errorsMatch(name: String) throws {
        let expected = Fixtures.expectation(name)
        let events = try readEvents(Fixtures.rrdPath(name))
        var errorOffsets: [UInt64] = events.compactMap(\.error).map(\.offset)
        for case .message(let m) in events {
            if case .arrowMsg(let a) = m.message {
                do { _ = try a.checkedIPCPayload(source: name, offset: m.offset) } catch {
                    errorOffsets.append(error.offset)
                }
            }
        }
        let refErrors = try #require((expected["reference_reader"] as? [String: Any])?["errors"] as? [[String: Any]])
        #expect(errorOffsets.sorted() == refErrors.compactMap { u64($0["offset"]) }.sorted())
        #expect(errorOffsets.isEmpty == (expected["expect_valid"] as? Bool ?? false))
        for e in events.compactMap(\.error) { #expect(e.source == Fixtures.rrdPath(name)) }
    }

    @Test("error codes of the damaged fixtures")
    func damagedCodes() throws {
        let truncated = try readEvents(Fixtures.rrdPath("corrupt_truncated.rrd")).compactMap(\.error)
        #expect(truncated.map(\.code) == [.truncated])
        let magic = try readEvents(Fixtures.rrdPath("corrupt_bad_magic.rrd"))
        #expect(magic.count == 1)
        #expect(magic.first?.error?.code == .notRRD)
        #expect(magic.first?.error?.message.contains("RRF9") == true)
    }
}
