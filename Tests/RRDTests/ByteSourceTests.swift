import FixtureSupport
import Foundation
import IngestCore
import RRD
import Testing

/// A byte source over memory that hands out at most `piece` bytes per read, fails read number
/// `failAt` (1-based) with `errno` `failures` times, and, while `available` is below the size, says
/// "no more bytes now" at `available` (a file being written).
final class PieceSource: ByteSource {
    let bytes: [UInt8]
    let piece: Int
    var failAt: Int
    var failures: Int
    var available: Int
    var position = 0
    var reads = 0
    var finished = 0

    init(_ bytes: [UInt8], piece: Int, failAt: Int = .max, failures: Int = 0, available: Int? = nil) {
        self.bytes = bytes
        self.piece = piece
        self.failAt = failAt
        self.failures = failures
        self.available = available ?? bytes.count
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ByteSourceError) -> Int {
        reads += 1
        if reads >= failAt && failures > 0 {
            failures -= 1
            throw ByteSourceError(errno: EIO, "injected")
        }
        let n = min(piece, buffer.count, available - position)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + position, byteCount: n) }
        position += n
        return n
    }

    func finishInput() -> Bool {
        finished += 1
        return false
    }
}

/// Reads `source` to its end in reads of `block` bytes: retries transient errors, and on a 0 ends
/// the input and reads what it held back.
private func drain(_ source: any ByteSource, block: Int = 1 << 16) throws -> [UInt8] {
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: block)
    var ended = false
    while true {
        var n = 0
        do {
            n = try buffer.withMutableBytes { raw throws(ByteSourceError) in try source.read(into: raw) }
        } catch {
            // (Not `catch where`: that form crashes the 6.3 compiler's ownership verifier here.)
            if error.isTransient { continue }
            throw error
        }
        if n > 0 {
            out += buffer[..<n]
        } else if !ended, try source.finishInput() {
            ended = true
        } else {
            return out
        }
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeMutableBytes` keeping the closure's typed error.
    fileprivate mutating func withMutableBytes<R>(
        _ body: (UnsafeMutableRawBufferPointer) throws(ByteSourceError) -> R
    ) throws(ByteSourceError) -> R {
        var failure: ByteSourceError?
        let result: R? = self.withUnsafeMutableBytes { raw -> R? in
            do throws(ByteSourceError) { return try body(raw) } catch {
                failure = error
                return nil
            }
        }
        if let failure { throw failure }
        return result!
    }
}

@Suite("Byte sources: memory, zstd decorator, detection, the reader over any source")
struct ByteSourceTests {
    @Test("RRDReader over a MemoryByteSource (plain and zstd) gives the file's events", arguments: Fixtures.rrdNames)
    func memoryEqualsFile(name: String) throws {
        let path = Fixtures.rrdPath(name)
        let reference = try readEvents(path)
        let bytes = try Bytes.fixture(name)
        for (input, label) in [(bytes, "plain"), (Fixtures.zstdCompressed(bytes, frames: 3), "zstd")] {
            for block in [16, 4099, 1 << 20] {
                var reader = RRDReader(
                    source: ZstdDetectingByteSource(MemoryByteSource(input)), name: path,
                    options: ReaderOptions(readBlockSize: block))
                var events: [StreamEvent] = []
                while let e = reader.next() { events.append(e) }
                #expect(firstDifference(events, reference) == nil, "\(label), block \(block)")
                #expect(reader.isZstdCompressed == (label == "zstd"))
            }
        }
    }

    @Test("zstd decorator: pieces of 1, 7 and 4096 compressed bytes and retried EIO reads give the original bytes")
    func zstdPiecesAndRetries() throws {
        let bytes = try Bytes.fixture("many_small_chunks.rrd")
        let compressed = Fixtures.zstdCompressed(bytes, frames: 4)
        for piece in [1, 7, 4096] {
            for block in [1, 100, 1 << 16] {
                let inner = PieceSource(compressed, piece: piece, failAt: 3, failures: 2)
                let source = try ZstdByteSource(decompressing: inner)
                let out = try drain(source, block: block)
                #expect(out == bytes, "piece \(piece), block \(block)")
                #expect(inner.failures == 0, "the injected failures were met and retried")
                #expect(source.bytesProduced == UInt64(bytes.count))
            }
        }
    }

    @Test("zstd decorator on a growing input: reads return 0 while the writer is behind, then go on")
    func zstdGrowing() throws {
        let bytes = try Bytes.fixture("recording_with_blueprint.rrd")
        let compressed = Fixtures.zstdCompressed(bytes, frames: 2)
        let inner = PieceSource(compressed, piece: 1000, available: 0)
        let source = try ZstdByteSource(decompressing: inner)
        #expect(source.canGrow)
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var zeros = 0
        // The writer appends 333 compressed bytes whenever the reader has caught up.
        while out.count < bytes.count && zeros < 10_000 {
            let n = try buffer.withMutableBytes { raw throws(ByteSourceError) in try source.read(into: raw) }
            if n == 0 {
                zeros += 1
                inner.available = min(compressed.count, inner.available + 333)
            }
            out += buffer[..<n]
        }
        #expect(out == bytes)
        #expect(zeros > 3, "the reader caught up with the writer several times")
        #expect(try source.finishInput() == false)
    }

    @Test("a truncated zstd input: finishInput reports the unfinished frame at the decompressed offset")
    func zstdTruncated() throws {
        let bytes = try Bytes.fixture("points3d.rrd")
        let compressed = Fixtures.zstdCompressed(bytes)
        let inner = PieceSource(Array(compressed.prefix(compressed.count / 2)), piece: 512)
        let source = try ZstdByteSource(decompressing: inner)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var produced = 0
        while case let n = try buffer.withMutableBytes({ raw throws(ByteSourceError) in try source.read(into: raw) }),
            n > 0
        {
            #expect(Array(buffer[..<n]) == Array(bytes[produced..<(produced + n)]))
            produced += n
        }
        #expect(produced < bytes.count)
        do {
            try source.finishInput()
            Issue.record("no truncation reported")
        } catch {
            #expect(error.code == .truncated)
            #expect(error.offset == UInt64(produced))
            #expect(!error.isTransient)
        }
        #expect(inner.finished == 1, "the inner source's input was ended too")
    }

    @Test("corrupt zstd data is a decompression error at its decompressed offset; bytes before it are delivered")
    func zstdCorrupt() throws {
        let bytes = try Bytes.fixture("scalars_sequence.rrd")
        // Two frames, the second with a damaged magic: libzstd fails exactly where the first one ends.
        let half = bytes.count / 2
        var second = Fixtures.zstdCompressed(Array(bytes[half...]))
        second[0] ^= 0x5A
        let compressed = Fixtures.zstdCompressed(Array(bytes[..<half])) + second
        let source = try ZstdByteSource(decompressing: MemoryByteSource(compressed))
        var produced: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        var failure: ByteSourceError?
        while true {
            do {
                let n = try buffer.withMutableBytes { raw throws(ByteSourceError) in try source.read(into: raw) }
                if n == 0 { break }
                produced += buffer[..<n]
            } catch {
                failure = error
                break
            }
        }
        let error = try #require(failure)
        #expect(error.code == .decompression)
        #expect(error.offset == UInt64(half))
        #expect(error.message.hasPrefix("zstd: "))
        #expect(produced == Array(bytes[..<half]))
    }

    @Test("detection: 0 to 3 bytes are kept until finishInput and handed out then, as an uncompressed input")
    func shortInputs() throws {
        let header = try Array(Bytes.fixture("points3d.rrd").prefix(3))
        for count in 0...3 {
            let inner = PieceSource(Array(header.prefix(count)), piece: 1, available: count)
            let source = ZstdDetectingByteSource(inner)
            var buffer = [UInt8](repeating: 0, count: 64)
            #expect(try buffer.withMutableBytes { raw throws(ByteSourceError) in try source.read(into: raw) } == 0)
            #expect(source.isZstdCompressed == nil, "undecided with \(count) bytes")
            #expect(try source.finishInput() == (count > 0))
            #expect(source.isZstdCompressed == false)
            let n = try buffer.withMutableBytes { raw throws(ByteSourceError) in try source.read(into: raw) }
            #expect(Array(buffer[..<n]) == Array(header.prefix(count)))
            #expect(try buffer.withMutableBytes { raw throws(ByteSourceError) in try source.read(into: raw) } == 0)
        }
    }

    @Test("detection waits for the magic on a growing input, then decompresses everything")
    func detectionOnGrowingInput() throws {
        let bytes = try Bytes.fixture("points3d.rrd")
        let compressed = Fixtures.zstdCompressed(bytes)
        let inner = PieceSource(compressed, piece: 1, available: 2)
        let source = ZstdDetectingByteSource(inner)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        #expect(try buffer.withMutableBytes { raw throws(ByteSourceError) in try source.read(into: raw) } == 0)
        #expect(source.isZstdCompressed == nil)
        inner.available = compressed.count
        let out = try drain(source)
        #expect(source.isZstdCompressed == true)
        #expect(out == bytes)
    }

    @Test("ByteSources.open: a file (zstd by magic, whatever its name), errors with errno")
    func openPaths() throws {
        let bytes = try Bytes.fixture("scalars_sequence.rrd")
        let path = NSTemporaryDirectory() + "bytesource-\(getpid())-\(UUID().uuidString).rrd"
        try Data(Fixtures.zstdCompressed(bytes)).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let source = try ByteSources.open(path: path)
        #expect(source.canGrow, "a regular file can grow")
        #expect(try source.detect())
        #expect(try drain(source) == bytes)
        do {
            _ = try ByteSources.open(path: "/nonexistent/x.rrd")
            Issue.record("opened a missing file")
        } catch {
            #expect(error.code == .io)
            #expect(error.errno == ENOENT)
            #expect(error.message == "cannot open: No such file or directory")
        }
        #expect(ByteSourceError(errno: EIO, "read failed").isTransient)
        #expect(!ByteSourceError(errno: ENOENT, "cannot open").isTransient)
        #expect(!MemoryByteSource([1, 2, 3]).canGrow)
    }

    @Test("RRDReader: an I/O error mid-input ends it with an io error after the events before it")
    func readErrorEndsInput() throws {
        let bytes = try Bytes.fixture("many_small_chunks.rrd")
        let reference = decodeInPieces(bytes, piece: 1 << 20, source: "flaky")
        var reader = RRDReader(
            source: PieceSource(bytes, piece: 4096, failAt: 3, failures: 1), name: "flaky",
            options: ReaderOptions(readBlockSize: 4096))
        var events: [StreamEvent] = []
        while let e = reader.next() { events.append(e) }
        let errors = events.compactMap(\.error)
        #expect(errors.count == 1)
        #expect(errors.first?.code == .io)
        #expect(errors.first?.offset == reader.bytesConsumed)
        let delivered = events.filter { $0.error == nil }
        #expect(!delivered.isEmpty)
        #expect(firstDifference(Array(reference.prefix(delivered.count)), delivered) == nil)
    }
}
