import ArrowIPC
import Chunks
import FixtureSupport
import Foundation
import RRD
import Testing

/// Damaged variants of every recording fixture, generated from fixed seeds: truncation, bit flips in headers and
/// payloads, lying lengths, zero-filled regions (damage), and swapped or duplicated whole messages (still
/// well-formed). Each variant is decoded by the stream decoder and its changed ArrowMsgs by the chunk decoder.
///
/// For every variant: no trap and no hang (each decode is timed); every message that ends before the first damaged
/// byte is delivered unchanged and in order (otherwise it counts as lost); a new error, if any, is reported at or
/// after the start of the damaged unit and inside the input. Truncation inside a unit must be reported. Swapped and
/// duplicated messages must come out whole: the exact message bytes in the new order, with no error.
@Suite("Damaged-input corpus")
struct DamagedCorpusTests {
    /// Variants per damage kind and fixture; 24 fixtures × 8 kinds × this many.
    static let perKind = 6
    /// A single decode slower than this (debug build) counts as a hang.
    static let hangLimit: Duration = .seconds(2)

    enum Kind: String, CaseIterable, Sendable {
        case truncation, headerFlip, payloadFlip, lyingLength, zeroFill, anyFlip, swap, duplicate
        var keepsWellFormed: Bool { self == .swap || self == .duplicate }
    }

    struct Report: CustomStringConvertible {
        var variants = 0
        var crashes = 0
        var hangs = 0
        var lost = 0
        var rejected = 0
        var accepted = 0
        var acceptedWhole = 0
        var chunkErrors = 0
        var chunksDecoded = 0
        var failures: [String] = []
        var description: String {
            "damaged-input corpus: variants tried \(variants), crashes \(crashes), hangs \(hangs), messages lost \(lost); "
                + "rejected with an error \(rejected), accepted \(accepted) (well-formed, delivered whole "
                + "\(acceptedWhole)); damaged chunks: \(chunkErrors) errors, \(chunksDecoded) decoded"
        }
    }

    /// Every recording fixture (including the deliberately corrupt ones: their own damage is in the baseline).
    static var names: [String] {
        let dir = Fixtures.rrd.path
        let all = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return all.filter { $0.hasSuffix(".rrd") || $0.hasSuffix(".rbl") }.sorted()
    }

    @Test("every variant of every fixture: no crash, no hang, no message lost before the damage")
    func corpus() throws {
        let names = Self.names
        try #require(names.count >= 20, "fixtures not found in \(Fixtures.rrd.path)")
        var report = Report()
        for (index, name) in names.enumerated() {
            let bytes = try Fixtures.bytes(Fixtures.rrd.appendingPathComponent(name))
            let baseline = Decoded(bytes)
            var rng = SplitMix64(seed: 0x5EED_0000 + UInt64(index))
            for kind in Kind.allCases {
                for _ in 0..<Self.perKind {
                    guard let variant = makeVariant(kind, of: bytes, baseline: baseline, rng: &rng) else { continue }
                    check(variant, kind: kind, name: name, baseline: baseline, report: &report)
                }
            }
        }
        print(report)
        #expect(report.failures.isEmpty, "\(report.failures.prefix(20).joined(separator: "\n"))")
        #expect(report.lost == 0)
        #expect(report.hangs == 0)
        #expect(report.variants >= names.count * Kind.allCases.count * Self.perKind / 2)
        #expect(report.rejected > 0 && report.accepted > 0)
    }

    // MARK: - decoding

    /// The events of one input, with the raw bytes of each delivered message.
    struct Decoded {
        var events: [StreamEvent] = []
        var messages: [FramedMessage] = []
        var raw: [ArraySlice<UInt8>] = []
        var errors: [RRDError] = []
        /// Where fixed-size units and messages end: a cut there leaves a stream that is merely shorter.
        var boundaries: Set<Int> = []
        var streamHeaders: [Int] = []
        var footers: [Int] = []
        var elapsed: Duration = .zero

        init(_ bytes: [UInt8]) {
            var decoder = StreamDecoder(source: "variant", options: ReaderOptions(maxMessageSize: 1 << 26))
            var events: [StreamEvent] = []
            let clock = ContinuousClock()
            elapsed = clock.measure {
                bytes.withUnsafeBytes { b in
                    decoder.feed(b) { events.append($0) }
                    decoder.finish { events.append($0) }
                }
            }
            self.events = events
            for event in events {
                switch event {
                case .streamHeader(_, let offset):
                    streamHeaders.append(Int(offset))
                    boundaries.insert(Int(offset) + 12)
                case .message(let m):
                    messages.append(m)
                    let start = Int(m.offset)
                    let end = start + 16 + Int(m.length)
                    raw.append(bytes[start..<end])
                    if m.message.kind != .end { boundaries.insert(end) }
                case .streamFooter(_, let offset):
                    footers.append(Int(offset))
                    boundaries.insert(Int(offset) + 32)
                case .error(let e):
                    errors.append(e)
                }
            }
        }

