import Chunks
import FixtureSupport
import Foundation
import IngestCore
import Ingestion
import RRD
import Store
import Testing

/// One output item, comparable across runs: sequence, offset, source and what it carries.
private func describe(_ item: IngestOutput) -> String {
    let what: String =
        switch item.event {
        case .storeInfo: "info"
        case .chunk(let c): "chunk \(c.id) rows \(c.numRows)"
        case .activation(let a): "activation \(a.makeActive) \(a.makeDefault)"
        case .error(let e): "error \(e.code) \(e.message)"
        }
    return "\(item.sequence) @\(item.offset) \(item.source) \(what)"
}

/// Per store: its statistics that do not depend on timing, and its chunk store's.
private func storeFigures(_ hub: StoreHub) -> [String: [Int]] {
    var out: [String: [Int]] = [:]
    for db in hub.allStores {
        let st = db.statistics
        let cs = st.chunkStore
        out[db.storeId.description] = [
            st.distinctChunks, st.rows, st.duplicateChunks, st.decodeErrors, Int(st.admitted), cs.chunks, cs.rows,
            cs.entities, cs.duplicatesSkipped, cs.droppedEmpty, cs.chunksInserted,
        ]
    }
    return out
}

/// The pipeline's report in figures that do not depend on timing; errors with `path` replaced by `FILE`.
private func reportFigures(_ report: ReplayReport, path: String) -> [String] {
    var out = report.stores.map {
        "\($0.storeId) \($0.chunks) \($0.rows) \($0.chunksInStore) \($0.duplicates) \($0.decodeErrors) \($0.messages)"
    }
    out.append("kinds \(report.messagesByKind.sorted { $0.key < $1.key })")
    for f in report.files {
        out.append("file \(f.bytesRead) \(f.messages) \(f.failed)")
        out += f.errors.map { $0.replacingOccurrences(of: path, with: "FILE") }
    }
    return out
}

/// A source of messages that are framed already (as a live gRPC call's): hands out `perPull`
/// events per pull; pull number `failAt` (1-based) throws EIO once.
private final class MessageListSource: IngestSource {
    let events: [StreamEvent]
    let perPull: Int
    let failAt: Int
    var next = 0
    var pulls = 0
    var finished = 0

    init(_ events: [StreamEvent], perPull: Int, failAt: Int = .max) {
        self.events = events
        self.perPull = perPull
        self.failAt = failAt
    }

    func pull(into sink: (consuming StreamEvent) -> Void) throws(ByteSourceError) -> Int {
        pulls += 1
        if pulls == failAt { throw ByteSourceError(errno: EIO, "injected") }
        let end = min(events.count, next + perPull)
        for e in events[next..<end] { sink(e) }
        defer { next = end }
        return end - next
    }

    func finish(into sink: (consuming StreamEvent) -> Void) { finished += 1 }
    var isExhausted: Bool { false }
    var bytesRead: UInt64 { UInt64(next) }
    var bytesConsumed: UInt64 { UInt64(next) }
    var canGrow: Bool { false }
}

@Suite("One pipeline: every source through the same reading loop (both builds)")
struct PipelineSourceTests {
    /// Replays `inputs` with `options` into a new hub; the report and every output per store.
    private static func replay(
        _ inputs: [ReplayInput], options: ReplayOptions = ReplayOptions(readerThreads: 1)
    ) -> (report: ReplayReport, outputs: [String: [String]], stores: [String: [Int]]) {
        let pipeline = ReplayPipeline(inputs: inputs, options: options)
        var outputs: [String: [String]] = [:]
        let report = pipeline.run(onOutput: { db, item in
            outputs[db.storeId.description, default: []].append(describe(item))
        })
        let stores = storeFigures(pipeline.hub)
        pipeline.hub.shutdown(drain: true)
        return (report, outputs, stores)
    }

