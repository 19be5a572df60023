@preconcurrency import Glibc
import Chunks
import IngestCore
import RRD
import Store

extension RecordingRewrite {
    /// `rerun rrd optimize`'s default thresholds (its `object-store` profile): 2 MiB, 65,536 rows,
    /// 8,192 rows when unsorted; merges batched 32 at a time.
    public static let optimizeDefaults = ChunkStoreConfiguration.Compaction(
        maxBytes: 2 << 20, maxRows: 65_536, maxRowsIfUnsorted: 8_192, mergeBatch: 32)

    /// Loads `inputs` into chunk stores through the ingestion pipeline with `compaction` on insert
    /// (``/Store/ChunkStore``'s compaction), then writes every store to `writer` and finishes it: per
    /// store its first `SetStoreInfo`, its chunks (by entity, then first row id; every chunk encoded
    /// again, merged ones with fresh chunk ids), then its blueprint activations.
    ///
    /// Memory: the whole recording, as the stores hold it (as `rerun rrd optimize` does).
    public static func optimize(
        _ inputs: [String], compaction: ChunkStoreConfiguration.Compaction = optimizeDefaults,
        into writer: RecordingWriter, options: RewriteOptions = RewriteOptions()
    ) throws(RRDError) -> RewriteReport {
        let t0 = MonotonicClock.now()
        let pipeline = ReplayPipeline(
            inputs: inputs.map { $0 == "-" ? .standardInput : .file($0) },
            configuration: IngestConfiguration(chunkStore: ChunkStoreConfiguration(compaction: compaction)),
            options: ReplayOptions(readerOptions: options.reader))
        var infos: [StoreId: SetStoreInfo] = [:]
        var activations: [StoreId: [BlueprintActivationCommand]] = [:]
        var order: [StoreId] = []
        let progress = options.progress
        let replay = pipeline.run(
            progress: { p in
                progress?(
                    RewriteProgress(
                        bytesRead: p.bytesRead, bytesTotal: p.bytesTotal, inputsDone: p.filesDone,
                        inputsTotal: p.filesTotal, isFinal: false))
            },
            onOutput: { db, item in
                switch item.event {
                case .storeInfo(let info):
                    if infos[db.storeId] == nil {
                        infos[db.storeId] = info
                        if !order.contains(db.storeId) { order.append(db.storeId) }
                    }
                case .activation(let command):
                    activations[db.storeId, default: []].append(command)
                    if !order.contains(db.storeId) { order.append(db.storeId) }
                case .chunk:
                    if !order.contains(db.storeId) { order.append(db.storeId) }
                case .error:
                    break
                }
            })
        defer { pipeline.hub.shutdown(drain: false) }
        var report = RewriteReport()
        for f in replay.files {
            report.inputs.append(
                RewriteReport.Input(
                    path: f.input.description, bytesRead: f.bytesRead, messages: Int(f.messages), errors: f.errors,
                    usedManifest: false))
        }
        report.chunksRead = replay.stores.reduce(0) { $0 + $1.chunks }
        var fresh = FreshChunkIds()
        do throws(RRDError) {
            for id in order {
                guard let db = pipeline.hub.store(id) else { continue }
                report.stores.append(id)
                if let info = infos[id] { try writer.write(info) }
                _ = db.chunkStore.compactPending()
                let chunks = db.chunkStore.allChunks().sorted {
                    ($0.entityPath, $0.numRows > 0 ? $0.rowId(at: 0) : RowId(timeNs: 0, inc: 0))
                        < ($1.entityPath, $1.numRows > 0 ? $1.rowId(at: 0) : RowId(timeNs: 0, inc: 0))
                }
                for var chunk in chunks {
                    // Compacted chunks carry store-local ids (time half all ones): give them real TUIDs.
                    if chunk.id.tuid.timeNs == .max { chunk.id = fresh.next() }
                    do {
                        try writer.write(chunk, store: id)
                        report.chunksReencoded += 1
                    } catch {
                        guard error.code == .badPayload else { throw error }
                        report.damagedChunks += 1
                        if !report.inputs.isEmpty { report.inputs[report.inputs.count - 1].errors.append(error.description) }
                    }
                }
                for command in activations[id] ?? [] { try writer.write(command) }
            }
            try writer.finish()
        } catch {
            writer.discard()
            throw error
        }
        report.recordWritten(by: writer, since: t0)
        progress?(
            RewriteProgress(
                bytesRead: replay.bytesRead, bytesTotal: replay.bytesRead, inputsDone: inputs.count,
                inputsTotal: inputs.count, isFinal: true))
        return report
    }
}

/// Chunk ids minted for written chunks that have none of their own: the wall clock in nanoseconds
/// and a counter from a random start, as Rerun mints TUIDs.
struct FreshChunkIds {
    private var timeNs: UInt64
    private var inc: UInt64

    init() {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        timeNs = UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
        inc = UInt64.random(in: 0..<(1 << 62))
    }

    mutating func next() -> ChunkId {
        inc &+= 1
        timeNs &+= 1
        return ChunkId(timeNs: timeNs, inc: inc)
    }
}
