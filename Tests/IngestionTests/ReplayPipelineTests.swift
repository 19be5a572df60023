import FixtureSupport
import Foundation
import IngestCore
import Ingestion
import RRD
import Synchronization
import Testing

@Suite("ReplayPipeline: many files at once (both builds)")
struct ReplayPipelineTests {
    static let all = Fixtures.rrdNames

    private func storeTotals(_ report: ReplayReport) -> [String: [Int]] {
        var got: [String: [Int]] = [:]
        for st in report.stores { got[st.storeId.description] = [st.chunks, st.rows] }
        return got
    }

    @Test("all fixtures at once: per-store totals equal EXPECTED.json, corrupt files listed with reasons")
    func allFixturesAtOnce() throws {
        let inputs = Self.all.map { ReplayInput.file(Fixtures.rrdPath($0)) }
        let pipeline = ReplayPipeline(inputs: inputs, options: ReplayOptions(readerThreads: 3))
        let report = pipeline.run()
        defer { pipeline.hub.shutdown(drain: true) }

        let want = expectedUnion(Self.all).mapValues { [$0.chunks, $0.rows] }
        #expect(storeTotals(report) == want)
        // Every chunk really is in its store's chunk store.
        for st in report.stores {
            let held = pipeline.storedTotals(st.storeId)
            #expect((held?.chunks ?? 0) == st.chunks, "\(st.storeId)")
            #expect((held?.rows ?? 0) == st.rows, "\(st.storeId)")
        }
        let invalid = Self.all.filter { !(Fixtures.expectation($0)["expect_valid"] as! Bool) }
        #expect(report.failedFiles.map(\.input) == invalid.map { .file(Fixtures.rrdPath($0)) })
        let reasons = Dictionary(
            uniqueKeysWithValues: report.failedFiles.map { ($0.input.description, $0.errors.joined(separator: "\n")) })
        #expect(reasons[Fixtures.rrdPath("corrupt_bad_magic.rrd")]?.contains("found \"RRF9\"") == true)
        #expect(reasons[Fixtures.rrdPath("corrupt_truncated.rrd")]?.contains("at byte 1714: truncated ArrowMsg") == true)
        #expect(reasons[Fixtures.rrdPath("corrupt_lz4_flipped.rrd")]?.contains("at byte 218: decode") == true)
        // Message counts by kind are the sums of EXPECTED.json's totals.
        for kind in ["SetStoreInfo", "ArrowMsg", "BlueprintActivationCommand", "End"] {
            let sum = Self.all.reduce(0) { acc, name in
                let totals = Fixtures.expectation(name)["totals"] as! [String: Any]
                return acc + ((totals["messages"] as! [String: Int])[kind] ?? 0)
            }
            #expect(report.messagesByKind[kind] == UInt64(sum), "\(kind)")
        }
        #expect(report.hasFailures)
        #expect(!report.interrupted)
    }