    @Test("a zstd-compressed copy of every fixture replays exactly as the plain file", arguments: Fixtures.rrdNames)
    func zstdEqualsPlain(name: String) throws {
        let path = Fixtures.rrdPath(name)
        let zpath = try Fixtures.zstdCopy(name, frames: 3)
        defer { try? FileManager.default.removeItem(atPath: (zpath as NSString).deletingLastPathComponent) }
        let plain = Self.replay([.file(path)])
        let zstd = Self.replay([.file(zpath)])
        #expect(reportFigures(zstd.report, path: zpath) == reportFigures(plain.report, path: path))
        #expect(zstd.stores == plain.stores)
        #expect(
            zstd.outputs.mapValues { $0.map { $0.replacingOccurrences(of: zpath, with: "FILE") } }
                == plain.outputs.mapValues { $0.map { $0.replacingOccurrences(of: path, with: "FILE") } })
        let bytes = try Fixtures.bytes(URL(fileURLWithPath: path))
        if Fixtures.expectation(name)["expect_valid"] as! Bool {
            #expect(zstd.report.files[0].bytesRead == UInt64(bytes.count), "decompressed bytes are counted")
        }
    }

    @Test(
        "zstd through the byte-source loop: partial reads, retried EIO and tiny blocks (direct payload reads into zstd output)",
        arguments: ["many_small_chunks.rrd", "image_small.rrd", "two_recordings_concat.rrd", "corrupt_truncated.rrd"])
    func zstdRetriesAndPieces(name: String) throws {
        let path = Fixtures.rrdPath(name)
        let compressed = Fixtures.zstdCompressed(try Fixtures.bytes(URL(fileURLWithPath: path)), frames: 2)
        let reference = Self.replay([.file(path)])
        for (block, piece) in [(256, 100), (4096, 7), (1 << 20, 1 << 20)] {
            for detect in [false, true] {
                let options = ReplayOptions(
                    readerThreads: 1, readerOptions: ReaderOptions(readBlockSize: block),
                    retry: ReplayRetryPolicy(attempts: 3, initialDelay: .zero, maxDelay: .zero), clock: VirtualClock(),
                    openSource: { _ throws(ByteSourceError) in
                        let inner = FlakySource(bytes: compressed, piece: piece, failAt: 3, failures: 2)
                        return detect ? ZstdDetectingByteSource(inner) : try ZstdByteSource(decompressing: inner)
                    })
                let got = Self.replay([.file(path)], options: options)
                let context = "block \(block) piece \(piece) detect \(detect)"
                #expect(got.report.files[0].retries == 2, "\(context)")
                #expect(
                    reportFigures(got.report, path: path) == reportFigures(reference.report, path: path), "\(context)")
                #expect(got.stores == reference.stores, "\(context)")
                #expect(got.outputs == reference.outputs, "\(context)")
            }
        }
    }

    @Test("a truncated zstd file fails with the unfinished frame; what was complete before it is ingested")
    func truncatedZstd() throws {
        let zpath = try Fixtures.zstdCopy("many_small_chunks.rrd", frames: 1)
        defer { try? FileManager.default.removeItem(atPath: (zpath as NSString).deletingLastPathComponent) }
        let bytes = try Fixtures.bytes(URL(fileURLWithPath: zpath))
        try Data(bytes.prefix(bytes.count * 2 / 3)).write(to: URL(fileURLWithPath: zpath))
        let hub = StoreHub()
        let pipeline = ReplayPipeline(hub: hub, inputs: [.file(zpath)], options: ReplayOptions(readerThreads: 1))
        let report = pipeline.run()
        defer { hub.shutdown(drain: true) }
        let errors = report.files[0].errors
        #expect(errors.count == 1, "\(errors)")
        #expect(errors.first?.contains("truncated zstd input: the last frame is incomplete") == true, "\(errors)")
        let total = expectedUnion(["many_small_chunks.rrd"]).values.reduce(0) { $0 + $1.chunks }
        #expect(report.chunks > 0 && report.chunks < total, "\(report.chunks) of \(total)")
        // The same error is on the hub's per-source error stream.
        let reported = hub.pollSourceError()
        #expect(reported?.error.underlying?.code == .truncated)
        #expect(reported?.source == zpath)
    }

    @Test("following a growing .zst file (missing at first, cut inside the magic and frames) equals replaying it whole")
    func followGrowingZstd() throws {
        let name = "recording_with_blueprint.rrd"
        let plain = try Fixtures.bytes(URL(fileURLWithPath: Fixtures.rrdPath(name)))
        let compressed = Fixtures.zstdCompressed(plain, frames: 3)
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/growing.rrd.zst"
        let caughtUp = AtomicCount()
        let options = ReplayOptions(
            follow: ReplayFollowOptions(idleTimeout: .seconds(60), pollInterval: .milliseconds(1)),
            openSource: { input throws(ByteSourceError) in
                ZstdDetectingByteSource(try WatchedFileSource(input, caughtUp: caughtUp))
            })
        let pipeline = ReplayPipeline(inputs: [.file(path)], options: options)
        let writer = Thread {
            let n = compressed.count
            let cuts = [0, 2, 3, 9, 100, n / 3, n / 2, n / 2 + 1, n - 20, n - 1, n].filter { $0 <= n }
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            let handle = FileHandle(forWritingAtPath: path)!
            for (a, b) in zip(cuts, cuts.dropFirst()) where a < b {
                let seen = caughtUp.current
                handle.write(Data(compressed[a..<b]))
                _ = waitUntil { caughtUp.current > seen + 1 }
            }
            try? handle.close()
        }
        #if SYNCHRONOUS_INGESTION
        _ = FileManager.default.createFile(atPath: path, contents: Data(compressed))
        #else
        writer.start()
        #endif
        let report = pipeline.run()
        pipeline.hub.shutdown(drain: true)
        let whole = Self.replay([.file(Fixtures.rrdPath(name))])
        #expect(!report.hasFailures, "\(report.files[0].errors)")
        #expect(report.files[0].bytesRead == UInt64(plain.count))
        #expect(report.messagesByKind == whole.report.messagesByKind)
        #expect(report.stores.map(\.chunks) == whole.report.stores.map(\.chunks))
        #expect(report.stores.map(\.rows) == whole.report.stores.map(\.rows))
    }

    @Test("following: a source that cannot grow (a pipe, memory) ends at its end, without waiting for the idle timeout")
    func followStopsAtFinalEnd() throws {
        let bytes = try Fixtures.bytes(URL(fileURLWithPath: Fixtures.rrdPath("no_footer.rrd")))
        let clock = VirtualClock()
        let options = ReplayOptions(
            follow: ReplayFollowOptions(idleTimeout: .seconds(5), pollInterval: .milliseconds(10)), clock: clock,
            openSource: { _ throws(ByteSourceError) in MemoryByteSource(bytes) })
        let got = Self.replay([.file("memory.rrd")], options: options)
        #expect(clock.sleeps.isEmpty, "no polling: \(clock.sleeps.count) sleeps")
        #expect(!got.report.hasFailures)
        let reference = Self.replay([.file(Fixtures.rrdPath("no_footer.rrd"))])
        #expect(got.stores == reference.stores)
    }

    @Test(
        "StoreHub.replay = ReplayPipeline = a plain RRDReader → submit loop, on every fixture",
        arguments: Fixtures.rrdNames)
    func replayEqualsPipelineAndSubmit(name: String) throws {
        let path = Fixtures.rrdPath(name)

        let viaReplay = StoreHub()
        var replayOutputs: [String: [String]] = [:]
        let summary = viaReplay.replay(files: [path]) { db, item in
            replayOutputs[db.storeId.description, default: []].append(describe(item))
        }

        let pipeline = Self.replay([.file(path)], options: ReplayOptions(readerThreads: 2))

        // The reference: every event of the pull reader, submitted one by one.
        let viaSubmit = StoreHub()
        var submitOutputs: [String: [String]] = [:]
        var reader = try RRDReader(path: path)
        var messages = 0
        var readerErrors: [RRDError] = []
        while let event = reader.next() {
            switch event {
            case .message(let m):
                messages += 1
                try viaSubmit.submit(m, source: path)
            case .error(let e):
                readerErrors.append(e)
                viaSubmit.report(e)
            default:
                break
            }
        }
        viaSubmit.flush()
        viaSubmit.drain { db, item in submitOutputs[db.storeId.description, default: []].append(describe(item)) }

        #expect(storeFigures(viaReplay) == storeFigures(viaSubmit))
        #expect(pipeline.stores == storeFigures(viaSubmit))
        #expect(replayOutputs == submitOutputs)
        #expect(pipeline.outputs == submitOutputs)
        #expect(summary.messages == messages)
        #expect(pipeline.report.messages == UInt64(messages))
        #expect(summary.sourceErrors.map(\.error.underlying) == readerErrors.map { Optional($0) })
        #expect(pipeline.report.files[0].errors.prefix(readerErrors.count) == readerErrors.map(\.description)[...])
        #expect(summary.stores.map(\.storeId) == viaSubmit.storeIds())
        viaReplay.shutdown(drain: true)
        viaSubmit.shutdown(drain: true)
    }

    @Test("a missing file: StoreHub.replay reports it as an io error of that path, and goes on with the next")
    func replayMissingFile() throws {
        let hub = StoreHub()
        let summary = hub.replay(files: ["/nonexistent/gone.rrd", Fixtures.rrdPath("points3d.rrd")])
        hub.shutdown(drain: true)
        #expect(summary.sourceErrors.count == 1)
        let e = try #require(summary.sourceErrors.first)
        #expect(e.source == "/nonexistent/gone.rrd")
        #expect(e.error.underlying?.code == .io)
        #expect(e.error.message == "cannot open: No such file or directory")
        #expect(summary.stores.map { [$0.chunks, $0.rows] } == Array(expectedStores("points3d.rrd").values))
    }

    @Test("a source of framed messages (no RRD framing) goes through the same loop: same stores and outputs")
    func messageSource() throws {
        let name = "recording_with_blueprint.rrd"
        let path = Fixtures.rrdPath(name)
        var reader = try RRDReader(path: path)
        var events: [StreamEvent] = []
        while let e = reader.next() {
            if case .message = e { events.append(e) }
        }
        // A damaged message in the middle: reported in order, the rest goes on.
        let damage = RRDError(.badProtobuf, source: path, offset: 7, "injected damage")
        events.insert(.error(damage), at: events.count / 2)
        let reference = Self.replay([.file(path)])

        let hub = StoreHub()
        let source = MessageListSource(events, perPull: 5, failAt: 2)
        let clock = VirtualClock()
        let result = hub.ingest(source, label: path, options: ReplayOptions(clock: clock))
        hub.flush()
        var outputs: [String: [String]] = [:]
        hub.drain { db, item in outputs[db.storeId.description, default: []].append(describe(item)) }
        #expect(result.messages == UInt64(events.count - 1))
        #expect(result.retries == 1)
        #expect(clock.sleeps == [100_000_000], "the default backoff before the retry")
        #expect(result.errors == [damage.description])
        #expect(source.finished == 1)
        #expect(storeFigures(hub) == reference.stores)
        #expect(outputs == reference.outputs)
        #expect(hub.pollSourceError()?.error.underlying == damage)
        hub.shutdown(drain: true)
    }

    @Test("in-memory bytes through StoreHub.ingest (RRDStreamSource over MemoryByteSource) equal the file's replay")
    func memoryBytes() throws {
        for name in ["points3d.rrd", "two_recordings_concat.rrd", "corrupt_lz4_flipped.rrd"] {
            let path = Fixtures.rrdPath(name)
            let bytes = try Fixtures.bytes(URL(fileURLWithPath: path))
            let reference = Self.replay([.file(path)])
            let hub = StoreHub()
            let result = hub.ingest(RRDStreamSource(MemoryByteSource(bytes), name: path), label: path)
            hub.flush()
            var outputs: [String: [String]] = [:]
            hub.drain { db, item in outputs[db.storeId.description, default: []].append(describe(item)) }
            #expect(result.bytesRead == UInt64(bytes.count))
            #expect(result.messages == reference.report.files[0].messages)
            #expect(storeFigures(hub) == reference.stores, "\(name)")
            #expect(outputs == reference.outputs, "\(name)")
            hub.shutdown(drain: true)
        }
    }

    @Test("store(holding:) picks the first store, in first-seen order, whose chunk store holds the entity")
    func storeHolding() throws {
        let hub = StoreHub()
        hub.replay(files: [Fixtures.rrdPath("recording_with_blueprint.rrd"), Fixtures.rrdPath("points3d.rrd")])
        defer { hub.shutdown(drain: true) }
        let holders = hub.allStores.filter { !$0.chunkStore.entityPaths().isEmpty }
        try #require(holders.count >= 2)
        for db in holders {
            for entity in db.chunkStore.entityPaths() {
                let first = hub.allStores.first { !$0.chunkStore.components(of: entity).isEmpty }
                #expect(hub.store(holding: entity) === first)
            }
        }
        #expect(hub.store(holding: "/no/such/entity") == nil)
    }
}