        /// Index of the message whose bytes contain `offset`, if any.
        func message(containing offset: Int) -> Int? {
            messages.indices.first { Int(messages[$0].offset) <= offset && offset < Int(messages[$0].offset) + 16 + Int(messages[$0].length) }
        }

        /// Start of the unit (stream header, message, footer) containing `offset`, or `offset` itself.
        func unitStart(containing offset: Int) -> Int {
            var start = 0
            for s in streamHeaders where s <= offset && offset < s + 12 { start = s }
            for f in footers where f <= offset && offset < f + 32 { start = f }
            if let m = message(containing: offset) { start = Int(messages[m].offset) }
            return start
        }
    }

    struct Variant {
        var bytes: [UInt8]
        /// First byte that differs from the fixture (for well-formed kinds: where the rearranged region starts).
        var damageStart: Int
        /// The raw messages a well-formed variant must deliver, in order.
        var expectedRaw: [ArraySlice<UInt8>]?
        var label: String
    }

    // MARK: - generation

    func makeVariant(_ kind: Kind, of bytes: [UInt8], baseline: Decoded, rng: inout SplitMix64) -> Variant? {
        guard !bytes.isEmpty else { return nil }
        // Rearranging a recording that is already damaged would move its damage too: only intact ones.
        if kind.keepsWellFormed && !baseline.errors.isEmpty { return nil }
        var b = bytes
        switch kind {
        case .truncation:
            // Half the cuts at or next to a unit boundary, half anywhere.
            var cut = rng.below(b.count)
            if rng.below(2) == 0, let edge = baseline.boundaries.sorted().randomElement(using: &rng) {
                cut = Swift.max(0, Swift.min(b.count - 1, edge + rng.below(3) - 1))
            }
            return Variant(bytes: Array(b[..<cut]), damageStart: cut, label: "truncated at \(cut)")
        case .headerFlip:
            var headers: [(Int, Int)] = baseline.streamHeaders.map { ($0, 12) } + baseline.footers.map { ($0, 32) }
            headers += baseline.messages.map { (Int($0.offset), 16) }
            guard let (start, count) = headers.randomElement(using: &rng) else { return nil }
            let at = start + rng.below(count)
            let bit = rng.below(8)
            b[at] ^= UInt8(1 << bit)
            return Variant(bytes: b, damageStart: at, label: "header bit \(bit) flipped at \(at)")
        case .payloadFlip, .zeroFill:
            guard let m = baseline.messages.filter({ $0.length > 0 }).randomElement(using: &rng) else { return nil }
            let payloadStart = Int(m.offset) + 16
            let at = payloadStart + rng.below(Int(m.length))
            if kind == .payloadFlip {
                let bit = rng.below(8)
                b[at] ^= UInt8(1 << bit)
                return Variant(bytes: b, damageStart: at, label: "payload bit \(bit) flipped at \(at)")
            }
            let end = Swift.min(b.count, at + 1 + rng.below(64))
            guard let first = (at..<end).first(where: { b[$0] != 0 }) else { return nil }
            for i in at..<end { b[i] = 0 }
            return Variant(bytes: b, damageStart: first, label: "zeroed \(at)..<\(end)")
        case .lyingLength:
            guard let m = baseline.messages.randomElement(using: &rng) else { return nil }
            let lengthAt = Int(m.offset) + 8
            let choices: [UInt64] = [
                m.length + 1, m.length &- 1, m.length + UInt64(1 + rng.below(4096)), m.length / 2, 0,
                UInt64(b.count) * 2, 1 << 40, .max,
            ]
            let lie = choices[rng.below(choices.count)]
            guard lie != m.length else { return nil }
            withUnsafeBytes(of: lie.littleEndian) { for i in 0..<8 { b[lengthAt + i] = $0[i] } }
            let first = (lengthAt..<(lengthAt + 8)).first { b[$0] != bytes[$0] }!
            return Variant(bytes: b, damageStart: first, label: "length \(m.length) → \(lie) at \(lengthAt)")
        case .anyFlip:
            let at = rng.below(b.count)
            let bit = rng.below(8)
            b[at] ^= UInt8(1 << bit)
            return Variant(bytes: b, damageStart: at, label: "bit \(bit) flipped at \(at)")
        case .swap:
            let movable = baseline.messages.indices.filter { baseline.messages[$0].message.kind != .end }
            guard movable.count >= 2 else { return nil }
            var i = movable[rng.below(movable.count)]
            var j = movable[rng.below(movable.count)]
            if i > j { swap(&i, &j) }
            // Within one stream: a footer stores its End payload's offset relative to its stream header, and
            // swapping inside the stream moves neither.
            let stream = { (k: Int) in baseline.streamHeaders.last { $0 <= Int(baseline.messages[k].offset) } }
            guard i != j, stream(i) == stream(j), baseline.raw[i] != baseline.raw[j] else { return nil }
            let ri = baseline.raw[i]
            let rj = baseline.raw[j]
            // Replace the later one first so the earlier offsets stay valid.
            b.replaceSubrange(rj.startIndex..<rj.endIndex, with: ri)
            b.replaceSubrange(ri.startIndex..<ri.endIndex, with: rj)
            var expected = baseline.raw
            expected.swapAt(i, j)
            return Variant(
                bytes: b, damageStart: ri.startIndex, expectedRaw: expected,
                label: "messages at \(ri.startIndex) and \(rj.startIndex) swapped")
        case .duplicate:
            let movable = baseline.messages.indices.filter { baseline.messages[$0].message.kind != .end }
            guard let i = movable.randomElement(using: &rng) else { return nil }
            let r = baseline.raw[i]
            b.insert(contentsOf: r, at: r.endIndex)
            fixFooters(&b, baseline: baseline, after: r.startIndex, shift: r.count)
            var expected = baseline.raw
            expected.insert(r, at: i + 1)
            return Variant(
                bytes: b, damageStart: r.endIndex, expectedRaw: expected, label: "message at \(r.startIndex) duplicated")
        }
    }

