@preconcurrency import Glibc
import ArrowIPC
import Chunks
import IngestCore
import RRD

/// Settings of a rewrite (``RecordingRewrite``).
public struct RewriteOptions {
    /// Limits of the readers.
    public var reader: ReaderOptions
    /// Whether a chunk passed through unchanged takes its manifest row from its input's footer
    /// manifest (when that is valid and lists the chunk at the offset it was read from) instead of
    /// decoding the chunk. Default `true`; either way the rows are the same.
    public var usesInputManifests: Bool
    /// Called about every 100 ms, and once at the end, with the progress.
    public var progress: ((RewriteProgress) -> Void)?

    /// The defaults: default reader limits, input manifests used, no progress.
    public init(
        reader: ReaderOptions = ReaderOptions(), usesInputManifests: Bool = true,
        progress: ((RewriteProgress) -> Void)? = nil
    ) {
        self.reader = reader
        self.usesInputManifests = usesInputManifests
        self.progress = progress
    }
}

/// How far a rewrite is.
public struct RewriteProgress: Sendable {
    /// Input bytes read so far.
    public var bytesRead: UInt64
    /// The total size of the regular input files, taken when the rewrite starts (stdin and other
    /// non-regular inputs count 0; 0 when none is regular).
    public var bytesTotal: UInt64
    /// Inputs finished.
    public var inputsDone: Int
    /// Inputs in all.
    public var inputsTotal: Int
    /// Whether this is the last call.
    public var isFinal: Bool
}

extension RewriteReport {
    /// Takes what `writer` wrote (chunks, rows, bytes, messages by kind) and the wall time since `start`.
    mutating func recordWritten(by writer: RecordingWriter, since start: UInt64) {
        chunksWritten = writer.chunksWritten
        rowsWritten = writer.rowsWritten
        bytesWritten = writer.bytesWritten
        let counts = writer.messageCounts
        for k in MessageKind.allCases where counts[Int(k.rawValue)] > 0 {
            messagesWritten[k.description] = counts[Int(k.rawValue)]
        }
        wallNanoseconds = MonotonicClock.now() &- start
    }
}

/// What a rewrite read and wrote.
public struct RewriteReport: Sendable {
    /// One input.
    public struct Input: Sendable {
        /// The input as given (`-` for stdin).
        public var path: String
        /// Bytes up to the end of the last complete unit read.
        public var bytesRead: UInt64
        /// Messages read from it (every kind, End included).
        public var messages: Int
        /// Damage found (each with source and offset); the messages around it were still used.
        public var errors: [String]
        /// Whether its footer manifest supplied manifest rows.
        public var usedManifest: Bool
    }

    /// One entry per input, in the order read.
    public var inputs: [Input] = []
    /// Chunks read.
    public var chunksRead = 0
    /// Chunks written to the output.
    public var chunksWritten = 0
    /// Rows of the chunks written.
    public var rowsWritten = 0
    /// Chunks written encoded again rather than copied as they were: `filter` without some
    /// timelines, `optimize`'s compacted chunks.
    public var chunksReencoded = 0
    /// Chunks left out by `filter` (an entity that matched `--drop-entity`).
    public var chunksFiltered = 0
    /// Chunks `merge` left out because the store already had a chunk of that id.
    public var duplicateChunks = 0
    /// Chunks left out because their payload was damaged (each also in its input's ``Input/errors``).
    public var damagedChunks = 0
    /// Optimize: chunks the compaction left alone, copied from their input as they were.
    public var chunksCopied = 0
    /// Optimize: chunks over a compaction limit by themselves, taken out of the store as they were indexed
    /// and written from their input (copied or encoded again; each also counts there).
    public var chunksReleased = 0
    /// Chunks whose manifest row came from an input's footer manifest.
    public var summariesFromManifests = 0
    /// Blueprint activations left out (`route --recording-id` with several inputs).
    public var activationsDropped = 0
    /// Messages written by kind (`SetStoreInfo`, `ArrowMsg`, `BlueprintActivationCommand`, `End`).
    public var messagesWritten: [String: Int] = [:]
    /// Size of the output in bytes: the whole stream, its End message and stream footer included.
    public var bytesWritten: UInt64 = 0
    /// Stores that got messages, in order.
    public var stores: [StoreId] = []
    /// Wall time in nanoseconds.
    public var wallNanoseconds: UInt64 = 0

    /// Whether any input was damaged (or could not be read).
    public var hasDamage: Bool { inputs.contains { !$0.errors.isEmpty } }
}

