import FixtureSupport
import Foundation
import Ingestion
import RRD
import Testing

/// What the CLI's exit statuses rest on: which failures of a replay are I/O errors, and which
/// arguments name no recording.
@Suite("replay: I/O errors and arguments that name no recording")
struct ReplayIOErrorTests {
    @Test("a file that cannot be opened is stopped by an I/O error; the other files still run")
    func missingFile() {
        let good = Fixtures.rrdPath("points3d.rrd")
        let pipeline = ReplayPipeline(
            inputs: [.file("/nonexistent/missing.rrd"), .file(good)], options: ReplayOptions(readerThreads: 1))
        let report = pipeline.run()
        pipeline.hub.shutdown(drain: true)
        #expect(report.files[0].stoppedByIOError)
        #expect(report.files[0].errors == ["/nonexistent/missing.rrd: cannot open: No such file or directory"])
        #expect(!report.files[1].failed && !report.files[1].stoppedByIOError)
        #expect(report.hasIOErrors && report.chunks == 2)
    }

    @Test("EIO beyond the retries is an I/O error; a retried EIO that then succeeds is not")
    func readFailure() throws {
        let bytes = try Fixtures.bytes(Fixtures.rrd.appendingPathComponent("points3d.rrd"))
        for (failures, stopped) in [(100, true), (2, false)] {
            let options = ReplayOptions(
                retry: ReplayRetryPolicy(attempts: 3, initialDelay: .milliseconds(1), maxDelay: .milliseconds(1)),
                clock: VirtualClock(),
                openSource: { _ throws(ByteSourceError) in
                    FlakySource(bytes: bytes, piece: 512, failAt: 2, failures: failures)
                })
            let pipeline = ReplayPipeline(inputs: [.file("p.rrd")], options: options)
            let report = pipeline.run()
            pipeline.hub.shutdown(drain: true)
            #expect(report.files[0].stoppedByIOError == stopped, "\(failures) failures")
            #expect(report.files[0].failed == stopped)
            #expect(report.hasIOErrors == stopped)
        }
    }

    @Test("damage in the bytes (a cut file, a corrupt zstd frame) is not an I/O error")
    func damageIsNotIO() throws {
        let pipeline = ReplayPipeline(
            inputs: [.file(Fixtures.rrdPath("corrupt_truncated.rrd"))], options: ReplayOptions(readerThreads: 1))
        let report = pipeline.run()
        pipeline.hub.shutdown(drain: true)
        #expect(report.files[0].failed && !report.files[0].stoppedByIOError)
        #expect(!report.hasIOErrors)

        // zstd magic, then garbage: the zstd source reports decompression damage, not I/O.
        let zstd: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD] + [UInt8](repeating: 0xAB, count: 64)
        let z = ReplayPipeline(
            inputs: [.file("z.rrd.zst")],
            options: ReplayOptions(openSource: { _ throws(ByteSourceError) in
                ZstdDetectingByteSource(FlakySource(bytes: zstd, piece: 4096, failAt: .max, failures: 0))
            }))
        let zReport = z.run()
        z.hub.shutdown(drain: true)
        #expect(zReport.files[0].failed, "\(zReport.files[0].errors)")
        #expect(!zReport.files[0].stoppedByIOError)
    }

    @Test("an empty directory and a pattern that matches nothing name no recording (with the argument)")
    func noRecordings() throws {
        let dir = NSTemporaryDirectory() + "replay-no-recordings-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dir + "/notes.txt", contents: Data("x".utf8))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect {
            try ReplayInput.expand([dir])
        } throws: { error in
            let e = error as? ReplayInputError
            return e?.code == .emptyDirectory && e?.argument == dir
                && e?.description == "no recordings found under \(dir)"
        }
        #expect {
            try ReplayInput.expand([Fixtures.rrdPath("points3d.rrd"), dir + "/*.rrd"])
        } throws: { error in
            let e = error as? ReplayInputError
            return e?.code == .noMatch && e?.description == "no recordings found matching \(dir)/*.rrd"
        }
        #expect {
            try ReplayInput.expand(["-", "-"])
        } throws: { error in
            (error as? ReplayInputError)?.code == .standardInputTwice
        }
        _ = FileManager.default.createFile(atPath: dir + "/sub/a.rrd", contents: Data())
        #expect(try ReplayInput.expand([dir]) == [.file(dir + "/sub/a.rrd")])
    }
}
