import ArrowIPC
import FixtureSupport
import Foundation
import IngestCore
import Ingestion
import RRD
import Testing

@Suite("Damage and edge cases of the framing")
struct DamageTests {
    @Test("RRF0/RRF1 are an incompatible older version", arguments: ["RRF0", "RRF1"])
    func oldMagic(magic: String) {
        let events = decode(Bytes.streamHeader(magic: magic))
        #expect(events.count == 1)
        #expect(events.first?.error?.code == .incompatibleVersion)
        #expect(events.first?.error?.offset == 0)
        #expect(events.first?.error?.message.contains("old, incompatible") == true)
    }

    @Test("other magic, empty input: not an RRD file")
    func notRRD() {
        #expect(decode(Array("PK\u{3}\u{4}xxxxxxxx".utf8)).first?.error?.code == .notRRD)
        let empty = decode([])
        #expect(empty.count == 1)
        #expect(empty.first?.error?.code == .notRRD)
    }

    @Test("bad stream header fields are rejected at their offset")
    func badHeaderFields() {
        let cases: [([UInt8], UInt64, RRDError.Code)] = [
            (Bytes.streamHeader(version: [0, 22, 0, 0]), 4, .incompatibleVersion),
            (Bytes.streamHeader(compression: 2), 8, .badStreamHeader),
            (Bytes.streamHeader(serializer: 1), 9, .badStreamHeader),
            (Bytes.streamHeader(reserved: [0, 1]), 10, .badStreamHeader),
        ]
        for (bytes, offset, code) in cases {
            let e = decode(bytes)
            #expect(e.count == 1)
            #expect(e.first?.error?.code == code)
            #expect(e.first?.error?.offset == offset)
        }
        // Newer versions and pre-release tags are accepted.
        let newer = decode(Bytes.streamHeader(version: [1, 2, 3, 0x41]))
        guard case .streamHeader(let h, 0)? = newer.first else {
            Issue.record("no header: \(newer)")
            return
        }
        #expect(h.versionString == "1.2.3-rc.1")
        #expect(h.isNewerThanKnown)
        #expect(
            !StreamHeader(version: RRDVersion(major: 0, minor: 41, patch: 3), compression: 1, serializer: 2)
                .isNewerThanKnown)
        #expect(RRDVersion(major: 0, minor: 25, patch: 0, meta: 0x83).description == "0.25.0-alpha.3")
        #expect(RRDVersion(major: 0, minor: 25, patch: 0, meta: 0xC1).description == "0.25.0-alpha.1+dev")
        #expect(newer.count == 1)
    }

    @Test("unknown message kind ends the input after the valid messages")
    func unknownKind() throws {
        let base = try Bytes.fixture("no_footer.rrd")
        let bytes = base + Bytes.message(kind: 7, [1, 2, 3]) + Bytes.message(kind: 1, [])
        let events = decode(bytes)
        #expect(events.compactMap(\.framed).count == 4)
        let errors = events.compactMap(\.error)
        #expect(errors.map(\.code) == [.unknownMessageKind])
        #expect(errors.first?.offset == UInt64(base.count))
        #expect(events.last?.error != nil)
    }

    @Test("a legacy ArrowMsg without application id gets it from its recording's SetStoreInfo")
    func legacyArrowApplicationId() {
        let info = Bytes.ld(2, Bytes.ld(2, Bytes.storeId(kind: 1, app: "the-app", rec: "rec-1")))
        let arrow = Bytes.ld(1, Bytes.storeId(kind: 1, app: nil, rec: "rec-1")) + Bytes.ld(5, [1, 2])
        let other = Bytes.ld(1, Bytes.storeId(kind: 1, app: nil, rec: "rec-2")) + Bytes.ld(5, [1, 2])
        let events = decode(
            Bytes.streamHeader() + Bytes.message(kind: 1, info) + Bytes.message(kind: 2, arrow)
                + Bytes.message(kind: 2, other))
        let stores = events.compactMap(\.framed).map(\.message.storeId)
        #expect(
            stores == [
                StoreId(kind: .recording, applicationId: "the-app", recordingId: "rec-1"),
                StoreId(kind: .recording, applicationId: "the-app", recordingId: "rec-1"),
                StoreId(kind: .recording, applicationId: "", recordingId: "rec-2"),
            ])
        #expect(events.compactMap(\.error).isEmpty)
    }

    @Test("a new stream header where a message header is expected starts a new stream")
    func streamWithoutEndThenStream() throws {
        let a = try Bytes.fixture("no_footer.rrd")
        let b = try Bytes.fixture("scalars_sequence.rrd")
        let events = decode(a + b)
        #expect(events.compactMap(\.error).isEmpty)
        let headers = events.compactMap { e -> UInt64? in
            if case .streamHeader(_, let o) = e { return o }
            return nil
        }
        #expect(headers == [0, UInt64(a.count)])
        #expect(events.compactMap(\.framed).count == 4 + 5)
    }

    @Test("footer checksum mismatch: reported after the footer, messages still delivered")
    func checksumMismatch() throws {
        var bytes = try Bytes.fixture("scalars_sequence.rrd")
        bytes[5603 + 10] ^= 0xFF  // inside the End payload (RrdFooter)
        let events = decode(bytes)
        #expect(events.compactMap(\.framed).count == 5)
        let errors = events.compactMap(\.error)
        #expect(errors.map(\.code) == [.checksumMismatch])
        #expect(errors.first?.offset == UInt64(bytes.count - 32 + 16))
        let footer = events.compactMap { e -> StreamFooterInfo? in
            if case .streamFooter(let f, _) = e { return f }
            return nil
        }
        #expect(footer.first?.crcOK == false)
        let unchecked = decode(bytes, options: ReaderOptions(verifyFooterChecksum: false))
        #expect(unchecked.compactMap(\.error).isEmpty)
    }

    @Test("End message without stream footer: at EOF, and before a new stream")
    func endWithoutFooter() throws {
        let full = try Bytes.fixture("scalars_sequence.rrd")
        let cut = Array(full.dropLast(32))
        let atEOF = decode(cut)
        #expect(atEOF.compactMap(\.framed).count == 5)
        #expect(atEOF.compactMap(\.error).map(\.code) == [.badFooter])
        #expect(atEOF.compactMap(\.error).first?.offset == UInt64(cut.count))

        let next = try Bytes.fixture("no_footer.rrd")
        let events = decode(cut + next)
        #expect(events.compactMap(\.error).map(\.code) == [.badFooter])
        #expect(events.compactMap(\.error).first?.offset == UInt64(cut.count))
        #expect(events.compactMap(\.framed).count == 5 + 4)
    }

    @Test("bytes after a stream footer that are not a stream header")
    func trailingGarbage() throws {
        let full = try Bytes.fixture("scalars_sequence.rrd")
        let events = decode(full + Array("garbage!!!!!".utf8))
        #expect(events.compactMap(\.framed).count == 5)
        #expect(events.compactMap(\.error).map(\.code) == [.notRRD])
        #expect(events.compactMap(\.error).first?.offset == UInt64(full.count))
    }

    @Test("a bad protobuf payload is reported and reading continues with the next message")
    func badProtobufContinues() throws {
        var bytes = try Bytes.fixture("scalars_sequence.rrd")
        bytes[28] = 0x0F  // first SetStoreInfo payload: field 1 with wire type 7
        let events = decode(bytes)
        let errors = events.compactMap(\.error)
        #expect(errors.map(\.code) == [.badProtobuf])
        #expect(errors.first?.offset == 12)
        #expect(events.compactMap(\.framed).map(\.offset) == [115, 218, 2910, 5587])
    }

    @Test("a declared payload length above the cap is a framing error, nothing allocated")
    func tooLarge() throws {
        let bytes = try Bytes.fixture("scalars_sequence.rrd")
        let events = decode(bytes, options: ReaderOptions(maxMessageSize: 1000))
        #expect(events.compactMap(\.error).map(\.code) == [.tooLarge])
        #expect(events.compactMap(\.error).first?.offset == 218)
        #expect(events.compactMap(\.framed).count == 2)
        // A header claiming 2^63 bytes with the default cap.
        let huge = decode(Bytes.streamHeader() + Bytes.u64(2) + Bytes.u64(1 << 63))
        #expect(huge.compactMap(\.error).map(\.code) == [.tooLarge])
    }

    @Test("LZ4: a lying uncompressed_size is an error, not a crash", arguments: [0xC7, 0xC9] as [UInt8])
    func lyingSize(byte: UInt8) throws {
        var bytes = try Bytes.fixture("scalars_sequence.rrd")
        #expect(bytes[0x11B] == 0xC8)
        bytes[0x11B] = byte  // uncompressed_size 4040 -> 4039 / 4041
        let messages = decode(bytes).compactMap(\.framed)
        guard case .arrowMsg(let a) = messages[2].message else {
            Issue.record("not an ArrowMsg")
            return
        }
        #expect(throws: RRDError.self) { try a.checkedIPCPayload(source: "mem", offset: 218) }
        do {
            _ = try a.checkedIPCPayload(source: "mem", offset: 218)
        } catch {
            #expect(error.code == .decompression)
            #expect(error.offset == 218)
        }
        #expect(throws: RRDError.self) { try a.decompressedPayload(maxSize: 100) }
    }

    @Test("IPC framing damage inside an uncompressed payload is found at the message offset")
    func ipcDamage() throws {
        let path = Fixtures.rrdPath("uncompressed.rrd")
        let events = try readEvents(path)
        let (offset, arrow) = try #require(
            events.compactMap(\.framed).compactMap { m -> (UInt64, ArrowMsg)? in
                if case .arrowMsg(let a) = m.message { return (m.offset, a) }
                return nil
            }.first)
        #expect(arrow.compression != .lz4)
        _ = try arrow.checkedIPCPayload(source: path, offset: offset)
        // The payload is a slice of the single read block, so its range is its file offset.
        let payloadStart = arrow.payload.range.lowerBound
        var bytes = try Bytes.fixture("uncompressed.rrd")
        #expect(Array(bytes[payloadStart..<(payloadStart + 4)]) == [0xFF, 0xFF, 0xFF, 0xFF])
        bytes[payloadStart + 1] = 0
        let damaged = decode(bytes)
        let m = try #require(damaged.compactMap(\.framed).first { $0.offset == offset })
        guard case .arrowMsg(let bad) = m.message else { throw RRDError(.io, source: "", offset: 0, "") }
        do {
            _ = try bad.checkedIPCPayload(source: "mem", offset: offset)
            Issue.record("damage not found")
        } catch {
            #expect(error.code == .badPayload)
            #expect(error.offset == offset)
            #expect(error.message.contains("payload byte 0"))
        }
    }
}

