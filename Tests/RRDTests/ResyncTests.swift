import RRD
import Testing

/// After a framing error the decoder skips to the next `RRF2` stream header and goes on there, so
/// damage in one stream of a concatenation costs only the rest of that stream.
@Suite("Resynchronisation at the next stream header")
struct ResyncTests {
    private func decode(_ bytes: [UInt8], piece: Int, options: ReaderOptions = .init()) -> [StreamEvent] {
        decodeInPieces(bytes, piece: piece, options: options)
    }

    /// Message offsets of a clean decode, relative to the input's start.
    private func messageOffsets(_ events: [StreamEvent]) -> [UInt64] { events.compactMap(\.framed).map(\.offset) }

    @Test("damage in the first of two streams: every message of the second is still decoded", arguments: [1, 7, 4096, 1 << 20])
    func damagedFirstStream(piece: Int) throws {
        let a = try Bytes.fixture("scalars_sequence.rrd")
        let b = try Bytes.fixture("text_logs.rrd")
        let cleanA = messageOffsets(decode(a, piece: 1 << 20))
        let cleanB = messageOffsets(decode(b, piece: 1 << 20))
        #expect(cleanA.count > 3 && cleanB.count > 3)
        // Overwrite the kind of A's third message header with an unknown kind.
        let damageAt = Int(cleanA[2])
        var bytes = a + b
        for k in 0..<8 { bytes[damageAt + k] = k == 0 ? 0x77 : 0 }
        let events = decode(bytes, piece: piece)
        let errors = events.compactMap(\.error)
        #expect(errors.count == 1, "\(errors)")
        #expect(errors.first?.code == .unknownMessageKind)
        #expect(errors.first?.offset == UInt64(damageAt))
        let got = messageOffsets(events)
        let expected = Array(cleanA.prefix(2)) + cleanB.map { $0 + UInt64(a.count) }
        #expect(got == expected)
        // The error comes in order: after A's messages before the damage, before B's.
        let errorIndex = try #require(events.firstIndex { $0.error != nil })
        let firstB = try #require(events.firstIndex { $0.framed?.offset == UInt64(a.count) + cleanB[0] })
        #expect(errorIndex < firstB)
    }

    @Test("garbage between streams, with false RRF2 candidates inside, is skipped with one error")
    func garbageBetweenStreams() throws {
        let a = try Bytes.fixture("scalars_sequence.rrd")
        let b = try Bytes.fixture("text_logs.rrd")
        var garbage: [UInt8] = Array("RRF2".utf8) + [0xFF, 0xFF, 0xFF, 0xFF] + [UInt8](repeating: 0x5A, count: 37)
        garbage += Array("RRF".utf8) + [0x33] + Array("xRRF2".utf8) + [1, 2, 3]
        for piece in [1, 3, 5, 64, 1 << 20] {
            let events = decode(a + garbage + b, piece: piece)
            let errors = events.compactMap(\.error)
            #expect(errors.count == 1, "piece \(piece): \(errors)")
            // The bad stream header right after A (its offset names the field that is wrong).
            #expect((UInt64(a.count)..<UInt64(a.count + 12)).contains(errors.first?.offset ?? 0), "\(errors)")
            #expect(messageOffsets(events).count == messageOffsets(decode(a, piece: 1 << 20)).count
                + messageOffsets(decode(b, piece: 1 << 20)).count)
            #expect(events.filter { if case .streamHeader = $0 { return true } else { return false } }.count == 2)
        }
    }

    @Test("with resynchronize off, decoding ends at the first framing error")
    func noResync() throws {
        let a = try Bytes.fixture("scalars_sequence.rrd")
        let b = try Bytes.fixture("text_logs.rrd")
        let events = decode(a + [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16] + b, piece: 4096,
            options: ReaderOptions(resynchronize: false))
        #expect(events.compactMap(\.error).count == 1)
        #expect(messageOffsets(events).count == messageOffsets(decode(a, piece: 1 << 20)).count)
    }

    @Test("a damaged stream with no later stream: one error, the input is read to its end")
    func noLaterStream() throws {
        let a = try Bytes.fixture("scalars_sequence.rrd")
        let clean = messageOffsets(decode(a, piece: 1 << 20))
        var bytes = a
        bytes[Int(clean[1])] = 0x55
        for piece in [1, 4096] {
            var decoder = StreamDecoder(source: "mem")
            var events: [StreamEvent] = []
            bytes.withUnsafeBytes { b in
                var i = 0
                while i < b.count {
                    decoder.feed(UnsafeRawBufferPointer(rebasing: b[i..<min(i + piece, b.count)])) { events.append($0) }
                    i += piece
                }
            }
            #expect(!decoder.isStopped)
            decoder.finish { events.append($0) }
            #expect(events.compactMap(\.error).count == 1)
            #expect(messageOffsets(events) == [clean[0]])
        }
    }

    @Test("random damage to a concatenation: the same events whatever the piece size; the stream after the damage survives")
    func randomDamage() throws {
        let a = try Bytes.fixture("scalars_sequence.rrd")
        let b = try Bytes.fixture("text_logs.rrd")
        let cleanB = messageOffsets(decode(b, piece: 1 << 20)).map { $0 + UInt64(a.count) }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        for round in 0..<150 {
            var bytes = a + b
            // 1–3 damaged bytes anywhere in A (header bytes included).
            for _ in 0...(next() % 3) { bytes[Int(next() % UInt64(a.count))] = UInt8(truncatingIfNeeded: next()) }
            let whole = decode(bytes, piece: bytes.count)
            for piece in [1, 7, 13, 4096] {
                #expect(decode(bytes, piece: piece) == whole, "round \(round), piece \(piece)")
            }
            // B's messages all come out, unless a damaged length swallowed them (the input then ends
            // inside that payload: reported as truncated, nothing to resynchronise on).
            let got = Set(messageOffsets(whole))
            let swallowed = whole.contains { $0.error?.code == .truncated }
            #expect(swallowed || cleanB.allSatisfy { got.contains($0) }, "round \(round)")
        }
    }

    @Test("a damaged length that swallows the rest of the input: reported as truncated, and the stream it swallowed is still decoded", arguments: [1, 7, 4096, 1 << 20])
    func swallowingLength(piece: Int) throws {
        let a = try Bytes.fixture("scalars_sequence.rrd")
        let b = try Bytes.fixture("text_logs.rrd")
        let cleanA = messageOffsets(decode(a, piece: 1 << 20))
        let cleanB = messageOffsets(decode(b, piece: 1 << 20)).map { $0 + UInt64(a.count) }
        var bytes = a + b
        // A's second message declares 1 MiB: its payload would run past the end of the input.
        let at = Int(cleanA[1]) + 8
        for k in 0..<8 { bytes[at + k] = UInt8(truncatingIfNeeded: (1 << 20) >> (8 * k)) }
        let events = decode(bytes, piece: piece)
        let errors = events.compactMap(\.error)
        #expect(errors.count == 1, "\(errors)")
        #expect(errors.first?.code == .truncated)
        #expect(errors.first?.offset == cleanA[1])
        #expect(messageOffsets(events) == [cleanA[0]] + cleanB)
        let errorIndex = try #require(events.firstIndex { $0.error != nil })
        let firstB = try #require(events.firstIndex { $0.framed?.offset == cleanB[0] })
        #expect(errorIndex < firstB)
    }
}
