import ArrowIPC
import Chunks
import IngestCore
import Ingestion
import RRD

#if canImport(Glibc)
import Glibc
#endif

/// The recordings the benchmarks read, one per chunk shape. With `BENCH_RRD_DIR` set (the directory
/// `scripts/bench-compare.sh` generates into), the 50 MB files of that directory are used; otherwise
/// the small fixtures of the repository, so the benchmarks run from a clean clone.
enum Shape: String, CaseIterable {
    /// Many tiny chunks (10 rows of one f64, two timelines).
    case scalars
    /// Few multi-MB point-cloud chunks (f32×3 positions, u32 colours).
    case points
    /// Images, transforms, scalars and text logs.
    case mixed

    var fixture: String {
        switch self {
        case .scalars: "many_small_chunks.rrd"
        case .points: "points3d.rrd"
        case .mixed: "recording_with_blueprint.rrd"
        }
    }

    /// The file this run uses.
    var path: String {
        if let dir = getenv("BENCH_RRD_DIR").map({ String(cString: $0) }) {
            let candidate = "\(dir)/\(rawValue)_50mb.rrd"
            if access(candidate, R_OK) == 0 { return candidate }
        }
        return Recording.fixturesDirectory + "/" + fixture
    }
}

/// One recording loaded into memory: its bytes and its framed messages.
final class Recording: @unchecked Sendable {
    // @unchecked: immutable after init.

    static let fixturesDirectory: String = {
        // .../Tests/Benchmarks/IngestBenchmarks/Recordings.swift -> .../Fixtures/rrd
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(4)
        return parts.joined(separator: "/") + "/Fixtures/rrd"
    }()

    let path: String
    let bytes: ByteSlice
    let messages: [FramedMessage]
    let arrowMessages: [ArrowMsg]

    init(path: String) {
        self.path = path
        let file = fopen(path, "rb")
        precondition(file != nil, "cannot open \(path)")
        fseek(file, 0, SEEK_END)
        let size = ftell(file)
        fseek(file, 0, SEEK_SET)
        let storage = ByteStorage(count: size) { (dst: UnsafeMutableRawBufferPointer) in
            let got = fread(dst.baseAddress, 1, size, file)
            precondition(got == size, "short read of \(path)")
        }
        fclose(file)
        bytes = ByteSlice(storage)
        var messages: [FramedMessage] = []
        var decoder = StreamDecoder(source: path)
        let sink: (StreamEvent) -> Void = { event in
            if case .message(let m) = event { messages.append(m) }
        }
        decoder.feed(bytes, sink)
        decoder.finish(sink)
        self.messages = messages
        arrowMessages = messages.compactMap {
            if case .arrowMsg(let a) = $0.message { return a }
            return nil
        }
        precondition(!arrowMessages.isEmpty, "\(path) holds no ArrowMsg")
    }

    /// A stream of the first `count` messages (whole file cycled if shorter): stream header plus
    /// message frames copied from the file, for framing benchmarks with a known message count.
    func framedPrefix(messages count: Int) -> (stream: ByteSlice, messages: Int) {
        var out: [UInt8] = []
        bytes.withUnsafeBytes { all in
            out.append(contentsOf: all[0..<12])
            var n = 0
            while n < count {
                for m in messages where m.message.kind != .end && n < count {
                    let start = Int(m.offset)
                    out.append(contentsOf: all[start..<(start + 16 + Int(m.length))])
                    n += 1
                }
            }
        }
        return (ByteSlice(copying: out), count)
    }

    /// Chunks decoded from the first `count` `ArrowMsg`s.
    func decodedChunks(_ count: Int) -> [Chunk] {
        let decoder = ChunkDecoder()
        return arrowMessages.prefix(count).map { try! decoder.decode($0) }
    }

    nonisolated(unsafe) private static var loaded: [Shape: Recording] = [:]

    /// The recording of `shape`, loaded once (benchmarks run one after the other on one thread).
    static func of(_ shape: Shape) -> Recording {
        if let r = loaded[shape] { return r }
        let r = Recording(path: shape.path)
        loaded[shape] = r
        return r
    }
}

/// Decoding state kept across benchmark iterations: the recording's first ArrowMsgs (up to 256) and
/// their decompressed payloads, cycled through, and one decoder that stays warm, as a store's worker's does.
final class DecodeBench: @unchecked Sendable {
    // @unchecked: used by the benchmark thread only (benchmarks run one after the other).
    let messages: [ArrowMsg]
    let payloads: [ByteStorage]
    let decoder = ChunkDecoder()
    private var nextPayload = 0
    private var nextMessage = 0

    init(_ recording: Recording) {
        messages = Array(recording.arrowMessages.prefix(256))
        payloads = messages.map { msg in
            let p = try! msg.decompressedPayload()
            return p.withUnsafeBytes { ByteStorage(unsafeBorrowing: $0, owner: p.storage) }
        }
        // Warm the decoder's caches on every schema of the cycle.
        for m in messages { _ = try! decoder.decode(m) }
    }

    /// Decodes the next decompressed payload (Arrow IPC + chunk conventions), with the warm decoder
    /// or the one given.
    func decodeNextPayload(with other: ChunkDecoder? = nil) throws -> Chunk {
        let i = nextPayload
        nextPayload = i + 1 == payloads.count ? 0 : i + 1
        return try (other ?? decoder).decode(ipc: payloads[i], chunkIdHint: messages[i].chunkId)
    }

    /// Decodes the next message (LZ4 + Arrow + chunk) with the warm decoder.
    func decodeNextMessage() throws -> Chunk {
        let i = nextMessage
        nextMessage = i + 1 == messages.count ? 0 : i + 1
        return try decoder.decode(messages[i])
    }

    nonisolated(unsafe) private static var made: [Shape: DecodeBench] = [:]

    /// The state of `shape`, made once.
    static func of(_ shape: Shape) -> DecodeBench {
        if let d = made[shape] { return d }
        let d = DecodeBench(Recording.of(shape))
        made[shape] = d
        return d
    }
}
