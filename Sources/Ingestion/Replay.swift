import ArrowIPC
import IngestCore
import RRD

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
                stores.map { st in
                    .object([
                        "kind": .string(st.storeId.kind.description),
                        "application_id": .string(st.storeId.applicationId),
                        "recording_id": .string(st.storeId.recordingId), "chunks": .int(Int64(st.chunks)),
                        "rows": .int(Int64(st.rows)), "decode_errors": .int(Int64(st.decodeErrors)),
                    ])
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
    /// Messages a replay hands to the hub at a time.
    static let replayBatchSize = 64

    /// Reads `files` in order through this hub on the calling thread (the stores' workers decode
    /// in parallel; the reading thread also decompresses payloads of up to 64 KiB, or up to the
    /// stores' byte bound when that is larger), reporting reader errors
    /// on the per-source error stream (source = path), then flushes.
    ///
    /// Outputs are drained as the replay goes, so memory stays bounded: `onOutput` sees each
    /// one, per store in admission order. The calling thread is both a producer and the consumer
    /// here, which is safe only because the workers never wait for the consumer (outputs are
    /// unbounded).
    /// - Returns: per-store figures and the stream errors.
    @discardableResult
    public func replay(
        files: [String], readerOptions: ReaderOptions = ReaderOptions(),
        onOutput: (EntityDb, IngestOutput) -> Void = { _, _ in }
    ) -> ReplaySummary {
        var messages = 0
        var errors: [SourceErrorItem] = []
        for path in files {
            var reader: RRDReader
            do {
                reader = try RRDReader(path: path, options: readerOptions)
            } catch {
                report(error)
                continue
            }
            // Messages are handed over in small batches (one lock acquisition and at most one
            // wake-up per run of one store) and always before an error, which must follow them.
            var batch: [FramedMessage] = []
            batch.reserveCapacity(Self.replayBatchSize)
            // This file's reading side: one payload arena per store (see PayloadDecompression).
            var decompression = PayloadDecompression(
                maxQueuedBytes: configuration.maxQueuedBytes, alternatesLargePayloads: false)
            func submitBatch() {
                do {
                    try submit(contentsOf: batch, source: path)
                } catch {
                    report(error)
                }
                batch.removeAll(keepingCapacity: true)
            }
            while let event = reader.next() {
                switch event {
                case .message(var m):
                    messages += 1
                    if case .arrowMsg(var a) = m.message, a.compression == .lz4, decompression.decompressOnReader(&a) {
                        m.message = .arrowMsg(a)
                    }
                    batch.append(m)
                    if batch.count == Self.replayBatchSize {
                        submitBatch()
                        drain(onOutput)
                    }
                case .error(let e):
                    submitBatch()
                    report(e)
                case .streamHeader, .streamFooter:
                    break
                }
            }
            submitBatch()
        }
        flush()
        drain(onOutput)
        while let e = pollSourceError() { errors.append(e) }
        let stores = allStores.map { db in
            let st = db.statistics
            return ReplayStoreSummary(
                storeId: db.storeId, chunks: st.distinctChunks, rows: st.rows, decodeErrors: st.decodeErrors,
                messages: st.admitted)
        }
        return ReplaySummary(stores: stores, sourceErrors: errors, messages: messages)
    }
}
