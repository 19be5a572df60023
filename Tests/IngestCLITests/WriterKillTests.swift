@preconcurrency import Glibc
import FixtureSupport
import IngestCore
import Foundation
import RRD
import Testing

/// What our reader makes of a file: the messages in order (offset, length), and the errors with the
/// index of the event they came at.
/// (Internal: the suite's static helpers take it.)
struct KillReading {
    var messages: [(offset: UInt64, length: UInt64)] = []
    var errors: [(code: RRDError.Code, atEvent: Int)] = []
    var events = 0
    var footers = 0

    init(_ path: String) throws {
        var reader = try RRDReader(path: path)
        while let event = reader.next() {
            switch event {
            case .message(let m): messages.append((m.offset, m.length))
            case .error(let e): errors.append((e.code, events))
            case .streamFooter: footers += 1
            case .streamHeader: break
            }
            events += 1
        }
    }
}

/// A writer killed with SIGKILL at seeded random points: a destination written through a rename is
/// either its old self or the complete output, never damaged; a writer killed while writing to a
/// descriptor leaves a prefix of the stream that our reader reads message for message, the cut-off
/// last message (if any) reported as truncation, last.
@Suite("RRD writer killed with SIGKILL")
struct WriterKillTests {
    /// A recording big enough that the child writes for a while: many small chunks, the stream repeated.
    static func bigInput(_ dir: String) throws -> String {
        let one = try Fixtures.bytes(URL(fileURLWithPath: Fixtures.rrdPath("many_small_chunks.rrd")))
        var all: [UInt8] = []
        all.reserveCapacity(one.count * 120)
        for _ in 0..<120 { all += one }
        let path = dir + "/big.rrd"
        try Data(all).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Runs `ingest args` with stdout to `stdoutPath` (or /dev/null), killed after `killAfter` µs (nil:
    /// runs to the end). Returns whether it was killed.
    static func run(_ args: [String], stdoutPath: String? = nil, killAfter: UInt32?) throws -> Bool {
        let p = Process()
        p.executableURL = try IngestBinaryTests.binary()
        p.arguments = args
        if let stdoutPath {
            _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
            p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        } else {
            p.standardOutput = FileHandle.nullDevice
        }
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        if let killAfter {
            usleep(killAfter)
            kill(p.processIdentifier, SIGKILL)
        }
        p.waitUntilExit()
        if p.terminationReason == .exit { #expect(p.terminationStatus == 0, "\(args)") }
        return p.terminationReason == .uncaughtSignal
    }

    static func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "ingest-kill-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A file killed mid-write: a byte prefix of the complete output, read message for message.
    static func checkPrefix(_ path: String, of complete: [UInt8], reference: KillReading, _ context: String) throws {
        let bytes = try Fixtures.bytes(URL(fileURLWithPath: path))
        #expect(bytes.count <= complete.count, "\(context)")
        #expect(Array(complete.prefix(bytes.count)) == bytes, "\(context): a prefix of the complete stream")
        guard bytes.count >= 12 else { return }  // not even a stream header: nothing to read
        let r = try KillReading(path)
        // Every message that fits whole is read, at its offset, in order.
        let whole = reference.messages.filter { $0.offset + 16 + $0.length <= UInt64(bytes.count) }
        #expect(r.messages.count >= whole.count, "\(context)")
        for (a, b) in zip(r.messages, whole) { #expect(a.offset == b.offset && a.length == b.length, "\(context)") }
        if bytes.count < complete.count {
            // At most one error, after every message: the truncation of the unit cut short.
            #expect(r.errors.count <= 1, "\(context): \(r.errors)")
            if let e = r.errors.first {
                #expect(e.code == .truncated, "\(context)")
                #expect(e.atEvent == r.events - 1, "\(context): the truncation is reported last")
            }
        } else {
            #expect(r.errors.isEmpty && r.footers == 1, "\(context)")
        }
    }

    @Test("20 seeds: -o FILE is the old file or the whole new one; the killed temporary file is a readable prefix")
    func killedWritingToPath() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = try Self.bigInput(dir)
        let old = try Fixtures.bytes(URL(fileURLWithPath: Fixtures.rrdPath("points3d.rrd")))
        var completes: [String: ([UInt8], KillReading)] = [:]
        var durations: [String: UInt32] = [:]
        for command in ["merge", "route"] {
            let out = dir + "/reference-\(command).rrd"
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = try Self.run([command, input, "-o", out, "-q"] + Self.extra(command), killAfter: nil)
            durations[command] = UInt32((DispatchTime.now().uptimeNanoseconds - t0) / 1000)
            completes[command] = (try Fixtures.bytes(URL(fileURLWithPath: out)), try KillReading(out))
            #expect(completes[command]!.1.errors.isEmpty)
        }
        var killed = 0
        var generator = SplitMix64(seed: 0x5EED_0019)
        for seed in 0..<20 {
            let command = seed % 2 == 0 ? "route" : "merge"
            let destination = dir + "/out-\(seed).rrd"
            try Data(old).write(to: URL(fileURLWithPath: destination))
            let delay = UInt32.random(in: 0...(durations[command]! * 11 / 10), using: &generator)
            let wasKilled = try Self.run(
                [command, input, "-o", destination, "-q"] + Self.extra(command), killAfter: delay)
            let now = try Fixtures.bytes(URL(fileURLWithPath: destination))
            let (complete, reference) = completes[command]!
            #expect(now == old || now == complete, "seed \(seed) (\(command), kill after \(delay) µs): destination damaged")
            if wasKilled { killed += 1 }
            if !wasKilled { #expect(now == complete, "seed \(seed): finished, so published") }
            // What a killed child left behind: at most its temporary file, a prefix of the stream.
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter {
                $0.hasPrefix(".out-\(seed).rrd.ingest-") && $0.hasSuffix(".tmp")
            }
            #expect(leftovers.count <= (wasKilled ? 1 : 0), "seed \(seed): \(leftovers)")
            for name in leftovers {
                try Self.checkPrefix(dir + "/" + name, of: complete, reference: reference, "seed \(seed) temporary file")
            }
        }
        #expect(killed >= 10, "most kills land while the child runs (\(killed) of 20)")
    }

    @Test("20 seeds: a writer killed writing to standard output leaves a prefix our reader reads to the cut")
    func killedWritingToDescriptor() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = try Self.bigInput(dir)
        var completes: [String: ([UInt8], KillReading)] = [:]
        var durations: [String: UInt32] = [:]
        for command in ["merge", "route"] {
            let out = dir + "/reference-\(command).rrd"
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = try Self.run([command, input, "-q"] + Self.extra(command), stdoutPath: out, killAfter: nil)
            durations[command] = UInt32((DispatchTime.now().uptimeNanoseconds - t0) / 1000)
            completes[command] = (try Fixtures.bytes(URL(fileURLWithPath: out)), try KillReading(out))
            #expect(completes[command]!.1.errors.isEmpty)
        }
        var generator = SplitMix64(seed: 0xF0_0019)
        var cut = 0
        for seed in 0..<20 {
            let command = seed % 2 == 0 ? "route" : "merge"
            let out = dir + "/stdout-\(seed).rrd"
            let delay = UInt32.random(in: 0...durations[command]!, using: &generator)
            _ = try Self.run([command, input, "-q"] + Self.extra(command), stdoutPath: out, killAfter: delay)
            let (complete, reference) = completes[command]!
            try Self.checkPrefix(out, of: complete, reference: reference, "seed \(seed) (\(command), \(delay) µs)")
            let size = (try FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
            if size > 12 && size < complete.count { cut += 1 }
        }
        #expect(cut >= 5, "kills land in the middle of the stream (\(cut) of 20)")
    }

    static func extra(_ command: String) -> [String] {
        command == "route" ? ["--recording-id", "killed"] : []
    }
}

@Suite("ingest replay --save")
struct ReplaySaveCommandTests {
    /// Per store, the chunk ids of a file in order (a repeated id once), and its footers' verdicts.
    static func chunkIds(_ path: String) throws -> (ids: [StoreId: [ChunkId]], footers: [Bool], errors: Int) {
        var reader = try RRDReader(path: path)
        var ids: [StoreId: [ChunkId]] = [:]
        var footers: [Bool] = []
        var errors = 0
        while let event = reader.next() {
            switch event {
            case .message(let m):
                if case .arrowMsg(let a) = m.message, let id = a.chunkId, !(ids[a.storeId] ?? []).contains(id) {
                    ids[a.storeId, default: []].append(id)
                }
            case .streamFooter(let f, _): footers.append(f.crcOK)
            case .error: errors += 1
            case .streamHeader: break
            }
        }
        return (ids, footers, errors)
    }

    @Test("the saved file holds every store's chunks in order, one checked footer; the exit status is the replay's")
    func save() throws {
        let dir = try WriterKillTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let names = ["points3d.rrd", "recording_with_blueprint.rrd", "text_logs.rrd"]
        let out = dir + "/saved.rrd"
        let r = try runIngest(["replay", "-q", "--reader-threads", "1", "--save", out] + names.map(Fixtures.rrdPath))
        #expect(r.status == 0, "\(r.err)")
        var expected: [StoreId: [ChunkId]] = [:]
        for name in names {
            for (store, ids) in try Self.chunkIds(Fixtures.rrdPath(name)).ids {
                for id in ids where !(expected[store] ?? []).contains(id) { expected[store, default: []].append(id) }
            }
        }
        let saved = try Self.chunkIds(out)
        #expect(saved.errors == 0 && saved.footers == [true])
        #expect(saved.ids == expected)
        // A damaged input: status 1, and what was readable is saved.
        let damaged = try runIngest(["replay", "-q", "--save", out, Fixtures.rrdPath("corrupt_truncated.rrd")])
        #expect(damaged.status == 1)
        #expect(try Self.chunkIds(out).footers == [true])
        // A folder that does not exist: status 3, nothing replayed.
        let unwritable = try runIngest(["replay", "-q", "--save", dir + "/no/such/dir/x.rrd", Fixtures.rrdPath(names[0])])
        #expect(unwritable.status == 3)
        #expect(unwritable.err.contains("x.rrd"))
    }
}