    @Test("JSON summary: schema_version, stores keys, files_failed as {file, error}")
    func jsonSummary() throws {
        let names = ["points3d.rrd", "uncompressed.rrd", "corrupt_bad_magic.rrd", "two_recordings_concat.rrd"]
        let pipeline = ReplayPipeline(inputs: names.map { .file(Fixtures.rrdPath($0)) })
        let report = pipeline.run()
        pipeline.hub.shutdown(drain: true)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(report.json.utf8)) as? [String: Any])
        #expect(doc["schema_version"] as? Int == ReplayReport.schemaVersion)
        let stores = try #require(doc["stores"] as? [[String: Any]])
        var got: [String: [Int]] = [:]
        for s in stores {
            for key in ["kind", "application_id", "recording_id", "chunks", "rows", "bytes", "duplicates"] {
                #expect(s[key] != nil, "missing \(key)")
            }
            got["\(s["kind"]!):\(s["application_id"]!):\(s["recording_id"]!)"] = [s["chunks"] as! Int, s["rows"] as! Int]
        }
        #expect(got == expectedUnion(names).mapValues { [$0.chunks, $0.rows] })
        let dup = stores.first { $0["recording_id"] as? String == "fixture-points3d" }
        #expect(dup?["duplicates"] as? Int == 2)  // uncompressed.rrd repeats points3d.rrd's two chunk ids
        let failed = try #require(doc["files_failed"] as? [[String: Any]])
        #expect(failed.count == 1)
        #expect(failed.first?["file"] as? String == Fixtures.rrdPath("corrupt_bad_magic.rrd"))
        #expect((failed.first?["error"] as? String)?.contains("RRF9") == true)
        let files = try #require(doc["files"] as? [String: Int])
        #expect(files == ["attempted": 4, "succeeded": 3, "failed": 1])
        let messages = try #require(doc["messages"] as? [String: Int])
        let ends = names.reduce(0) {
            $0 + (((Fixtures.expectation($1)["totals"] as! [String: Any])["messages"] as! [String: Int])["End"] ?? 0)
        }
        #expect(messages["End"] == ends)
    }

    @Test("a store spanning files is fed file after file in the given order, whatever the reader count", arguments: [1, 2, 4])
    func storeOrderAcrossFiles(readers: Int) throws {
        let names = ["points3d.rrd", "many_small_chunks.rrd", "uncompressed.rrd", "corrupt_truncated.rrd", "points3d.rrd"]
        let pipeline = ReplayPipeline(
            inputs: names.map { .file(Fixtures.rrdPath($0)) }, options: ReplayOptions(readerThreads: readers))
        var sources: [String: [String]] = [:]
        let report = pipeline.run(onOutput: { db, item in sources[db.storeId.recordingId, default: []].append(item.source) })
        pipeline.hub.shutdown(drain: true)
        let order = try #require(sources["fixture-points3d"])
        // Sources in runs, one per file, in the order the files were given (each file here holds one
        // store, met first).
        var runs: [String] = []
        for s in order where runs.last != s { runs.append(s) }
        let p = Fixtures.rrdPath("points3d.rrd")
        let given = [p, Fixtures.rrdPath("uncompressed.rrd"), Fixtures.rrdPath("corrupt_truncated.rrd"), "\(p) (#2)"]
        #expect(runs == given)
        #expect(report.failedFiles.map(\.input) == [.file(Fixtures.rrdPath("corrupt_truncated.rrd"))])
    }

    @Test("read k fails with EIO: retried after 100, 200, 300 ms (capped), then the file reads in full")
    func retrySchedule() throws {
        let bytes = try Fixtures.bytes(Fixtures.rrd.appendingPathComponent("many_small_chunks.rrd"))
        let clock = VirtualClock()
        let options = ReplayOptions(
            readerThreads: 1,
            retry: ReplayRetryPolicy(attempts: 4, initialDelay: .milliseconds(100), maxDelay: .milliseconds(300)),
            clock: clock,
            openSource: { _ throws(ByteSourceError) in FlakySource(bytes: bytes, piece: 4096, failAt: 5, failures: 3) })
        let pipeline = ReplayPipeline(inputs: [.file("many_small_chunks.rrd")], options: options)
        let report = pipeline.run()
        pipeline.hub.shutdown(drain: true)
        #expect(clock.sleeps == [100_000_000, 200_000_000, 300_000_000])
        #expect(report.files[0].retries == 3)
        #expect(!report.hasFailures, "\(report.files[0].errors)")
        let want = expectedUnion(["many_small_chunks.rrd"]).mapValues { [$0.chunks, $0.rows] }
        #expect(storeTotals(report) == want)
    }

    @Test("EIO beyond the retry budget: the file fails with the error, after the full schedule")
    func retryExhausted() throws {
        let bytes = try Fixtures.bytes(Fixtures.rrd.appendingPathComponent("points3d.rrd"))
        let clock = VirtualClock()
        let options = ReplayOptions(
            retry: ReplayRetryPolicy(attempts: 3, initialDelay: .milliseconds(10), maxDelay: .seconds(1)),
            clock: clock,
            openSource: { _ throws(ByteSourceError) in FlakySource(bytes: bytes, piece: 512, failAt: 2, failures: 100) })
        let pipeline = ReplayPipeline(inputs: [.file("p.rrd")], options: options)
        let report = pipeline.run()
        pipeline.hub.shutdown(drain: true)
        #expect(clock.sleeps == [10_000_000, 20_000_000, 40_000_000])
        let errors = report.files[0].errors.joined(separator: "\n")
        #expect(
            errors
                == "p.rrd: injected read failure: Input/output error after 512 bytes and 3 retries "
                + "(the last complete message ends at byte 202)")
    }

    @Test("following a file appended in pieces (missing at first, cut mid-header) equals replaying it whole")
    func followGrowingFile() throws {
        let name = "recording_with_blueprint.rrd"
        let bytes = try Fixtures.bytes(Fixtures.rrd.appendingPathComponent(name))
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/growing.rrd"
        let caughtUp = AtomicCount()
        let options = ReplayOptions(
            follow: ReplayFollowOptions(idleTimeout: .seconds(60), pollInterval: .milliseconds(1)),
            openSource: { input throws(ByteSourceError) in try WatchedFileSource(input, caughtUp: caughtUp) })
        let pipeline = ReplayPipeline(inputs: [.file(path)], options: options)
        let writer = Thread {
            // Pieces end mid stream header, mid message header, mid payload, and at the very end.
            var cuts = [0, 5, 20, 150, 1000, 1001, 5000, 20000, bytes.count - 40, bytes.count - 3, bytes.count]
            cuts = cuts.filter { $0 <= bytes.count }
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            let handle = FileHandle(forWritingAtPath: path)!
            for (a, b) in zip(cuts, cuts.dropFirst()) {
                let seen = caughtUp.current
                handle.write(Data(bytes[a..<b]))
                // Wait until the reader found nothing new after this piece: it has read all of it.
                _ = waitUntil { caughtUp.current > seen + 1 }
            }
            try? handle.close()
        }
        #if SYNCHRONOUS_INGESTION
        // No reader threads in this build: write everything, then follow (the file is complete).
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        #else
        writer.start()
        #endif
        let report = pipeline.run()
        pipeline.hub.shutdown(drain: true)

        let whole = ReplayPipeline(inputs: [.file(Fixtures.rrdPath(name))])
        let wholeReport = whole.run()
        whole.hub.shutdown(drain: true)
        #expect(!report.hasFailures, "\(report.files[0].errors)")
        #expect(storeTotals(report) == storeTotals(wholeReport))
        #expect(report.messagesByKind == wholeReport.messagesByKind)
        #expect(report.files[0].bytesRead == UInt64(bytes.count))
        for st in wholeReport.stores {
            let a = pipeline.storedTotals(st.storeId)
            let b = whole.storedTotals(st.storeId)
            #expect(a?.chunks == b?.chunks && a?.rows == b?.rows)
        }
    }

    @Test("follow: a file that never appears is given up after the idle timeout, with the reason")
    func followMissingTimesOut() throws {
        let clock = VirtualClock()
        let options = ReplayOptions(
            follow: ReplayFollowOptions(idleTimeout: .seconds(2), pollInterval: .milliseconds(500)), clock: clock)
        let pipeline = ReplayPipeline(inputs: [.file("/nonexistent/dir/never.rrd")], options: options)
        let report = pipeline.run()
        pipeline.hub.shutdown(drain: true)
        #expect(clock.sleeps == [500_000_000, 500_000_000, 500_000_000, 500_000_000])
        #expect(report.files[0].errors.first?.contains("No such file or directory") == true)
    }

    @Test("--pace at a fixed rate spaces messages 1/rate apart (virtual clock)")
    func fixedPace() throws {
        let clock = VirtualClock()
        let pipeline = ReplayPipeline(
            inputs: [.file(Fixtures.rrdPath("scalars_sequence.rrd"))],
            options: ReplayOptions(pace: .messagesPerSecond(4), clock: clock))
        let report = pipeline.run()
        pipeline.hub.shutdown(drain: true)
        let total = clock.sleeps.reduce(0, +)
        #expect(total == (report.messages - 1) * 250_000_000)
    }

    @Test("--pace recorded waits by log_time; earlier times go at once")
    func recordedPace() throws {
        let clock = VirtualClock()
        let pipeline = ReplayPipeline(
            inputs: [.file(Fixtures.rrdPath("recording_with_blueprint.rrd"))],
            options: ReplayOptions(pace: .recorded, clock: clock))
        let report = pipeline.run()
        pipeline.hub.shutdown(drain: true)
        #expect(!report.hasFailures)
        // The chunks' smallest log_time values from EXPECTED.json: the total wait is the spread of the
        // increasing ones after the first.
        let chunks = Fixtures.expectation("recording_with_blueprint.rrd")["chunks"] as! [[String: Any]]
        let times = chunks.compactMap { (($0["timelines"] as? [String: Any])?["log_time"] as? [String: Any])?["min"] as? Int }
        var latest = times.first ?? 0
        var wait = 0
        for t in times.dropFirst() where t > latest {
            wait += t - latest
            latest = t
        }
        #expect(wait > 0, "\(times)")
        #expect(clock.sleeps.reduce(0, +) == UInt64(wait))
    }

    @Test("cancelling stops reading and still reports what was done")
    func cancellation() throws {
        let cancel = ReplayCancellation()
        cancel.cancel()
        let pipeline = ReplayPipeline(
            inputs: [.file(Fixtures.rrdPath("points3d.rrd"))], options: ReplayOptions(cancellation: cancel))
        let report = pipeline.run()
        pipeline.hub.shutdown(drain: true)
        #expect(report.interrupted)
        #expect(report.files.count == 1)
    }
}

