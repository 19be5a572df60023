import FixtureSupport
import Foundation
import IngestCore
import Ingestion
import RRD
import Testing

@Suite("ReplayPipeline: large payloads read straight into their storage (both builds)")
struct DirectPayloadReadPipelineTests {
    static func run(_ name: String, options: ReplayOptions) -> (stores: [String: [Int]], messages: UInt64, errors: [String]) {
        let pipeline = ReplayPipeline(inputs: [.file(Fixtures.rrdPath(name))], options: options)
        let report = pipeline.run()
        pipeline.hub.shutdown(drain: true)
        var stores: [String: [Int]] = [:]
        for st in report.stores { stores[st.storeId.description] = [st.chunks, st.rows, st.decodeErrors] }
        return (stores, report.files[0].messages, report.files[0].errors)
    }

    @Test(
        "tiny read blocks and pieces, with a retried read: the same stores, messages and errors as a plain replay",
        arguments: ["points3d.rrd", "image_small.rrd", "two_recordings_concat.rrd", "corrupt_truncated.rrd",
            "corrupt_lz4_flipped.rrd", "many_small_chunks.rrd"])
    func sameAsPlain(name: String) throws {
        let bytes = try Fixtures.bytes(Fixtures.rrd.appendingPathComponent(name))
        let reference = Self.run(name, options: ReplayOptions(readerThreads: 1))
        for (block, piece) in [(64, 1 << 20), (256, 100), (4096, 1000)] {
            let options = ReplayOptions(
                readerThreads: 1, readerOptions: ReaderOptions(readBlockSize: block),
                retry: ReplayRetryPolicy(attempts: 2, initialDelay: .zero, maxDelay: .zero), clock: VirtualClock(),
                openSource: { _ throws(ByteSourceError) in FlakySource(bytes: bytes, piece: piece, failAt: 4, failures: 1) })
            let got = Self.run(name, options: options)
            #expect(got.stores == reference.stores, "\(name) block \(block) piece \(piece)")
            #expect(got.messages == reference.messages, "\(name) block \(block) piece \(piece)")
            #expect(got.errors == reference.errors, "\(name) block \(block) piece \(piece)")
        }
    }
}