/// `merge`, `filter` and `route` of recordings, streaming: each input is read once, in order, and
/// its messages written as they come to one ``RecordingWriter``; chunks that stay as they were are
/// written from their payload bytes (never decoded again when their input's footer manifest has them).
///
/// - ``merge(_:into:options:)``: every store of every input, each store's messages in input order;
///   one `SetStoreInfo` per store, a chunk id seen before in its store is dropped (as Rerun's store does).
/// - ``filter(_:droppingEntities:droppingTimelines:into:options:)``: every message, without the chunks
///   of matching entities; chunks with a dropped timeline are written again without it (static when
///   none is left). Chunking is unchanged.
/// - ``route(_:applicationId:recordingId:into:options:)``: every message with its store id's
///   application id and/or recording id replaced (blueprints too, as `rerun rrd route` does); with a
///   recording id and several inputs, blueprint activations are dropped.
///
/// Damage in an input is reported in ``RewriteReport/Input/errors`` (a chunk that does not decode is
/// left out) and the rewrite goes on; an I/O error writing stops it (rethrown).
public enum RecordingRewrite {
    /// Merges `inputs` (paths, `-` for stdin) into `writer`, then finishes it.
    public static func merge(_ inputs: [String], into writer: RecordingWriter, options: RewriteOptions = RewriteOptions())
        throws(RRDError) -> RewriteReport
    {
        var r = Rewriter(mode: .merge, writer: writer, options: options, inputs: inputs)
        return try r.run()
    }

    /// Copies `inputs` into `writer` without the chunks of entities matching `entities` and without the
    /// timelines named `timelines`, then finishes it.
    public static func filter(
        _ inputs: [String], droppingEntities entities: [EntityPathPattern], droppingTimelines timelines: Set<String>,
        into writer: RecordingWriter, options: RewriteOptions = RewriteOptions()
    ) throws(RRDError) -> RewriteReport {
        var r = Rewriter(mode: .filter(entities, timelines), writer: writer, options: options, inputs: inputs)
        return try r.run()
    }

    /// Copies `inputs` into `writer` with store ids re-identified, then finishes it.
    public static func route(
        _ inputs: [String], applicationId: String?, recordingId: String?, into writer: RecordingWriter,
        options: RewriteOptions = RewriteOptions()
    ) throws(RRDError) -> RewriteReport {
        var r = Rewriter(
            mode: .route(applicationId, recordingId, dropActivations: recordingId != nil && inputs.count > 1),
            writer: writer, options: options, inputs: inputs)
        return try r.run()
    }
}

/// The one reading loop behind ``RecordingRewrite``.
struct Rewriter {
    enum Mode {
        case merge
        case filter([EntityPathPattern], Set<String>)
        case route(String?, String?, dropActivations: Bool)
    }

    let mode: Mode
    let writer: RecordingWriter
    let options: RewriteOptions
    let inputs: [String]
    var report = RewriteReport()
    /// Merge: stores whose `SetStoreInfo` was written, and the chunks written per store.
    var storesInfoWritten = Set<StoreId>()
    var chunksSeen: [StoreId: Set<ChunkId>] = [:]
    var storesSeen = Set<StoreId>()
    /// Per input and store: whether its manifest's columns were added to the output's.
    var hintsMerged = Set<StoreId>()
    var bytesDone: UInt64 = 0
    let bytesTotal: UInt64
    var lastProgress: UInt64 = 0

    init(mode: Mode, writer: RecordingWriter, options: RewriteOptions, inputs: [String]) {
        self.mode = mode
        self.writer = writer
        self.options = options
        self.inputs = inputs
        bytesTotal = inputs.reduce(0) { total, path in
            var st = stat()
            return total + (path != "-" && stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG ? UInt64(st.st_size) : 0)
        }
    }

    mutating func run() throws(RRDError) -> RewriteReport {
        let t0 = MonotonicClock.now()
        do throws(RRDError) {
            for (i, path) in inputs.enumerated() { try read(path, index: i) }
            try writer.finish()
        } catch {
            writer.discard()
            throw error
        }
        report.recordWritten(by: writer, since: t0)
        options.progress?(
            RewriteProgress(
                bytesRead: bytesDone, bytesTotal: bytesTotal, inputsDone: inputs.count, inputsTotal: inputs.count,
                isFinal: true))
        return report
    }

    /// The store id a message of `id` is written under.
    func mapped(_ id: StoreId) -> StoreId {
        guard case .route(let app, let rec, _) = mode else { return id }
        return StoreId(kind: id.kind, applicationId: app ?? id.applicationId, recordingId: rec ?? id.recordingId)
    }

