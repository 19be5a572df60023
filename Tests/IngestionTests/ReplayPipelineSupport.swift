import FixtureSupport
import Foundation
import Ingestion
import RRD
import Synchronization

/// Per store key `kind:app:rec`, the distinct chunk ids and their rows over several fixtures
/// (EXPECTED.json `chunks[]` lists exactly the chunks that decode; a chunk id in two files counts once).
func expectedUnion(_ names: [String]) -> [String: (chunks: Int, rows: Int)] {
    var ids: [String: [String: Int]] = [:]
    for name in names {
        let exp = Fixtures.expectation(name)
        let stores = exp["stores"] as! [[String: Any]]
        for c in exp["chunks"] as! [[String: Any]] {
            let short = c["store"] as! String  // "kind:rec"
            let s = stores.first { "\($0["kind"]!):\($0["recording_id"]!)" == short }!
            let key = "\(s["kind"]!):\(s["application_id"]!):\(s["recording_id"]!)"
            ids[key, default: [:]][c["chunk_id"] as! String] = c["num_rows"] as? Int
        }
        for s in stores {
            let key = "\(s["kind"]!):\(s["application_id"]!):\(s["recording_id"]!)"
            if ids[key] == nil { ids[key] = [:] }
        }
    }
    return ids.mapValues { ($0.count, $0.values.reduce(0, +)) }
}

/// A clock whose time only moves when someone sleeps: records every sleep.
final class VirtualClock: ReplayClock, Sendable {
    private let state = Mutex<(now: UInt64, sleeps: [UInt64])>((1_000_000_000, []))
    func now() -> UInt64 { state.withLock { $0.now } }
    func sleep(nanoseconds: UInt64) {
        state.withLock {
            $0.now += nanoseconds
            $0.sleeps.append(nanoseconds)
        }
    }
    var sleeps: [UInt64] { state.withLock { $0.sleeps } }
}

/// An in-memory source handing out `bytes` in pieces of `piece`; read number `failAt` (1-based)
/// throws EIO `failures` times before it succeeds.
final class FlakySource: ByteSource, @unchecked Sendable {
    // @unchecked: used by one reader thread at a time.
    let bytes: [UInt8]
    let piece: Int
    let failAt: Int
    var failures: Int
    var position = 0
    var reads = 0

    init(bytes: [UInt8], piece: Int, failAt: Int, failures: Int) {
        self.bytes = bytes
        self.piece = piece
        self.failAt = failAt
        self.failures = failures
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ByteSourceError) -> Int {
        reads += 1
        if reads >= failAt && failures > 0 {
            failures -= 1
            throw ByteSourceError(errno: EIO, "injected read failure")
        }
        let n = min(piece, buffer.count, bytes.count - position)
        bytes.withUnsafeBytes { src in
            buffer.baseAddress!.copyMemory(from: src.baseAddress! + position, byteCount: n)
        }
        position += n
        return n
    }
}

/// A file source that counts the times it found no new bytes (the reader caught up with the writer).
final class WatchedFileSource: ByteSource, @unchecked Sendable {
    // @unchecked: `inner` is used by one reader thread; the counter is atomic.
    let inner: FileByteSource
    let caughtUp: AtomicCount

    init(_ input: ReplayInput, caughtUp: AtomicCount) throws(ByteSourceError) {
        inner = try FileByteSource(path: input.description)
        self.caughtUp = caughtUp
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ByteSourceError) -> Int {
        let n = try inner.read(into: buffer)
        if n == 0 { caughtUp.value.add(1, ordering: .releasing) }
        return n
    }
}

/// A fresh temporary directory.
func makeTemporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "replay-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Polls `condition` until it holds or `seconds` pass; `false` on timeout.
func waitUntil(seconds: Double = 30, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
        if Date() > deadline { return false }
        usleep(1000)
    }
    return true
}

/// A shared atomic counter.
final class AtomicCount: Sendable {
    let value = Atomic<Int>(0)
    var current: Int { value.load(ordering: .acquiring) }
}