@Suite("IPC framing walker")
struct IPCFramingTests {
    func check(_ bytes: [UInt8]) -> ArrowError? {
        do {
            try ByteSlice(copying: bytes).withUnsafeBytes { (b) throws(ArrowError) in _ = try IPCFraming.check(b) }
            return nil
        } catch { return error }
    }

    @Test("short, empty and EOS-only streams are rejected with a position")
    func rejects() {
        #expect(check([])?.offset == 0)
        #expect(check([0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0])?.message.contains("ends before its schema message") == true)
        #expect(check([0xFF, 0xFF, 0xFF, 0xFF, 8, 0, 0, 0])?.offset == 4)
        #expect(check([0xFE, 0xFF, 0xFF, 0xFF, 8, 0, 0, 0])?.message.contains("continuation") == true)
    }

    @Test(
        "every fixture chunk has schema, one record batch, EOS",
        arguments: Fixtures.rrdNames.filter { !$0.hasPrefix("corrupt") })
    func fixtures(name: String) throws {
        var rows: Int64 = 0
        defer {
            let totals = Fixtures.expectation(name)["totals"] as? [String: Any]
            #expect(u64(totals?["rows"]) == UInt64(rows))
        }
        for case .message(let m) in try readEvents(Fixtures.rrdPath(name)) {
            guard case .arrowMsg(let a) = m.message else { continue }
            let (ipc, entries) = try a.checkedIPCPayload(source: name, offset: m.offset)
            rows += entries.last?.rowCount ?? 0
            #expect(UInt64(ipc.count) == a.uncompressedSize)
            #expect(entries.first?.headerType == 1)
            #expect(entries.last?.headerType == 3)
            #expect(entries.filter { $0.headerType == 3 }.count == 1)
            // Trailing bytes after EOS are damage.
            var extra = ipc.bytes
            extra.append(0)
            #expect(check(extra)?.offset == ipc.count)
        }
    }
}

@Suite("xxHash32")
struct XXHash32Tests {
    @Test("known values")
    func known() {
        #expect(XXHash32.hash([], seed: 0) == 0x02CC_5D05)
        #expect(XXHash32.hash([], seed: 7_850_921) == 0x2A97_3671)
        #expect(XXHash32.hash(Array("abc".utf8), seed: 0) == 0x32D1_53FF)
        #expect(XXHash32.hash(Array("Nobody inspects the spammish repetition".utf8), seed: 0) == 0xE229_3B2F)
    }
}
