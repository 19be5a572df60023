import Histogram
import IngestCore
import RRD
import Store

/// Submit-to-output latencies: from admission into the input queue until the output item was
/// published (ready to poll), in nanoseconds, from an HDR histogram (2 significant digits).
public struct LatencySummary: Sendable, Hashable {
    /// Messages measured.
    public var count: UInt64
    /// Median latency.
    public var p50Nanoseconds: UInt64
    /// 99th percentile.
    public var p99Nanoseconds: UInt64
    /// Largest latency recorded.
    public var maxNanoseconds: UInt64

    init(_ h: LatencyHistogram) {
        count = h.histogram.totalCount
        p50Nanoseconds = count == 0 ? 0 : h.histogram.valueAtPercentile(50)
        p99Nanoseconds = count == 0 ? 0 : h.histogram.valueAtPercentile(99)
        maxNanoseconds = count == 0 ? 0 : h.histogram.max
    }
}

/// The latency histogram of one store (guarded by its output lock) or of a hub snapshot.
struct LatencyHistogram {
    /// Latencies above a minute are recorded as a minute.
    static let highest: UInt64 = 60_000_000_000
    // Two significant digits over 1 ns ... 60 s: about 15 KiB of UInt32 counts per store.
    var histogram = Histogram<UInt32>(
        lowestDiscernibleValue: 1, highestTrackableValue: highest, numberOfSignificantValueDigits: .two)

    /// Adds `other`'s counts.
    mutating func add(_ other: LatencyHistogram) { histogram.add(other.histogram) }

    @inline(__always)
    mutating func record(_ nanoseconds: UInt64) {
        _ = histogram.record(Swift.min(Swift.max(nanoseconds, 1), Self.highest))
    }
}

/// A snapshot of one store's queues and counters (``EntityDb/statistics``).
///
/// The counters are kept by the worker with each output item it publishes (under the lock it
/// takes anyway) and by producers under the input lock they take anyway: keeping them costs two
/// clock readings per message and no extra lock.
public struct StoreStatistics: Sendable, Hashable {
    /// Counters the worker publishes together with each output item.
    struct Counters: Sendable, Hashable {
        var distinctChunks = 0
        var rows = 0
        var duplicateChunks = 0
        var decodeErrors = 0
        var discarded: UInt64 = 0
        var messagesOut: UInt64 = 0
        var bytesOut: UInt64 = 0
        var processNanoseconds: UInt64 = 0
        var insertNanoseconds: UInt64 = 0

        mutating func record(_ counts: ProcessedCounts) {
            if counts.newChunk {
                distinctChunks += 1
                rows += counts.rows
            }
            if counts.duplicateChunk { duplicateChunks += 1 }
            if counts.decodeError { decodeErrors += 1 }
            messagesOut += 1
            processNanoseconds &+= counts.processNanoseconds
            insertNanoseconds &+= counts.insertNanoseconds
        }
    }

    /// Counters producers keep under the input lock.
    struct InputCounters: Sendable, Hashable {
        var bytesIn: UInt64 = 0
        var highWater = 0
        var blockedNanoseconds: UInt64 = 0
    }

    /// The store.
    public var storeId: StoreId
    /// Messages admitted so far (the next sequence number): the messages in.
    public var admitted: UInt64
    /// Payload bytes admitted so far (an `ArrowMsg` counts its payload, control messages 0).
    public var bytesIn: UInt64
    /// Output items published so far (polled or not): the messages out.
    public var messagesOut: UInt64
    /// Bytes of the output items published so far (each decoded chunk counts its ``/Chunks/Chunk/byteSize``,
    /// see ``readyOutputBytes``).
    public var bytesOut: UInt64
    /// Messages handled so far: output published, or discarded by a shutdown.
    public var handled: UInt64
    /// Messages waiting in the input queue (the queue depth now).
    public var queuedMessages: Int
    /// The most messages the input queue ever held at once (its high-water mark).
    public var queueHighWater: Int
    /// Payload bytes waiting in the input queue (what the byte bound counts).
    public var queuedBytes: Int
    /// Output items waiting to be polled.
    public var readyOutputs: Int
    /// Bytes the ready output items keep alive (each decoded chunk counts its ``/Chunks/Chunk/byteSize``:
    /// its decompressed payload, or the compact copy a small chunk keeps, plus its model): memory
    /// the unbounded output queue holds until polled.
    public var readyOutputBytes: Int
    /// Producers blocked on the full input queue right now (threads and suspended tasks).
    public var waitingProducers: Int
    /// Total time producers spent blocked (or suspended) on a full input queue, in nanoseconds.
    public var producerBlockedNanoseconds: UInt64
    /// Total time the worker spent turning messages into outputs (decode, RowId sort, insert),
    /// in nanoseconds.
    public var processNanoseconds: UInt64
    /// Of ``processNanoseconds``, the time spent decoding (everything but the insert).
    public var decodeNanoseconds: UInt64
    /// Of ``processNanoseconds``, the time spent inserting into ``EntityDb/chunkStore``.
    public var insertNanoseconds: UInt64
    /// Submit-to-output latency percentiles.
    public var latency: LatencySummary
    /// Whether the store was shut down.
    public var isClosed: Bool
    /// Whether a worker thread is running now (always `false` in the synchronous build; an idle
    /// worker may exit, see ``IngestConfiguration/workerIdleTimeout``).
    public var hasWorker: Bool
    /// Distinct chunk ids received (decoded successfully).
    public var distinctChunks: Int
    /// Rows of those distinct chunks.
    public var rows: Int
    /// Chunks whose id had been received before (not counted again).
    public var duplicateChunks: Int
    /// `ArrowMsg`s that did not decode (or whose chunk the chunk store refused).
    public var decodeErrors: Int
    /// Queued messages dropped by a discarding shutdown.
    public var discarded: UInt64
    /// The chunk store's own figures (its ``/Store/ChunkStoreStatistics/duplicatesSkipped`` counts
    /// inserts of a chunk id it holds now).
    public var chunkStore: ChunkStoreStatistics

