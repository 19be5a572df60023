import Chunks
import IngestCore
import RRD
import Store

/// The engine's seam in front of the chunk decoder: one instance per worker (it may cache
/// schemas, so it need not be thread-safe). Test support wraps it to pause a worker at a gate or
/// to inject failures; the public API never depends on what the decoder does.
package protocol ChunkDecoding: AnyObject {
    /// Decodes one message into a chunk, decompressing what the reading side left compressed into
    /// `arena` (the worker's, see ``PayloadDecompression``).
    func decode(_ message: ArrowMsg, arena: SlabArena?) throws(ChunkError) -> Chunk
}

extension ChunkDecoder: ChunkDecoding {}

/// An extra subscriber: called on the store's worker thread (inline in the synchronous build) for every decoded
/// chunk, in admission order, right after the store's own ``EntityDb/chunkStore`` inserted it and before its
/// output item is published. It should not submit to or flush the same store: the flush would wait for the hook
/// itself (it traps), and a submit finding the queue full fails with ``IngestError/Code/full`` instead of waiting
/// (in the synchronous build the hook's submits join the processing under way and come out after its chunk);
/// shutting the store down from it detaches the worker instead of joining it. Capture the ``EntityDb`` weakly, if
/// at all: the store keeps its hook alive.
public typealias ChunkInsertHook = @Sendable (_ store: StoreId, _ chunk: Chunk) -> Void

/// Settings of an ``EntityDb`` (a ``StoreHub`` applies its configuration to every store it creates).
public struct IngestConfiguration: Sendable {
    /// Input-queue slots (1...16,777,216). A slot frees when the worker dequeues the message.
    /// Default 2000. Slot storage grows on demand, so an idle store does not pay for it.
    public var queueCapacity: Int
    /// Optional bound on the payload bytes waiting in the input queue (an `ArrowMsg` counts its
    /// payload, control messages count 0). `nil` (the default) bounds by slots only. A message
    /// larger than the bound is admitted alone into an empty queue.
    public var maxQueuedBytes: Int?
    /// Where decoded chunks are inserted (see ``ChunkInsertHook``); `nil` inserts nowhere.
    public var insertChunk: ChunkInsertHook?
    /// How long a worker waits for input before its thread exits (`nil`, the default: it waits
    /// until shutdown). The next submit starts a new worker, which goes on in order with the
    /// same state; outputs, statistics and the chunk store are unaffected. For hubs with many
    /// stores of which few are live at a time. Ignored in the synchronous build (no threads).
    public var workerIdleTimeout: Duration?
    /// How each store's ``EntityDb/chunkStore`` indexes: compaction on insert and the memory budget
    /// (``/Store/ChunkStoreConfiguration/default``: neither, which is how the reference's store load runs).
    public var chunkStore: ChunkStoreConfiguration
    /// Whether chunks written by older SDKs are migrated to today's schema before they are stored
    /// and handed out (``/Chunks/SchemaMigration``: today's column names, entity paths and schema
    /// metadata, as 0.41's reader gives them). Default `true`; `false` keeps them as the bytes hold
    /// them (`ingest replay --no-migrate`). Chunks of today's SDK are the same either way.
    public var migratesSchemas: Bool
    /// A decoder factory set by tests (gates, injected failures); nil: the standard decoder.
    private var decoderFactory: (@Sendable () -> any ChunkDecoding)?
    /// Makes each worker's decoder (the seam tests use for gates and injected failures). Unless set,
    /// a ``/Chunks/ChunkDecoder`` that migrates as ``migratesSchemas`` says (read when the worker starts).
    package var makeDecoder: @Sendable () -> any ChunkDecoding {
        get {
            if let decoderFactory { return decoderFactory }
            let migrates = migratesSchemas
            return { ChunkDecoder(migratesSchemas: migrates) }
        }
        set { decoderFactory = newValue }
    }

    /// The defaults: 2000 slots, no byte bound, no insert hook, old schemas migrated.
    public init(
        queueCapacity: Int = 2000, maxQueuedBytes: Int? = nil, insertChunk: ChunkInsertHook? = nil,
        workerIdleTimeout: Duration? = nil, chunkStore: ChunkStoreConfiguration = .default,
        migratesSchemas: Bool = true
    ) {
        precondition(
            queueCapacity > 0 && queueCapacity <= 1 << 24, "queueCapacity must be in 1...16777216, got \(queueCapacity)"
        )
        precondition((maxQueuedBytes ?? 1) > 0, "maxQueuedBytes must be positive")
        self.queueCapacity = queueCapacity
        self.maxQueuedBytes = maxQueuedBytes
        self.insertChunk = insertChunk
        self.workerIdleTimeout = workerIdleTimeout
        self.chunkStore = chunkStore
        self.migratesSchemas = migratesSchemas
    }
}