    /// After `shift` bytes were inserted at `after`: adds them to the `rrd_footer_start` of the footers of the same
    /// stream (it is relative to the stream header; later streams moved whole).
    func fixFooters(_ b: inout [UInt8], baseline: Decoded, after: Int, shift: Int) {
        guard shift != 0 else { return }
        let stream = baseline.streamHeaders.last { $0 <= after } ?? 0
        for footer in baseline.footers where footer > after {
            guard (baseline.streamHeaders.last { $0 <= footer } ?? 0) == stream else { continue }
            // Footer position in the variant: moved by `shift` when the change precedes it.
            let at = footer + shift
            let old = (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[at + $1]) << (8 * $1) }
            let new = UInt64(Int(old) + shift)
            for k in 0..<8 { b[at + k] = UInt8((new >> (8 * k)) & 0xFF) }
        }
    }

    // MARK: - checking

    func check(_ variant: Variant, kind: Kind, name: String, baseline: Decoded, report: inout Report) {
        report.variants += 1
        let decoded = Decoded(variant.bytes)
        let where_ = "\(name): \(variant.label)"
        if decoded.elapsed > Self.hangLimit {
            report.hangs += 1
            report.failures.append("\(where_): decoding took \(decoded.elapsed)")
        }
        // 1. Every message that ends before the damage is delivered unchanged, in order, before any new error.
        let intact = baseline.raw.prefix { $0.endIndex <= variant.damageStart }
        let delivered = decoded.raw.prefix(intact.count)
        if !delivered.elementsEqual(intact) {
            report.lost += intact.count - zip(delivered, intact).prefix { $0 == $1 }.count
            report.failures.append("\(where_): \(intact.count) intact messages, \(delivered.count) delivered unchanged")
        }
        let oldErrors = Set(baseline.errors.filter { Int($0.offset) < variant.damageStart })
        let newErrors = decoded.errors.filter { !oldErrors.contains($0) }

        if let expected = variant.expectedRaw {
            // 2a. Well-formed rearrangements: every message whole, in the new order, no new error.
            if newErrors.isEmpty && decoded.raw.elementsEqual(expected) {
                report.accepted += 1
                report.acceptedWhole += 1
            } else {
                report.failures.append(
                    "\(where_): \(kind) should be delivered whole: \(decoded.raw.count) of \(expected.count) messages, errors \(newErrors.map(\.description))"
                )
            }
            return
        }
        // 2b. Damage: a new error sits at or after the damaged unit and inside the input.
        let unit = baseline.unitStart(containing: Swift.min(variant.damageStart, Swift.max(variant.bytes.count - 1, 0)))
        if let first = newErrors.first {
            report.rejected += 1
            if Int(first.offset) < Swift.min(unit, variant.damageStart) || Int(first.offset) > variant.bytes.count {
                report.failures.append(
                    "\(where_): error at \(first.offset), damaged unit starts at \(unit), input is \(variant.bytes.count) bytes: \(first)"
                )
            }
            if first.source != "variant" || first.message.isEmpty {
                report.failures.append("\(where_): error without source or text: \(first)")
            }
        } else {
            report.accepted += 1
            // A cut inside what the fixture had as complete units must be reported.
            let decodedEnd = baseline.boundaries.max() ?? 0
            if kind == .truncation && variant.damageStart < decodedEnd && !baseline.boundaries.contains(variant.damageStart) {
                report.failures.append("\(where_): a cut inside a unit was not reported")
            }
        }
        // 3. Changed ArrowMsgs go through the chunk decoder: a chunk or a ChunkError, never a trap.
        let known = Set(baseline.raw)
        let decoder = ChunkDecoder()
        for (m, raw) in zip(decoded.messages, decoded.raw) where !known.contains(raw) {
            guard case .arrowMsg(let msg) = m.message else { continue }
            do {
                _ = try decoder.decode(msg, maxPayloadSize: 1 << 26)
                report.chunksDecoded += 1
            } catch {
                report.chunkErrors += 1
                if error.message.isEmpty { report.failures.append("\(where_): chunk error without text") }
            }
        }
    }
}