@Suite("ReplayInput.expand: globs, directories, stdin")
struct ReplayInputTests {
    @Test("** globs and directories expand sorted; - is stdin")
    func expansion() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for p in ["b.rrd", "a.rrd", "x/c.rrd", "x/y/d.rbl", "x/y/e.rrd.zst", "x/notes.txt", ".hidden/f.rrd"] {
            let full = dir + "/" + p
            try FileManager.default.createDirectory(
                atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: full, contents: Data())
        }
        #expect(
            try ReplayInput.expand([dir + "/**/*.rrd"])
                == [dir + "/a.rrd", dir + "/b.rrd", dir + "/x/c.rrd"].map { .file($0) })
        #expect(
            try ReplayInput.expand([dir + "/x", "-", dir + "/?.rrd"])
                == [dir + "/x/c.rrd", dir + "/x/y/d.rbl", dir + "/x/y/e.rrd.zst"].map { .file($0) } + [.standardInput]
                + [dir + "/a.rrd", dir + "/b.rrd"].map { .file($0) })
        #expect(throws: ReplayInputError.self) { try ReplayInput.expand([dir + "/*.nothing"]) }
        #expect(throws: ReplayInputError.self) { try ReplayInput.expand(["-", "-"]) }
        #expect(try ReplayInput.expand(["missing.rrd"]) == [.file("missing.rrd")])
    }

    @Test("backoff doubles from the initial delay up to the maximum")
    func backoff() {
        let p = ReplayRetryPolicy(attempts: 6, initialDelay: .milliseconds(50), maxDelay: .milliseconds(300))
        #expect((1...6).map { p.delay(beforeRetry: $0) } == [50, 100, 200, 300, 300, 300].map { .milliseconds($0) })
    }
}

