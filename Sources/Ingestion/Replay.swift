import ArrowIPC
import IngestCore
import RRD
import Store

/// One store's figures after a replay.
public struct ReplayStoreSummary: Sendable, Hashable {
    /// The store.
    public var storeId: StoreId
    /// Distinct chunk ids received (decoded).
    public var chunks: Int
    /// Rows of those chunks.
    public var rows: Int
    /// `ArrowMsg`s of this store that did not decode.
    public var decodeErrors: Int
    /// Messages admitted to the store.
    public var messages: UInt64
}

/// What ``StoreHub/replay(files:readerOptions:onOutput:)`` found.
public struct ReplaySummary: Sendable {
    /// Every store of the hub, in first-seen order.
    public var stores: [ReplayStoreSummary]
    /// Errors that belong to no store (unreadable files, broken framing), per source in order.
    public var sourceErrors: [SourceErrorItem]
    /// Messages read from the files (`End` included).
    public var messages: Int

    /// Whether anything failed: a stream error or a chunk that did not decode.
    public var hasErrors: Bool { !sourceErrors.isEmpty || stores.contains { $0.decodeErrors > 0 } }

    /// One JSON document: `{"messages": N, "stores": [{"kind", "application_id", "recording_id",
    /// "chunks", "rows", "decode_errors"}…], "errors": [{"source", "offset", "message"}…]}`.
    public var json: String {
        let document: JSONObject = [
            "messages": .int(Int64(messages)),
            "stores": .array(
                stores.map { st -> JSONValue in
                    var store = st.storeId.jsonFields
                    store.merge(
                        [
                            "chunks": .int(Int64(st.chunks)), "rows": .int(Int64(st.rows)),
                            "decode_errors": .int(Int64(st.decodeErrors)),
                        ])
                    return .object(store)
                }),
            "errors": .array(
                sourceErrors.map { e in
                    .object([
                        "source": .string(e.source), "offset": .uint(e.error.offset),
                        "message": .string(e.error.message),
                    ])
                }),
        ]
        return document.serialized(.document)
    }
}

extension StoreHub {
    /// Reads `files` in order (`-` is stdin; zstd-compressed files are decompressed) into this hub
    /// through the one pipeline: a ``ReplayPipeline`` with one reader thread (none in the synchronous
    /// build), so the stores are fed, and first seen, in file order. Reader errors are reported on the
    /// per-source error stream (source = path, with ` (#2)` for a path given a second time); then flushes.
    ///
    /// Outputs are drained as the replay goes, so memory stays bounded: `onOutput` sees each
    /// one, per store in admission order, on the calling thread, which never submits (so it never
    /// blocks on a full queue).
    /// - Returns: per-store figures (every store of the hub) and the stream errors.
    @discardableResult
    public func replay(
        files: [String], readerOptions: ReaderOptions = ReaderOptions(),
        onOutput: (EntityDb, IngestOutput) -> Void = { _, _ in }
    ) -> ReplaySummary {
        let pipeline = ReplayPipeline(
            hub: self, inputs: files.map { .file($0) },
            options: ReplayOptions(readerThreads: 1, readerOptions: readerOptions))
        let report = pipeline.run(onOutput: onOutput)
        var errors: [SourceErrorItem] = []
        while let e = pollSourceError() { errors.append(e) }
        let stores = allStores.map { db in
            let st = db.statistics
            return ReplayStoreSummary(
                storeId: db.storeId, chunks: st.distinctChunks, rows: st.rows, decodeErrors: st.decodeErrors,
                messages: st.admitted)
        }
        return ReplaySummary(stores: stores, sourceErrors: errors, messages: Int(report.messages))
    }

    /// Reads `source` to its end into this hub on the calling thread, with the reading loop of
    /// ``ReplayPipeline``: store routing, the reader-side decompression policy, batches into the
    /// stores' queues (blocking while one is full), retries of transient errors (``ReplayOptions/retry``),
    /// following a source that can grow (``ReplayOptions/follow``), pacing and cancellation;
    /// ``ReplayOptions/readerThreads``, ``ReplayOptions/readerOptions`` and ``ReplayOptions/openSource``
    /// do not apply (the source is made already). The way in for a source of framed messages (a live
    /// gRPC call, see ``IngestSource``); any number of sources may be read at once, each on its own thread.
    ///
    /// Outputs are not drained here: drain them on another thread, as with ``submit(_:source:)`` (in
    /// the synchronous build they wait until drained). Reader errors are reported on the per-source
    /// error stream under `label`; chunks that do not decode come out in their stores' outputs.
    /// - Returns: what was read, and the reader errors.
    @discardableResult
    public func ingest(
        _ source: any IngestSource, label: String, options: ReplayOptions = ReplayOptions()
    ) -> IngestSourceResult {
        let reader = SourceReader(
            hub: self, label: label, options: options,
            decompression: PayloadDecompression(
                maxQueuedBytes: configuration.maxQueuedBytes, alternatesLargePayloads: true))
        reader.read(open: { source }, afterBatch: {})
        let state = reader.state
        return IngestSourceResult(
            bytesRead: state.bytes, messages: state.messages, retries: state.retries, errors: state.errors,
            interrupted: state.cancelled)
    }

    /// The first store (in first-seen order) whose chunk store holds data for `entity`, if any: the
    /// store `ingest query` answers from when no store is named.
    public func store(holding entity: String) -> EntityDb? {
        allStores.first { !$0.chunkStore.components(of: entity).isEmpty }
    }
}

/// How ``StoreHub/ingest(_:label:options:)`` read one source.
public struct IngestSourceResult: Sendable, Hashable {
    /// Input consumed up to the end of the last complete message (``IngestSource/bytesConsumed``).
    public var bytesRead: UInt64
    /// Messages read.
    public var messages: UInt64
    /// Retries spent on transient errors.
    public var retries: Int
    /// Reader errors, in input order (stream damage, I/O, a refused submit).
    public var errors: [String]
    /// Whether reading was cancelled before the end.
    public var interrupted: Bool
}
