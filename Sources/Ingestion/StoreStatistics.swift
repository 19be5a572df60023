import RRD

/// A snapshot of one store's queues and counters (``EntityDb/statistics``).
public struct StoreStatistics: Sendable, Hashable {
    /// Counters the worker publishes together with each output item.
    struct Counters: Sendable, Hashable {
        var distinctChunks = 0
        var rows = 0
        var duplicateChunks = 0
        var decodeErrors = 0
        var discarded: UInt64 = 0

        mutating func record(_ counts: ProcessedCounts) {
            if counts.newChunk {
                distinctChunks += 1
                rows += counts.rows
            }
            if counts.duplicateChunk { duplicateChunks += 1 }
            if counts.decodeError { decodeErrors += 1 }
        }
    }

    /// Messages admitted so far (the next sequence number).
    public var admitted: UInt64
    /// Messages handled so far: output published, or discarded by a shutdown.
    public var handled: UInt64
    /// Messages waiting in the input queue.
    public var queuedMessages: Int
    /// Payload bytes waiting in the input queue (what the byte bound counts).
    public var queuedBytes: Int
    /// Output items waiting to be polled.
    public var readyOutputs: Int
    /// Bytes the ready output items keep alive (each decoded chunk counts its decompressed
    /// payload, which its columns view): memory the unbounded output queue holds until polled.
    public var readyOutputBytes: Int
    /// Producers blocked on the full input queue right now.
    public var waitingProducers: Int
    /// Total time producers spent blocked on a full input queue, in nanoseconds.
    public var producerBlockedNanoseconds: UInt64
    /// Whether the store was shut down.
    public var isClosed: Bool
    /// Distinct chunk ids received (decoded successfully).
    public var distinctChunks: Int
    /// Rows of those distinct chunks.
    public var rows: Int
    /// Chunks whose id had been received before (not counted again).
    public var duplicateChunks: Int
    /// `ArrowMsg`s that did not decode.
    public var decodeErrors: Int
    /// Queued messages dropped by a discarding shutdown.
    public var discarded: UInt64

    init(
        admitted: UInt64, handled: UInt64, queuedMessages: Int, queuedBytes: Int, readyOutputs: Int,
        readyOutputBytes: Int,
        waitingProducers: Int, producerBlockedNanoseconds: UInt64, isClosed: Bool, counters: Counters
    ) {
        self.waitingProducers = waitingProducers
        self.admitted = admitted
        self.handled = handled
        self.queuedMessages = queuedMessages
        self.queuedBytes = queuedBytes
        self.readyOutputs = readyOutputs
        self.readyOutputBytes = readyOutputBytes
        self.producerBlockedNanoseconds = producerBlockedNanoseconds
        self.isClosed = isClosed
        self.distinctChunks = counters.distinctChunks
        self.rows = counters.rows
        self.duplicateChunks = counters.duplicateChunks
        self.decodeErrors = counters.decodeErrors
        self.discarded = counters.discarded
    }
}
