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
/// Owned by exactly one thread at a time: the worker (threaded build), or whoever holds the
/// store's lock (synchronous build).
struct Processor {
    let storeId: StoreId
    let decoder: any ChunkDecoding
    let insertChunk: ChunkInsertHook?
    /// The store's own chunk store: every decoded chunk is inserted here, in admission order.
    let chunkStore: ChunkStore<Chunk>
    /// Chunk ids received so far (distinct), for counting and `storeWasEmpty`.
    private var chunkIds = ChunkIdSet()
    private var hasData = false
    /// The store's info, from the latest `SetStoreInfo`.
    private(set) var storeInfo: SetStoreInfo?
    /// Where this worker decompresses the store's LZ4 payloads (those the reading side left
    /// compressed): slabs shared by the store's chunks only.
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
            storeInfo = info
            event = .storeInfo(info)
        case .arrowMsg(let msg):
            do {
                let chunk = try decoder.decode(Self.decompressed(msg, into: arena))
                let rows = chunk.ingestRowCount
                if chunkIds.insert(chunk.ingestChunkId).inserted {
                    counts.newChunk = true
                    counts.rows = rows
                    if !hasData && rows > 0 {
                        hasData = true
                        wasEmpty = true
                    }
                } else {
                    counts.duplicateChunk = true
                }
                let t0 = MonotonicClock.now()
                do {
                    // Dedupe against what the store holds now is the store's (counted in its statistics).
                    _ = try chunkStore.insert(chunk)
                    counts.insertNanoseconds = MonotonicClock.now() &- t0
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
                            "chunk \(chunk.ingestChunkId.chunkIdString) of \(storeId) was not inserted: \(error.message)"
                        ))
                }
            } catch {
                counts.decodeError = true
                event = .error(
                    IngestError(
                        .decode, source: item.source, offset: item.offset,
                        "chunk \(msg.chunkId.map(\.chunkIdString) ?? "without id") of \(storeId): \(error.message)"))
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

    /// `msg` with its LZ4 payload decompressed into `arena`, or `msg` itself when it is not LZ4
    /// Arrow IPC or does not decompress (the decoder then reports why, as it would have anyway).
    static func decompressed(_ msg: ArrowMsg, into arena: SlabArena) -> ArrowMsg {
        guard msg.compression == .lz4, msg.encoding == 1 || msg.encoding == 0,
            let payload = try? msg.decompressedPayload(arena: arena)
        else { return msg }
        var m = msg
        m.compression = .none
        m.uncompressedSize = UInt64(payload.count)
        m.payload = payload
        return m
    }
}

/// The distinct chunk ids a store has received: an open-addressing set with a multiplicative hash
/// (`Set<Tuid>` hashes with SipHash, which showed in the per-chunk profile). Grows at 3/4 full.
struct ChunkIdSet {
    private var slots: [Tuid]
    private var occupied: [Bool]
    /// Ids held.
    private(set) var count = 0

    init() {
        slots = []
        occupied = []
    }

    /// Adds `id`; false when it was already there.
    mutating func insert(_ id: Tuid) -> (inserted: Bool, memberAfterInsert: Tuid) {
        if (count + 1) * 4 > slots.count * 3 { grow() }
        let mask = slots.count - 1
        var i = Self.hash(id) & mask
        while occupied[i] {
            if slots[i] == id { return (false, id) }
            i = (i + 1) & mask
        }
        occupied[i] = true
        slots[i] = id
        count += 1
        return (true, id)
    }

    /// Whether `id` is held.
    func contains(_ id: Tuid) -> Bool {
        guard !slots.isEmpty else { return false }
        let mask = slots.count - 1
        var i = Self.hash(id) & mask
        while occupied[i] {
            if slots[i] == id { return true }
            i = (i + 1) & mask
        }
        return false
    }

    private mutating func grow() {
        let old = slots
        let wasOccupied = occupied
        let capacity = Swift.max(64, slots.count * 2)
        slots = [Tuid](repeating: Tuid(timeNs: 0, inc: 0), count: capacity)
        occupied = [Bool](repeating: false, count: capacity)
        count = 0
        for k in old.indices where wasOccupied[k] { _ = insert(old[k]) }
    }

    /// Mixes both halves (ids from one process share their time's high bits and count up).
    @inline(__always)
    private static func hash(_ id: Tuid) -> Int {
        var h = (id.timeNs &* 0x9E37_79B9_7F4A_7C15) ^ id.inc
        h = (h ^ (h >> 31)) &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 29
        return Int(truncatingIfNeeded: h)
    }
}