@Suite("ReplayPipeline: damage in one stream of a concatenation")
struct ReplayResyncTests {
    @Test("a file whose first stream is damaged still delivers every chunk of the stream after it, and fails")
    func damagedFirstStream() throws {
        let a = try Fixtures.bytes(Fixtures.rrd.appendingPathComponent("scalars_sequence.rrd"))
        let b = try Fixtures.bytes(Fixtures.rrd.appendingPathComponent("points3d.rrd"))
        // Garbage right after A's stream header: A's messages are lost, B's are not.
        let bytes = Array(a.prefix(12)) + [UInt8](repeating: 0xEE, count: 64) + Array(a.dropFirst(12)) + b
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("resync-\(getpid()).rrd").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }

        let pipeline = ReplayPipeline(inputs: [.file(path)])
        let report = pipeline.run()
        defer { pipeline.hub.shutdown(drain: true) }
        #expect(report.hasFailures)
        #expect(report.files[0].errors.count == 1, "\(report.files[0].errors)")
        #expect(report.files[0].errors.first?.contains("at byte 12") == true, "\(report.files[0].errors)")
        let want = expectedUnion(["points3d.rrd"])
        for (key, totals) in want {
            let store = try #require(report.stores.first { $0.storeId.description == key }, "\(key)")
            #expect(store.chunks == totals.chunks && store.rows == totals.rows)
        }
    }
}
