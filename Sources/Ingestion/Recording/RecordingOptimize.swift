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

    /// The bound on a store's queued payload bytes while optimizing (64 MiB).
    static let optimizeQueuedBytes = 64 << 20

    /// Loads `inputs` into chunk stores through the ingestion pipeline with `compaction` on insert
    /// (``/Store/ChunkStore``'s compaction), then writes every store to `writer` and finishes it: per
    /// store its first `SetStoreInfo`, its chunks (by entity, then first row id; merged ones encoded
    /// with fresh chunk ids, the ones the compaction left alone copied from their input file as they
    /// were, unless they were migrated from an old schema, came from stdin or their compression is
    /// not the writer's), then its blueprint activations.
    ///
    /// Memory: what compaction may still merge. A temporal chunk over a limit by itself
    /// (``/Store/ChunkStoreConfiguration/Compaction/neverMerges(_:)``) that can be copied from its input
    /// is taken out of the store as soon as it is indexed, and only its place in the output order is kept:
    /// a recording of big chunks (point clouds, images) is not held in memory. The rest is held until
    /// the stores are written, as `rerun rrd optimize` holds everything.
    public static func optimize(
        _ inputs: [String], compaction: ChunkStoreConfiguration.Compaction = optimizeDefaults,
        into writer: RecordingWriter, options: RewriteOptions = RewriteOptions()
    ) throws(RRDError) -> RewriteReport {
        let t0 = MonotonicClock.now()
        let pipeline = ReplayPipeline(
            inputs: inputs.map { $0 == "-" ? .standardInput : .file($0) },
            // The byte bound keeps the reader from queueing the whole file ahead of the worker (2000
            // slots of multi-megabyte chunks would): what is released is then freed as it arrives.
            configuration: IngestConfiguration(
                maxQueuedBytes: optimizeQueuedBytes, chunkStore: ChunkStoreConfiguration(compaction: compaction)),
            options: ReplayOptions(readerOptions: options.reader))
        var infos: [StoreId: SetStoreInfo] = [:]
        var activations: [StoreId: [BlueprintActivationCommand]] = [:]
        var order: [StoreId] = []
        // Where each chunk came from (input path, message offset): a chunk the compaction left alone is
        // copied from its input instead of being encoded and compressed again.
        let paths = Set(inputs.filter { $0 != "-" })
        var origins: [ChunkId: (path: String, offset: UInt64)] = [:]
        // Chunks compaction can never touch, out of the store already: copied from their input when written.
        var released: [StoreId: [ReleasedChunk]] = [:]
        var releasedIds: Set<ChunkId> = []
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
                case .chunk(let chunk):
                    if !order.contains(db.storeId) { order.append(db.storeId) }
                    if paths.contains(item.source), origins[chunk.id] == nil {
                        origins[chunk.id] = (item.source, item.offset)
                        // Static chunks stay: a later one for the same component replaces them in the store.
                        if !chunk.isStatic, !chunk.isMigrated, chunk.numRows > 0, compaction.neverMerges(chunk),
                            db.chunkStore.remove(chunkId: chunk.id) != nil
                        {
                            releasedIds.insert(chunk.id)
                            released[db.storeId, default: []].append(
                                ReleasedChunk(
                                    entityPath: chunk.entityPath, firstRow: chunk.rowId(at: 0), id: chunk.id,
                                    summary: ChunkSummary(chunk), path: item.source, offset: item.offset))
                        }
                    }
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
        var copier = ChunkCopier()
        defer { copier.close() }
        do throws(RRDError) {
            for id in order {
                guard let db = pipeline.hub.store(id) else { continue }
                report.stores.append(id)
                if let info = infos[id] { try writer.write(info) }
                _ = db.chunkStore.compactPending()
                // A released chunk seen again (the same chunk id in a later input) was stored again: a duplicate.
                let stored: [OutputChunk] = db.chunkStore.allChunks().lazy.filter { !releasedIds.contains($0.id) }
                    .map { .stored($0) }
                let chunks = (stored + (released[id] ?? []).map { .released($0) }).sorted { $0.key < $1.key }
                for item in chunks {
                    guard case .stored(var chunk) = item else {
                        guard case .released(let r) = item else { continue }
                        try copyReleased(r, store: id, copier: &copier, into: writer, report: &report)
                        report.chunksReleased += 1
                        continue
                    }
                    // Compacted chunks carry store-local ids (time half all ones): give them real TUIDs.
                    if chunk.id.tuid.timeNs == .max { chunk.id = fresh.next() }
                    if !chunk.isMigrated, let origin = origins[chunk.id],
                        let msg = copier.message(path: origin.path, offset: origin.offset, chunkId: chunk.id, store: id),
                        msg.compression == (writer.options.compression == .none ? .none : .lz4)
                    {
                        // Decoded once already (when it was ingested): its payload is intact.
                        try writer.write(msg, summary: ChunkSummary(chunk), checksPayload: false)
                        report.chunksCopied += 1
                        continue
                    }
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

extension RecordingRewrite {
    /// Writes a chunk that left the store when it was indexed, from its input: as it was when its
    /// compression is the writer's, else decoded and encoded again.
    /// - Throws: ``/RRD/RRDError/Code/io`` when the input no longer holds the chunk where it was read
    ///   (changed while being optimized), or the writer's errors.
    fileprivate static func copyReleased(
        _ r: ReleasedChunk, store: StoreId, copier: inout ChunkCopier, into writer: RecordingWriter,
        report: inout RewriteReport
    ) throws(RRDError) {
        guard let msg = copier.message(path: r.path, offset: r.offset, chunkId: r.id, store: store) else {
            throw RRDError(
                .io, source: r.path, offset: r.offset,
                "chunk \(r.id) is no longer at this offset (was the input changed while it was optimized?)")
        }
        if msg.compression == (writer.options.compression == .none ? .none : .lz4) {
            try writer.write(msg, summary: r.summary, checksPayload: false)
            report.chunksCopied += 1
            return
        }
        let chunk: Chunk
        do {
            chunk = try ChunkDecoder().decode(msg)
        } catch {
            throw RRDError(.io, source: r.path, offset: r.offset, "chunk \(r.id) no longer decodes: \(error)")
        }
        try writer.write(chunk, store: store)
        report.chunksReencoded += 1
    }
}

/// A chunk ``RecordingRewrite/optimize(_:compaction:into:options:)`` took out of the store when it was
/// indexed: where it goes in the output and where its input holds it.
private struct ReleasedChunk {
    var entityPath: String
    var firstRow: RowId
    var id: ChunkId
    var summary: ChunkSummary
    var path: String
    var offset: UInt64
}

/// One chunk of a store's output, in (entity, first row id) order.
private enum OutputChunk {
    case stored(Chunk)
    case released(ReleasedChunk)

    var key: Key {
        switch self {
        case .stored(let c): Key(entityPath: c.entityPath, firstRow: c.numRows > 0 ? c.rowId(at: 0) : RowId(timeNs: 0, inc: 0))
        case .released(let r): Key(entityPath: r.entityPath, firstRow: r.firstRow)
        }
    }

    struct Key: Comparable {
        var entityPath: String
        var firstRow: RowId
        static func < (a: Key, b: Key) -> Bool { (a.entityPath, a.firstRow) < (b.entityPath, b.firstRow) }
    }
}

/// Reads back the `ArrowMsg` at a message offset of an input file (`pread`, one descriptor per file).
///
/// The message returned views the copier's buffer: use it before the next call.
struct ChunkCopier {
    private var descriptors: [String: Int32] = [:]
    private var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
    /// The borrowing storages' owner (the buffer itself is freed by ``close()``).
    private let keepAlive = Owner()
    private final class Owner: Sendable {}

    /// The `ArrowMsg` whose 16-byte header is at `offset` in `path`, if it is there and is chunk `chunkId` of `store`.
    mutating func message(path: String, offset: UInt64, chunkId: ChunkId, store: StoreId) -> ArrowMsg? {
        let fd: Int32
        if let known = descriptors[path] {
            fd = known
        } else {
            fd = open(path, O_RDONLY | O_CLOEXEC)
            descriptors[path] = fd
        }
        guard fd >= 0 else { return nil }
        var header = (UInt64(0), UInt64(0))
        guard withUnsafeMutableBytes(of: &header, { readFully(fd, $0, at: offset) }) else { return nil }
        let kind = UInt64(littleEndian: header.0)
        let length = UInt64(littleEndian: header.1)
        guard kind == MessageKind.arrowMsg.rawValue, length <= UInt64(Int.max) else { return nil }
        // One buffer for every copy: the message is written before the next one is read (fresh
        // memory per payload cost a page fault per 4 KiB on points_500mb).
        if buffer.count < Int(length) {
            buffer.deallocate()
            buffer = .allocate(byteCount: max(Int(length), 2 * buffer.count), alignment: 64)
        }
        let bytes = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Int(length)])
        guard readFully(fd, bytes, at: offset + 16) else { return nil }
        let storage = ByteStorage(unsafeBorrowing: UnsafeRawBufferPointer(bytes), owner: keepAlive)
        guard case .arrowMsg(let msg)? = try? MessageDecoding.decode(kind: .arrowMsg, payload: ByteSlice(storage)),
            msg.chunkId == chunkId, msg.storeId == store
        else { return nil }
        return msg
    }

    mutating func close() {
        for fd in descriptors.values where fd >= 0 { _ = Glibc.close(fd) }
        descriptors = [:]
        buffer.deallocate()
        buffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    }

    private func readFully(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) -> Bool {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            done += n
        }
        return true
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
