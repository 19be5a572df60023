import ArrowIPC
import Benchmark
import Chunks
import IngestTestSupport
import Ingestion
import RRD
import Store

// Every benchmark reports per message (or per chunk / per query): the work of one iteration is
// `scalingFactor` units and the figures are divided by it. Allocation counts (`mallocCountTotal`)
// are exact and stable on this noisy machine; wall clock is informative only.

let benchmarks: @Sendable () -> Void = {
    // Per unit of 1000 (`.kilo`): short benchmarks that repeat a small operation.
    let perKilo = Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        scalingFactor: .kilo, maxDuration: .seconds(2), maxIterations: 1_000)
    // One unit per iteration: decoding one (possibly multi-MB) message.
    let perOne = Benchmark.Configuration(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        scalingFactor: .one, maxDuration: .seconds(2), maxIterations: 100_000)

    // MARK: RRD framing + protobuf

    for shape in Shape.allCases {
        Benchmark("Framing+protobuf \(shape) (per message)", configuration: perKilo) { benchmark in
            let (stream, _) = Recording.of(shape).framedPrefix(messages: 1000)
            var events = 0
            benchmark.startMeasurement()
            var decoder = StreamDecoder(source: "bench")
            decoder.feed(stream) { _ in events += 1 }
            decoder.finish { _ in events += 1 }
            benchmark.stopMeasurement()
            precondition(events >= 1000, "framing produced \(events) events")
        }
    }

    // MARK: LZ4 (one message per iteration, the recording's messages in turn)

    for shape in Shape.allCases {
        Benchmark("LZ4 \(shape) (per message)", configuration: perOne) { benchmark in
            let msgs = Recording.of(shape).arrowMessages
            var i = 0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(try msgs[i].decompressedPayload())
                i = i + 1 == msgs.count ? 0 : i + 1
            }
        }
    }

    // MARK: Arrow IPC + chunk conventions, from a decompressed payload, per chunk shape
    //
    // A store's worker keeps one decoder for its whole life, so the steady state is a warm decoder
    // (schemas, column layouts and entity paths cached): one `DecodeBench` per shape, kept across
    // iterations. The `cold` rows use a fresh decoder per chunk: the first chunk of a schema.

    for shape in Shape.allCases {
        // Tiny chunks: 1000 per iteration; multi-MB chunks: one.
        let warm = shape == .points ? perOne : perKilo
        Benchmark("Arrow decode \(shape) (per chunk, payload decompressed)", configuration: warm) { benchmark in
            let state = DecodeBench.of(shape)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(try state.decodeNextPayload())
            }
        }
        Benchmark("ChunkDecoder \(shape) (per chunk: LZ4 + Arrow + chunk)", configuration: warm) { benchmark in
            let state = DecodeBench.of(shape)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(try state.decodeNextMessage())
            }
        }
        Benchmark("Arrow decode \(shape), cold decoder (per chunk, payload decompressed)", configuration: perOne) {
            benchmark in
            let state = DecodeBench.of(shape)
            let fresh = ChunkDecoder()
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(try state.decodeNextPayload(with: fresh))
            }
        }
    }

    // MARK: worker hand-off (SetStoreInfo: the worker's own work is next to nothing)

    for batch in [1, 16, 128] {
        Benchmark("Hand-off EntityDb, batches of \(batch) (per message)", configuration: perKilo) { benchmark in
            let id = SyntheticMessages.storeId(0)
            let db = EntityDb(storeId: id)
            let msgs = (0..<1000).map { SyntheticMessages.storeInfo(id, offset: UInt64($0)) }
            defer { db.shutdown(drain: true) }
            try db.submit(msgs[0], source: "bench")  // start the worker outside the measurement
            db.flush()
            while db.poll() != nil {}
            benchmark.startMeasurement()
            var start = 0
            while start < msgs.count {
                let end = min(start + batch, msgs.count)
                if batch == 1 {
                    try db.submit(msgs[start], source: "bench")
                } else {
                    try db.submit(contentsOf: msgs[start..<end], source: "bench")
                }
                start = end
            }
            db.flush()
            var n = 0
            while db.poll() != nil { n += 1 }
            benchmark.stopMeasurement()
            precondition(n == msgs.count, "got \(n) outputs")
        }
    }

    // MARK: end-to-end hub: tiny real chunks spread over 1, 2, 8 stores

    for stores in [1, 2, 8] {
        Benchmark("Hub scalars chunks, \(stores) stores (per message)", configuration: perKilo) { benchmark in
            let ids = (0..<stores).map { SyntheticMessages.storeId($0) }
            let base = Recording.of(.scalars).arrowMessages
            let msgs = (0..<1000).map { i in
                var a = base[i % base.count]
                a.storeId = ids[i % stores]
                return FramedMessage(offset: UInt64(i), length: 0, message: .arrowMsg(a))
            }
            let hub = StoreHub()
            defer { hub.shutdown(drain: true) }
            for id in ids { try hub.submit(SyntheticMessages.storeInfo(id, offset: 0), source: "bench") }
            hub.flush()
            hub.drain { _, _ in }
            benchmark.startMeasurement()
            for m in msgs { try hub.submit(m, source: "bench") }
            hub.flush()
            var chunks = 0
            let n = hub.drain { _, out in
                if case .chunk = out.event { chunks += 1 }
                blackHole(out)
            }
            benchmark.stopMeasurement()
            precondition(n == msgs.count && chunks == n, "got \(n) outputs, \(chunks) chunks")
        }
    }

    // MARK: chunk store

    for shape in [Shape.scalars, .mixed] {
        Benchmark("Store insertChunk \(shape) (per chunk)", configuration: perKilo) { benchmark in
            let base = Recording.of(shape).decodedChunks(1000)
            let chunks = (0..<1000).map { base[$0 % base.count] }
            benchmark.startMeasurement()
            let store = ChunkStore<Chunk>()
            for c in chunks { blackHole(try store.insertChunk(c)) }
            benchmark.stopMeasurement()
            blackHole(store)
        }
    }
    // The generic entry point, unspecialized from another module: what insertChunk avoids.
    Benchmark("Store insert (generic) scalars (per chunk)", configuration: perKilo) { benchmark in
        let base = Recording.of(.scalars).decodedChunks(1000)
        let chunks = (0..<1000).map { base[$0 % base.count] }
        benchmark.startMeasurement()
        let store = ChunkStore<Chunk>()
        for c in chunks { blackHole(try store.insert(c)) }
        benchmark.stopMeasurement()
        blackHole(store)
    }

    Benchmark("Query latestAt scalars (per query)", configuration: perKilo) { benchmark in
        let chunks = Recording.of(.scalars).decodedChunks(5000)
        let store = ChunkStore<Chunk>()
        for c in chunks { _ = try store.insert(c) }
        let probes = chunks.prefix(1000).compactMap { c -> (String, String, String, Int64)? in
            guard let t = c.timelines.first, let r = t.range, let comp = c.components.first else { return nil }
            return (c.entityPath, comp.name, t.name, (r.lowerBound + r.upperBound) / 2)
        }
        precondition(!probes.isEmpty)
        benchmark.startMeasurement()
        for i in 0..<1000 {
            let p = probes[i % probes.count]
            blackHole(store.latestAt(entity: p.0, component: p.1, timeline: p.2, at: p.3))
        }
    }

    Benchmark("Query range scalars (per query)", configuration: perKilo) { benchmark in
        let chunks = Recording.of(.scalars).decodedChunks(5000)
        let store = ChunkStore<Chunk>()
        for c in chunks { _ = try store.insert(c) }
        let probes = chunks.prefix(1000).compactMap { c -> (String, String, String, ClosedRange<Int64>)? in
            guard let t = c.timelines.first, let r = t.range, let comp = c.components.first else { return nil }
            return (c.entityPath, comp.name, t.name, r)
        }
        precondition(!probes.isEmpty)
        benchmark.startMeasurement()
        for i in 0..<1000 {
            let p = probes[i % probes.count]
            blackHole(
                store.range(
                    entity: p.0, component: p.1, timeline: p.2, from: p.3.lowerBound, through: p.3.upperBound))
        }
    }
}
