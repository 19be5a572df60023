import IngestCore
import RRD

/// How a submission behaves when the input queue is full.
enum AdmissionWait {
    /// Block until there is room (or the store closes).
    case block
    /// Report ``IngestError/Code/full`` at once.
    case never
    /// Block until the monotonic deadline (nanoseconds), then report ``IngestError/Code/timedOut``.
    case until(UInt64)
}

/// A run of messages that one admission (``EntityCore/admit(_:source:wait:)``) queues in order,
/// each moved out of the run as it is admitted: one message, a sequence, or the front of a
/// reader's batch.
protocol AdmissionRun: ~Copyable {
    /// Looks at the next message: its byte count (``PendingMessage/byteCount(of:)``) and offset,
    /// or `nil` at the end of the run.
    /// - Throws: ``IngestError/Code/wrongStore`` for a message that does not belong to `store`
    ///   (nothing of it is taken).
    mutating func next(for store: StoreId, source: String) throws(IngestError) -> (bytes: Int, offset: UInt64)?

    /// Moves out the message ``next(for:source:)`` looked at.
    mutating func take() -> Message
}

/// One message, already checked to belong to the store.
struct OneMessage: AdmissionRun {
    private var message: Message?
    private let offset: UInt64

    init(_ message: Message, offset: UInt64) {
        self.message = message
        self.offset = offset
    }

    mutating func next(for store: StoreId, source: String) throws(IngestError) -> (bytes: Int, offset: UInt64)? {
        guard let message else { return nil }
        return (PendingMessage.byteCount(of: message), offset)
    }

    mutating func take() -> Message { message.take()! }
}

/// Messages from an iterator: either each must belong to the store (``Mode/checked``), or the
/// run ends before the first that does not (``Mode/whileSameStore``), which stays in
/// ``lookahead`` for the caller to route.
struct SequenceRun<Messages: IteratorProtocol<FramedMessage>>: AdmissionRun {
    enum Mode {
        /// A message of another store (or `End`) fails the admission with `wrongStore`.
        case checked
        /// A message of another store (or `End`) ends the run.
        case whileSameStore
    }

    private var messages: Messages
    private let mode: Mode
    /// The message looked at and not yet admitted.
    private(set) var lookahead: FramedMessage?

    init(_ messages: Messages, mode: Mode, lookahead: FramedMessage? = nil) {
        self.messages = messages
        self.mode = mode
        self.lookahead = lookahead
    }

    /// Gives back the iterator and the message looked at but not admitted.
    consuming func rest() -> (Messages, FramedMessage?) { (messages, lookahead) }

    mutating func next(for store: StoreId, source: String) throws(IngestError) -> (bytes: Int, offset: UInt64)? {
        if lookahead == nil { lookahead = messages.next() }
        guard let m = lookahead else { return nil }
        if !m.message.belongs(to: store) {
            switch mode {
            case .checked: throw IngestError.wrongStore(m, source: source, store: store)
            case .whileSameStore: return nil
            }
        }
        return (PendingMessage.byteCount(of: m.message), m.offset)
    }

    mutating func take() -> Message { lookahead.take()!.message }
}

extension Message {
    /// Whether the message belongs to the store `id` (`End` belongs to none; a pointer comparison
    /// first for a reader's shared ids).
    @inline(__always)
    func belongs(to id: StoreId) -> Bool {
        switch self {
        case .arrowMsg(let a): return a.storeId.isIdentical(to: id) || a.storeId == id
        case .end: return false
        default: return storeId == id
        }
    }
}

/// The first `count` messages of a reader's batch, already routed to the store, moved out of it
/// (no copies). Lives only for the admission that takes them: it points at the caller's batch.
struct BatchPrefix: AdmissionRun, ~Copyable {
    private let batch: UnsafeMutablePointer<MessageBatch>
    private var remaining: Int

    init(_ batch: UnsafeMutablePointer<MessageBatch>, count: Int) {
        precondition(count <= batch.pointee.count, "prefix longer than the batch")
        self.batch = batch
        self.remaining = count
    }

    mutating func next(for store: StoreId, source: String) throws(IngestError) -> (bytes: Int, offset: UInt64)? {
        guard remaining > 0 else { return nil }
        return try batch.pointee.withItem(0) { m in (PendingMessage.byteCount(of: m.message), m.offset) }
    }

    mutating func take() -> Message {
        remaining -= 1
        return batch.pointee.popFirst().message
    }
}

extension IngestError {
    /// `message` was submitted to `store`, to which it does not belong.
    static func wrongStore(_ m: borrowing FramedMessage, source: String, store: StoreId) -> IngestError {
        IngestError(
            .wrongStore, source: source, offset: m.offset,
            "\(m.message.kind) for \(m.message.storeId.map { "\($0)" } ?? "no store") submitted to \(store)")
    }
}