    private mutating func read(_ path: String, index: Int) throws(RRDError) {
        var input = RewriteReport.Input(path: path, bytesRead: 0, messages: 0, errors: [], usedManifest: false)
        defer { report.inputs.append(input) }
        var manifests: [StoreId: (FooterManifest, FooterManifest.RowIndex)] = [:]
        if options.usesInputManifests, path != "-", let found = (try? FooterManifest.read(path: path)) ?? nil {
            for m in found { manifests[m.storeId] = (m, m.rowIndex()) }
        }
        var reader: RRDReader
        do {
            reader = try RRDReader(path: path, options: options.reader)
        } catch {
            input.errors.append(error.description)
            return
        }
        var streamStart: UInt64 = 0
        var hintsOfThisInput = Set<StoreId>()
        while let event = reader.next() {
            switch event {
            case .streamHeader(_, let offset):
                streamStart = offset
            case .error(let e):
                input.errors.append(e.description)
            case .streamFooter:
                break
            case .message(let m):
                input.messages += 1
                switch m.message {
                case .end:
                    break
                case .setStoreInfo(var info):
                    let original = info.info.storeId
                    info.info.storeId = mapped(original)
                    noteStore(info.info.storeId)
                    if case .merge = mode {
                        guard storesInfoWritten.insert(info.info.storeId).inserted else { continue }
                    }
                    try writer.write(info)
                case .blueprintActivationCommand(var command):
                    if case .route(_, _, let drop) = mode, drop {
                        report.activationsDropped += 1
                        continue
                    }
                    command.blueprintId = mapped(command.blueprintId)
                    noteStore(command.blueprintId)
                    try writer.write(command)
                case .arrowMsg(var msg):
                    report.chunksRead += 1
                    let original = msg.storeId
                    var summary: ChunkSummary?
                    // The manifest of a one-stream file: its offsets are file offsets.
                    if streamStart == 0, let (manifest, rows) = manifests[original],
                        let row = rows.row(payloadOffset: m.offset + 16), manifest.location(row: row).size == m.length,
                        msg.chunkId == nil || manifest.chunkId(row: row) == msg.chunkId
                    {
                        summary = manifest.summary(row: row)
                        if hintsOfThisInput.insert(original).inserted { mergeHints(manifest, into: mapped(original)) }
                    }
                    msg.storeId = mapped(original)
                    noteStore(msg.storeId)
                    do {
                        try writeChunk(msg, summary: summary, source: path, offset: m.offset, input: &input)
                    } catch {
                        if error.code == .badPayload {
                            report.damagedChunks += 1
                            input.errors.append("\(path): at byte \(m.offset): \(error.message)")
                        } else {
                            throw error
                        }
                    }
                }
            }
            progress(reader.bytesConsumed, index: index)
        }
        input.bytesRead = reader.bytesConsumed
        bytesDone += reader.bytesConsumed
        input.usedManifest = !hintsOfThisInput.isEmpty
    }

    private mutating func noteStore(_ id: StoreId) {
        if storesSeen.insert(id).inserted { report.stores.append(id) }
    }

    private mutating func progress(_ consumed: UInt64, index: Int) {
        guard let p = options.progress else { return }
        let now = MonotonicClock.now()
        guard now &- lastProgress >= 100_000_000 else { return }
        lastProgress = now
        p(
            RewriteProgress(
                bytesRead: bytesDone + consumed, bytesTotal: bytesTotal, inputsDone: index, inputsTotal: inputs.count,
                isFinal: false))
    }

    /// Adds the columns of an input's manifest (what only the manifest shows: columns null throughout
    /// a chunk) to the output store's, without those of entities or timelines a filter drops.
    private func mergeHints(_ manifest: FooterManifest, into store: StoreId) {
        var hints = manifest.hints
        if case .filter(let entities, let timelines) = mode {
            hints.sorbet = hints.sorbet.filter { c in
                switch c.kind {
                case .rowId: return true
                case .index(let name): return !timelines.contains(name)
                case .component(let entity, _): return !entities.contains { $0.matches(escaped: entity) }
                }
            }
            // Which entity a descriptor column came from is not in the manifest: keep only what rows show.
            hints.timelines = [:]
            hints.staticDescriptors = []
            hints.temporal = [:]
        }
        writer.mergeManifestHints(hints, store: store)
    }

    private mutating func writeChunk(
        _ msg: ArrowMsg, summary: ChunkSummary?, source: String, offset: UInt64, input: inout RewriteReport.Input
    ) throws(RRDError) {
        if summary != nil { report.summariesFromManifests += 1 }
        switch mode {
        case .merge:
            if let id = msg.chunkId ?? summary?.chunkId {
                guard chunksSeen[msg.storeId, default: []].insert(id).inserted else {
                    report.duplicateChunks += 1
                    return
                }
            }
            try writer.write(msg, summary: summary)
        case .route:
            // Route does not look into payloads (as `rerun rrd route`): a chunk its input's manifest lists
            // is copied unchecked.
            try writer.write(msg, summary: summary, checksPayload: false)
        case .filter(let entities, let timelines):
            if let s = summary, s.numRows > 0 {
                if entities.contains(where: { $0.matches(escaped: s.entityPath) }) {
                    report.chunksFiltered += 1
                    return
                }
                if !s.timelines.contains(where: { timelines.contains($0.name) }) {
                    try writer.write(msg, summary: s)
                    return
                }
            }
            // Decode: the entity and timelines are in the payload.
            let chunk: Chunk
            do {
                chunk = try writer.decode(msg)
            } catch {
                throw RRDError(.badPayload, source: source, offset: offset, "chunk not written: \(error)")
            }
            if entities.contains(where: { $0.matches(escaped: chunk.entityPath) }) {
                report.chunksFiltered += 1
                return
            }
            let dropped = Set((0..<chunk.timelineCount).map { chunk.timelineName(at: $0) }).intersection(timelines)
            if dropped.isEmpty {
                try writer.write(msg, summary: ChunkSummary(chunk))
            } else {
                report.chunksReencoded += 1
                try writer.write(chunk, store: msg.storeId, droppingTimelines: dropped)
            }
        }
    }
}
