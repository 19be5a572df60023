import Chunks
import IngestCore
import RRD

/// Where each `ArrowMsg`'s LZ4 payload is decompressed: the one place that decides it. The reading
/// side calls ``decompressOnReader(_:)`` for every `ArrowMsg` it reads (``SourceReader``, the pipeline's
/// reading loop, whatever the source: ``ReplayPipeline``, ``StoreHub/replay(files:readerOptions:onOutput:)``,
/// ``StoreHub/ingest(_:label:options:)``, `ingest query`); the store's worker gets every payload through ``workerPayload(of:arena:maxSize:)``
/// (by ``/Chunks/ChunkDecoder/decode(_:arena:)``), as do the other decoders of messages (pacing, the CLI).
///
/// The policy:
/// - The reading thread decompresses an LZ4 payload of at most ``readerLimit`` uncompressed bytes
///   (``smallPayloadLimit``, or the stores' byte bound ``IngestConfiguration/maxQueuedBytes`` when that
///   is larger) into the store's reader arena (one `SlabArena` per store, so that one store's
///   chunks never pin another's slabs); the message then carries the uncompressed bytes on, and the
///   worker borrows them without copying. On small chunks the worker's per-chunk work is the
///   bottleneck and the reader's is not. Memory stays bounded: the byte bound (or the slot bound
///   times ``smallPayloadLimit``) applies to the decompressed bytes waiting per store.
/// - When ``alternatesLargePayloads`` (the reading loop), from ``sharedDecompressionSize`` on every
///   other payload is left to the worker, so both cores share the decompression of large payloads
///   (and the first-touch page faults of its output).
/// - A payload that does not decompress is left as it is: the worker fails on it and reports the
///   error in the message's place, in order.
/// - The worker decompresses what is still compressed into its own arena (one per store), up to
///   ``maxPayloadSize`` bytes, and hands every payload to the decoder uncompressed.
///
/// ```swift
/// var decompression = PayloadDecompression(maxQueuedBytes: nil, alternatesLargePayloads: true)
/// decompression.decompressOnReader(&msg)                  // reading thread
/// let ipc = try PayloadDecompression.workerPayload(of: msg, arena: workerArena)   // worker
/// ```
///
/// The reading side's state (its arenas, the count of large payloads) is that of one reading
/// thread: one value per reader (per source in the reading loop).
struct PayloadDecompression {
    /// Payloads up to this many uncompressed bytes are decompressed on the reading thread when the
    /// stores have no byte bound.
    static let smallPayloadLimit = 64 << 10
    /// From this uncompressed size on, every other payload is left to the worker when alternating
    /// (measured on points_500mb: 3.3 MB payloads, the reader otherwise the only busy thread).
    static let sharedDecompressionSize = 1 << 20
    /// The largest declared uncompressed size decompressed at all (a larger one is a decode error).
    static let maxPayloadSize: UInt64 = 1 << 31

    /// The largest payload the reading side decompresses.
    let readerLimit: Int
    /// Whether payloads of ``sharedDecompressionSize`` or more alternate between reader and worker.
    let alternatesLargePayloads: Bool
    /// Payloads of at least ``sharedDecompressionSize`` bytes met so far (when alternating).
    private(set) var largePayloads = 0
    /// The reading side's arenas, one per store.
    private var arenas = ReaderArenas()

    /// The policy for stores with byte bound `maxQueuedBytes` (``IngestConfiguration/maxQueuedBytes``).
    init(maxQueuedBytes: Int?, alternatesLargePayloads: Bool) {
        readerLimit = max(maxQueuedBytes ?? 0, Self.smallPayloadLimit)
        self.alternatesLargePayloads = alternatesLargePayloads
    }

    /// The reading side's part, for every `ArrowMsg` read: decompresses an LZ4 payload here when the
    /// policy says so (the message then carries it uncompressed), else leaves the message as it is
    /// for the worker.
    /// - Returns: whether the payload was decompressed here.
    @inline(__always) @discardableResult
    mutating func decompressOnReader(_ msg: inout ArrowMsg) -> Bool {
        guard msg.compression == .lz4 else { return false }
        if alternatesLargePayloads && msg.uncompressedSize >= UInt64(Self.sharedDecompressionSize) {
            largePayloads &+= 1
            guard largePayloads & 1 == 1 else { return false }
        }
        guard msg.uncompressedSize <= UInt64(readerLimit),
            let payload = try? msg.decompressedPayload(
                maxSize: UInt64(readerLimit), arena: arenas.arena(for: msg.storeId))
        else { return false }
        msg.compression = .none
        msg.uncompressedSize = UInt64(payload.count)
        msg.payload = payload
        return true
    }

    /// The worker's part: the uncompressed Arrow IPC payload of `msg`, decompressing into `arena`
    /// (the worker's own; `nil`: a buffer of its own) what the reading side left compressed.
    ///
    /// - Throws: ``/Chunks/ChunkError`` with the reason: an encoding that is not Arrow IPC, or the
    ///   decompression's message (corrupt LZ4 data, a declared size above `maxSize`, an unknown
    ///   compression, an uncompressed payload whose size disagrees with `uncompressed_size`).
    static func workerPayload(
        of msg: ArrowMsg, arena: SlabArena?, maxSize: UInt64 = maxPayloadSize
    ) throws(ChunkError) -> ByteSlice {
        guard msg.encoding == 1 || msg.encoding == 0 else {
            throw ChunkError("ArrowMsg encoding \(msg.encoding) is not Arrow IPC (1)")
        }
        do {
            return try msg.decompressedPayload(maxSize: maxSize, arena: arena)
        } catch {
            throw ChunkError(error.message)
        }
    }
}

/// The payload arenas of one reading thread, one per store, with the last one used at hand
/// (consecutive messages mostly belong to one store).
struct ReaderArenas {
    private var arenas: [StoreId: SlabArena] = [:]
    private var lastId: StoreId?
    private var last: SlabArena?

    mutating func arena(for id: StoreId) -> SlabArena {
        if let last, id == lastId { return last }
        let arena: SlabArena
        if let a = arenas[id] {
            arena = a
        } else {
            arena = SlabArena(.payloads)
            arenas[id] = arena
        }
        lastId = id
        last = arena
        return arena
    }
}

/// Decoding straight from an RRD message, as a store's worker does (decompression included), for
/// callers outside the engine: tools and tests.
extension ChunkDecoder {
    /// Decodes one `ArrowMsg` into a chunk the way a store's worker does: an LZ4 payload is
    /// decompressed (into `arena` when given; at most 2 GiB), then the Arrow IPC stream decoded
    /// with ``/Chunks/ChunkDecoder/decode(ipc:chunkIdHint:isStaticHint:)-(ByteSlice,_,_)`` and the message's chunk id and
    /// is-static flag as hints.
    ///
    /// - Throws: ``/Chunks/ChunkError``: for a payload that is not Arrow IPC or does not decompress (the
    ///   decompression's message), and whatever the Arrow IPC decode throws.
    public func decode(_ message: ArrowMsg, arena: SlabArena? = nil) throws(ChunkError) -> Chunk {
        let payload = try PayloadDecompression.workerPayload(of: message, arena: arena)
        return try decode(ipc: payload, chunkIdHint: message.chunkId, isStaticHint: message.isStatic)
    }
}
