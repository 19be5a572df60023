import IngestCore
import Ingestion
import Testing

@testable import RRD

/// The limits the RRD layer puts on what input controls, each shown with a clear error: message size (the
/// declared payload length), decompressed size (an ArrowMsg's `uncompressed_size`), and protobuf nesting (the
/// messages have a fixed shape; groups, the only construct that could nest without a length, are refused).
@Suite("RRD resource caps")
struct ResourceCapTests {
    /// The ArrowMsgs of a fixture.
    static func arrowMsgs(_ name: String) throws -> [(offset: UInt64, msg: ArrowMsg)] {
        decode(try Bytes.fixture(name)).compactMap { event in
            guard case .message(let m) = event, case .arrowMsg(let a) = m.message else { return nil }
            return (m.offset, a)
        }
    }

    @Test("message size: a payload length above maxMessageSize ends the input at its header", arguments: [0, 1])
    func messageSize(piece: Int) throws {
        let cap: UInt64 = 4096
        let prefix = Bytes.streamHeader()
        for (declared, rejected) in [(cap, false), (cap + 1, true), (UInt64.max, true)] {
            let bytes = prefix + Bytes.u64(2) + Bytes.u64(declared) + [1, 2, 3]
            var decoder = StreamDecoder(source: "cap", options: ReaderOptions(maxMessageSize: cap))
            var events: [StreamEvent] = []
            bytes.withUnsafeBytes { b in
                // In one piece, or a byte at a time (the header then arrives across feeds).
                let step = piece == 0 ? b.count : 1
                var i = 0
                while i < b.count {
                    decoder.feed(UnsafeRawBufferPointer(rebasing: b[i..<Swift.min(b.count, i + step)])) {
                        events.append($0)
                    }
                    i += step
                }
                decoder.finish { events.append($0) }
            }
            let errors = events.compactMap(\.error)
            #expect(errors.count == 1)
            if rejected {
                #expect(errors.first?.code == .tooLarge)
                #expect(errors.first?.offset == 12)
                #expect(errors.first?.message.contains("above the limit of 4096 bytes") == true, "\(errors)")
                #expect(decoder.isStopped)
            } else {
                #expect(errors.first?.code == .truncated, "exactly the cap is allowed: \(errors)")
            }
        }
    }

    @Test("a lying payload length costs memory for the bytes that arrive, not for the length it declares")
    func lyingLength() throws {
        let declared: UInt64 = 1 << 30  // allowed by the default cap
        var decoder = StreamDecoder(source: "lie")
        var events: [StreamEvent] = []
        let head = Bytes.streamHeader() + Bytes.u64(2) + Bytes.u64(declared)
        head.withUnsafeBytes { decoder.feed($0) { events.append($0) } }
        #expect(decoder.assemblyAllocated == 0)
        var fed = 0
        let piece = [UInt8](repeating: 7, count: 1000)
        for _ in 0..<300 {
            piece.withUnsafeBytes { decoder.feed($0) { events.append($0) } }
            fed += piece.count
            #expect(decoder.assemblyAllocated >= fed)
            #expect(decoder.assemblyAllocated <= max(2 * fed, 1 << 16), "\(decoder.assemblyAllocated) for \(fed)")
        }
        decoder.finish { events.append($0) }
        let errors = events.compactMap(\.error)
        #expect(errors.count == 1)
        #expect(errors.first?.code == .truncated)
        #expect(errors.first?.message.contains("declares \(declared) bytes, input ends after \(fed)") == true, "\(errors)")
    }

    @Test("a payload split across many pieces is assembled exactly, whatever the piece size", arguments: [1, 7, 4096, 70_000])
    func assembledAcrossPieces(piece: Int) throws {
        let bytes = try Bytes.fixture("many_small_chunks.rrd")
        let whole = decode(bytes)
        let events = decodeInPieces(bytes, piece: piece)
        let a = whole.compactMap(\.framed)
        let b = events.compactMap(\.framed)
        #expect(a.count == b.count && !a.isEmpty)
        #expect(a == b)
    }

    @Test("decompressed size: uncompressed_size above the cap is refused before anything is allocated")
    func decompressedSize() throws {
        let messages = try Self.arrowMsgs("scalars_sequence.rrd")
        let (offset, msg) = try #require(messages.first { $0.msg.compression.rawValue == 2 })
        let size = msg.uncompressedSize
        #expect(try msg.decompressedPayload(maxSize: size).count == Int(size))
        do {
            _ = try msg.decompressedPayload(maxSize: size - 1, source: "mem", offset: offset)
            Issue.record("no error below the declared size")
        } catch {
            #expect(error.code == .tooLarge)
            #expect(error.offset == offset)
            #expect(error.message.contains("declares \(size) uncompressed bytes, above the cap of \(size - 1)"))
        }
        // A lie far above any cap: the default cap (2 GiB) refuses it without allocating.
        var lying = msg
        lying.uncompressedSize = 1 << 40
        #expect(throws: RRDError.self) { try lying.decompressedPayload() }
        do {
            _ = try lying.checkedIPCPayload(source: "mem", offset: offset)
        } catch {
            #expect(error.code == .tooLarge)
        }
    }

    @Test("protobuf nesting: groups are refused, so no payload can make the reader recurse")
    func protobufGroups() throws {
        // SetStoreInfo with an unknown field 15 that starts a group (wire type 3) wrapping another one: an unknown
        // field is skipped, and skipping a group would have to recurse.
        let payload = Bytes.tag(15, 3) + Bytes.tag(16, 3) + Bytes.tag(16, 4) + Bytes.tag(15, 4)
        let events = decode(Bytes.streamHeader() + Bytes.message(kind: 1, payload))
        let error = try #require(events.compactMap(\.error).first)
        #expect(error.code == .badProtobuf)
        #expect(error.offset == 12)
        #expect(error.message.contains("group"), "\(error)")
    }
}