    init(
        storeId: StoreId, admitted: UInt64, handled: UInt64, queuedMessages: Int, queuedBytes: Int,
        readyOutputs: Int, readyOutputBytes: Int, waitingProducers: Int, isClosed: Bool, hasWorker: Bool,
        input: InputCounters, counters: Counters, latency: LatencySummary, chunkStore: ChunkStoreStatistics
    ) {
        self.storeId = storeId
        self.admitted = admitted
        self.bytesIn = input.bytesIn
        self.messagesOut = counters.messagesOut
        self.bytesOut = counters.bytesOut
        self.handled = handled
        self.queuedMessages = queuedMessages
        self.queueHighWater = input.highWater
        self.queuedBytes = queuedBytes
        self.readyOutputs = readyOutputs
        self.readyOutputBytes = readyOutputBytes
        self.waitingProducers = waitingProducers
        self.producerBlockedNanoseconds = input.blockedNanoseconds
        self.processNanoseconds = counters.processNanoseconds
        self.insertNanoseconds = counters.insertNanoseconds
        self.decodeNanoseconds =
            counters.processNanoseconds
            &- Swift.min(
                counters.insertNanoseconds, counters.processNanoseconds)
        self.latency = latency
        self.isClosed = isClosed
        self.hasWorker = hasWorker
        self.distinctChunks = counters.distinctChunks
        self.rows = counters.rows
        self.duplicateChunks = counters.duplicateChunks
        self.decodeErrors = counters.decodeErrors
        self.discarded = counters.discarded
        self.chunkStore = chunkStore
    }
}

/// A snapshot of every store of a hub (``StoreHub/statistics``): the per-store figures and their
/// totals. Latency percentiles are those of all stores' latencies together.
public struct HubStatistics: Sendable, Hashable {
    /// Every store's figures, in first-seen order.
    public var stores: [StoreStatistics]
    /// Sum of ``StoreStatistics/admitted``.
    public var messagesIn: UInt64 = 0
    /// Sum of ``StoreStatistics/bytesIn``.
    public var bytesIn: UInt64 = 0
    /// Sum of ``StoreStatistics/messagesOut``.
    public var messagesOut: UInt64 = 0
    /// Sum of ``StoreStatistics/bytesOut``.
    public var bytesOut: UInt64 = 0
    /// Sum of ``StoreStatistics/queuedMessages``: messages queued now.
    public var queuedMessages = 0
    /// Sum of ``StoreStatistics/queuedBytes``.
    public var queuedBytes = 0
    /// The largest ``StoreStatistics/queueHighWater``.
    public var queueHighWater = 0
    /// Sum of ``StoreStatistics/readyOutputs``.
    public var readyOutputs = 0
    /// Sum of ``StoreStatistics/readyOutputBytes``.
    public var readyOutputBytes = 0
    /// Sum of ``StoreStatistics/waitingProducers``.
    public var waitingProducers = 0
    /// Sum of ``StoreStatistics/producerBlockedNanoseconds``.
    public var producerBlockedNanoseconds: UInt64 = 0
    /// Sum of ``StoreStatistics/decodeNanoseconds``.
    public var decodeNanoseconds: UInt64 = 0
    /// Sum of ``StoreStatistics/insertNanoseconds``.
    public var insertNanoseconds: UInt64 = 0
    /// Workers running now.
    public var runningWorkers = 0
    /// Latency percentiles over every store.
    public var latency: LatencySummary

    init(stores: [StoreStatistics], latency: LatencySummary) {
        self.stores = stores
        self.latency = latency
        for s in stores {
            messagesIn += s.admitted
            bytesIn += s.bytesIn
            messagesOut += s.messagesOut
            bytesOut += s.bytesOut
            queuedMessages += s.queuedMessages
            queuedBytes += s.queuedBytes
            queueHighWater = Swift.max(queueHighWater, s.queueHighWater)
            readyOutputs += s.readyOutputs
            readyOutputBytes += s.readyOutputBytes
            waitingProducers += s.waitingProducers
            producerBlockedNanoseconds &+= s.producerBlockedNanoseconds
            decodeNanoseconds &+= s.decodeNanoseconds
            insertNanoseconds &+= s.insertNanoseconds
            if s.hasWorker { runningWorkers += 1 }
        }
    }
}
