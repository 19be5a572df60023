import Chunks
import RRD

/// What one admitted message became.
public enum IngestEvent: Sendable {
    /// A `SetStoreInfo`: the store's info was kept/replaced (it adds no data).
    case storeInfo(SetStoreInfo)
    /// An `ArrowMsg` decoded into a chunk, already inserted into the store's ``EntityDb/chunkStore``
    /// (and handed to the insert hook, if any).
    case chunk(Chunk)
    /// A `BlueprintActivationCommand` for this (blueprint) store; the app acts on it. Every chunk
    /// admitted before it has been inserted when it comes out.
    case activation(BlueprintActivationCommand)
    /// A message that could not be ingested (``IngestError/Code/decode``); the store went on.
    case error(IngestError)
}

/// One item of a store's output queue: the outcome of one admitted message, in admission order.
public struct IngestOutput: Sendable {
    /// What the message became.
    public var event: IngestEvent
    /// The message's admission number in its store: 0, 1, 2, … with no gaps, in the order the
    /// input queue admitted them. Outputs come out in exactly this order.
    public var sequence: UInt64
    /// The producer's label for the input the message came from.
    public var source: String
    /// Byte offset of the message header in that input.
    public var offset: UInt64
    /// `true` on the first item that made the store non-empty: the first chunk with rows whose
    /// id the store had not received before (Rerun's `was_empty`).
    public var storeWasEmpty: Bool
    /// Whether more output was ready when this item was taken (polling again returns at once).
    public var moreReady: Bool
    /// Bytes this item counts in ``StoreStatistics/readyOutputBytes`` while it waits.
    var accountedBytes = 0

    /// Creates an output item (the engine makes these; public for test doubles).
    public init(
        event: IngestEvent, sequence: UInt64, source: String, offset: UInt64, storeWasEmpty: Bool, moreReady: Bool
    ) {
        self.event = event
        self.sequence = sequence
        self.source = source
        self.offset = offset
        self.storeWasEmpty = storeWasEmpty
        self.moreReady = moreReady
    }

    /// The error, if this item is one.
    public var error: IngestError? {
        if case .error(let e) = event { return e }
        return nil
    }

    /// The chunk, if this item is one.
    public var chunk: Chunk? {
        if case .chunk(let c) = event { return c }
        return nil
    }
}
