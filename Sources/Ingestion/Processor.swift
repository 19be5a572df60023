import Chunks
import IngestCore
import RRD
import Store

/// What processing one message changed in the store's counters (published with its output).
struct ProcessedCounts {
    var newChunk = false
    var duplicateChunk = false
    var rows = 0
    var decodeError = false
    /// Nanoseconds spent inserting into the store's chunk store.
    var insertNanoseconds: UInt64 = 0
    /// Nanoseconds from admission to publication (set by the worker).
    var latencyNanoseconds: UInt64 = 0
    /// Nanoseconds the worker spent on the message (decode + insert; set by the worker).
    var processNanoseconds: UInt64 = 0
}

/// The worker's half of a store: turns admitted messages into output items, in order.
///
/// Guarded by the store's processing lock (``EntityCore/processing``): held by the worker thread
/// for its whole life, or by an inline producer for one pass.
struct Processor {
    let storeId: StoreId
    let decoder: any ChunkDecoding
    let insertChunk: ChunkInsertHook?
    /// The store's own chunk store: every decoded chunk is inserted here, in admission order.
    let chunkStore: ChunkStore<Chunk>
    /// Where this worker decompresses the store's LZ4 payloads (those the reading side left
    /// compressed, see ``PayloadDecompression``): slabs shared by the store's chunks only.
    private let arena = SlabArena(.payloads)

    init(storeId: StoreId, configuration: IngestConfiguration, chunkStore: ChunkStore<Chunk>) {
        self.storeId = storeId
        self.chunkStore = chunkStore
        self.decoder = configuration.makeDecoder()
        self.insertChunk = configuration.insertChunk
    }

    /// Handles one message: decodes it, inserts a chunk into the chunk store and through the hook,
    /// and returns its output
    /// item (with `moreReady` left false: the output queue sets it when the item is taken).
    mutating func process(_ item: PendingMessage, counts: inout ProcessedCounts) -> IngestOutput {
        let event: IngestEvent
        var wasEmpty = false
        var accountedBytes = 0
        switch item.message {
        case .setStoreInfo(let info):
            event = .storeInfo(info)
        case .arrowMsg(let msg):
            do {
                let chunk = try decoder.decode(msg, arena: arena)
                let t0 = MonotonicClock.now()
                do {
                    // Dedupe against what the store holds now is the store's (counted in its statistics);
                    // so is knowing whether the id is new to the store ever (distinct chunks, `was_empty`).
                    let report = try chunkStore.insertReporting(chunk)
                    counts.insertNanoseconds = MonotonicClock.now() &- t0
                    if report.isNewChunkId {
                        counts.newChunk = true
                        counts.rows = chunk.ingestRowCount
                        wasEmpty = report.isFirstChunkWithRows
                    } else {
                        counts.duplicateChunk = true
                    }
                    insertChunk?(storeId, chunk)
                    event = .chunk(chunk)
                    // What the chunk keeps alive (its decompressed payload, or for a small chunk the
                    // compact copy of its body and metadata, plus its model): computed once, free to read.
                    accountedBytes = chunk.byteSize
                } catch {
                    counts.insertNanoseconds = MonotonicClock.now() &- t0
                    counts.decodeError = true
                    event = .error(
                        IngestError(
                            .decode, source: item.source, offset: item.offset,
                            "chunk \(chunk.ingestChunkId) of \(storeId) was not inserted: \(error.message)"
                        ))
                }
            } catch {
                counts.decodeError = true
                event = .error(
                    IngestError(
                        .decode, source: item.source, offset: item.offset,
                        "chunk \(msg.chunkId.map(\.description) ?? "without id") of \(storeId): \(error.message)"))
            }
        case .blueprintActivationCommand(let cmd):
            event = .activation(cmd)
        case .end:
            // Admission refuses `End` (it belongs to no store); kept total for safety.
            event = .error(
                IngestError(.wrongStore, source: item.source, offset: item.offset, "End belongs to no store"))
        }
        var out = IngestOutput(
            event: event, sequence: item.sequence, source: item.source, offset: item.offset,
            storeWasEmpty: wasEmpty, moreReady: false)
        out.accountedBytes = accountedBytes
        return out
    }
}
