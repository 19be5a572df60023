import CZstd
import FixtureSupport
import Foundation
import IngestCore
import RRD
import Testing

/// The byte range each event covers, to compute what a truncated input must yield.
private func extent(_ e: StreamEvent) -> Range<UInt64>? {
    switch e {
    case .streamHeader(_, let o): return o..<(o + 12)
    case .message(let m): return m.offset..<(m.offset + 16 + m.length)
    case .streamFooter(_, let o): return o..<(o + 32)
    case .error: return nil
    }
}

@Suite("Incremental input: pieces, truncation, zstd, block sizes")
struct IncrementalTests {
    static let names = Fixtures.rrdNames
    static let valid = Fixtures.rrdNames.filter { Fixtures.expectation($0)["expect_valid"] as? Bool == true }

    @Test("pieces of 1, 7 and 4096 bytes give the reader's events", arguments: names)
    func pieces(name: String) throws {
        let path = Fixtures.rrdPath(name)
        let reference = try readEvents(path)
        let bytes = try Bytes.fixture(name)
        for piece in [1, 7, 4096] {
            let events = decodeInPieces(bytes, piece: piece, source: path)
            #expect(firstDifference(events, reference) == nil, "piece size \(piece)")
        }
    }

    @Test("RRDReader with small read blocks and on zstd-compressed input", arguments: names)
    func blockSizesAndZstd(name: String) throws {
        let path = Fixtures.rrdPath(name)
        let reference = try readEvents(path)
        for block in [16, 1000, 4099] {
            #expect(
                firstDifference(try readEvents(path, options: ReaderOptions(readBlockSize: block)), reference) == nil,
                "block \(block)")
        }
        let zpath = try compressedCopy(name)
        defer { unlink(zpath) }
        for block in [16, 1 << 20] {
            var reader = try RRDReader(path: zpath, options: ReaderOptions(readBlockSize: block))
            #expect(reader.isZstdCompressed)
            var events: [StreamEvent] = []
            while let e = reader.next() { events.append(e) }
            #expect(firstDifference(events.map { renamed($0, path) }, reference) == nil, "zstd, block \(block)")
        }
    }

    @Test("a truncated zstd input reports truncation at the decompressed offset")
    func truncatedZstd() throws {
        let zpath = try compressedCopy("points3d.rrd")
        defer { unlink(zpath) }
        var data = try Fixtures.bytes(URL(fileURLWithPath: zpath))
        data.removeLast(data.count / 2)
        try Data(data).write(to: URL(fileURLWithPath: zpath))
        let events = try readEvents(zpath)
        let errors = events.compactMap(\.error)
        #expect(errors.count == 1)
        #expect(errors.first?.code == .truncated)
        // Everything before the error is a prefix of the plain file's events.
        let plain = try readEvents(Fixtures.rrdPath("points3d.rrd"))
        let delivered = events.filter { $0.error == nil }.map { renamed($0, Fixtures.rrdPath("points3d.rrd")) }
        #expect(firstDifference(Array(plain.prefix(delivered.count)), delivered) == nil)
    }

    @Test("missing file: an io error naming the path")
    func missingFile() {
        #expect(throws: RRDError.self) { try RRDReader(path: "/nonexistent/x.rrd") }
        do { _ = try RRDReader(path: "/nonexistent/x.rrd") } catch {
            #expect(error.code == .io)
            #expect(error.source == "/nonexistent/x.rrd")
        }
    }

    @Test("truncation: never a crash or hang; a clean result or an error at the right offset", arguments: valid)
    func truncation(name: String) throws {
        let bytes = try Bytes.fixture(name)
        let storage = ByteStorage(bytes)
        let full = decode(bytes)
        #expect(full.compactMap(\.error).isEmpty)
        let extents = full.map { extent($0)! }
        // Offsets to try.
        var offsets: Set<Int> = []
        if bytes.count <= 16 * 1024 {
            offsets = Set(0..<bytes.count)
        } else {
            for r in extents {
                for b in [Int(r.lowerBound), Int(r.upperBound)] {
                    for d in -32...32 where b + d >= 0 && b + d < bytes.count { offsets.insert(b + d) }
                }
            }
            var state: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
            for _ in 0..<1000 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                offsets.insert(Int((state >> 33) % UInt64(bytes.count)))
            }
        }
        for t in offsets.sorted() {
            var decoder = StreamDecoder(source: "mem")
            var events: [StreamEvent] = []
            decoder.feed(ByteSlice(storage: storage, range: 0..<t)) { events.append($0) }
            decoder.finish { events.append($0) }
            let cut = UInt64(t)
            let complete = zip(full, extents).filter { $0.1.upperBound <= cut }.map(\.0)
            let delivered = events.filter { $0.error == nil }
            guard delivered == complete else {
                Issue.record("\(name) cut at \(t): delivered \(delivered.count) events, expected \(complete.count)")
                continue
            }
            let errors = events.compactMap(\.error)
            // Where the cut falls: inside a unit (its start), or right after one.
            let inside = extents.first { $0.lowerBound < cut && cut < $0.upperBound }
            let endsEnd: Bool = zip(full, extents).contains { e, r in
                if case .message(let m) = e, m.message.kind == .end { return r.upperBound == cut }
                return false
            }
            if t == 0 {
                #expect(errors.map(\.code) == [.notRRD], "\(name) cut at 0")
            } else if let unit = inside {
                #expect(errors.count == 1 && errors.first?.offset == unit.lowerBound, "\(name) cut at \(t): \(errors)")
            } else if endsEnd {
                #expect(errors.map(\.code) == [.badFooter] && errors.first?.offset == cut, "\(name) cut at \(t)")
            } else {
                #expect(errors.isEmpty, "\(name) cut at \(t): \(errors)")
            }
        }
    }
}

/// The same event with `source` replaced (errors carry the input's name).
private func renamed(_ e: StreamEvent, _ source: String) -> StreamEvent {
    if case .error(var err) = e {
        err.source = source
        return .error(err)
    }
    return e
}

/// Writes a zstd-compressed copy of a fixture to a temporary file (in two frames, to test
/// concatenated frames) and returns its path.
private func compressedCopy(_ name: String) throws -> String {
    let bytes = try Bytes.fixture(name)
    let half = bytes.count / 2
    var out: [UInt8] = []
    for part in [Array(bytes[..<half]), Array(bytes[half...])] {
        let bound = ZSTD_compressBound(part.count)
        var buf = [UInt8](repeating: 0, count: bound)
        let n = buf.withUnsafeMutableBytes { dst in
            part.withUnsafeBytes { src in ZSTD_compress(dst.baseAddress, bound, src.baseAddress, src.count, 3) }
        }
        #expect(ZSTD_isError(n) == 0)
        out += buf[..<n]
    }
    // A fresh name per call: tests run in parallel in one process, and two of them may write (and
    // delete) the same fixture's compressed copy at once.
    let path = NSTemporaryDirectory() + "rrdtest-\(getpid())-\(UUID().uuidString)-\(name).zst"
    try Data(out).write(to: URL(fileURLWithPath: path))
    return path
}
