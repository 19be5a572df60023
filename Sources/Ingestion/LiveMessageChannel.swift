import DequeModule
import IngestCore
import RRD

/// The bounded hand-off between a live transport's `async` side (a gRPC `WriteMessages` call) and
/// the thread that reads it into the pipeline (``LiveIngestion``): message payloads in, in the
/// order sent.
///
/// A sender that finds the channel full (``Limits``) is suspended, not blocked, until the reading
/// thread takes messages out; the reading thread blocks while the channel is empty. So when a
/// store's queue is full, the reading thread waits in its submit, stops taking, the channel fills
/// and the sender stops pulling from its transport: backpressure reaches the remote peer without
/// any transport or cooperative-pool thread ever blocking.
///
/// Memory: at most ``Limits/bytes`` of payloads (or ``Limits/messages`` messages; a single larger
/// message is let in alone) wait here, plus what the reading thread took last (at most one
/// `takeLimit` of messages) while it waits to submit them.
///
/// Thread-safe; one sender at a time is the usual case (several are served in arrival order).
public final class LiveMessageChannel: Sendable {
    /// How much waits in the channel before senders are suspended.
    public struct Limits: Sendable, Hashable {
        /// Messages waiting (default 256).
        public var messages: Int
        /// Payload bytes waiting (default 8 MiB); a message larger than this is let in when the
        /// channel is empty.
        public var bytes: Int

        /// Limits of `messages` messages and `bytes` payload bytes (each at least 1).
        public init(messages: Int = 256, bytes: Int = 8 << 20) {
            self.messages = Swift.max(1, messages)
            self.bytes = Swift.max(1, bytes)
        }
    }

    /// What ``send(kind:payload:)`` did.
    public enum SendResult: Sendable, Hashable {
        /// The message is queued.
        case accepted
        /// The reading side stopped (the hub shut down, or the ingestion was cancelled): nothing
        /// more is taken, the message is dropped.
        case closed
        /// The sending task was cancelled while it waited for room; the message is dropped.
        case cancelled
    }

    /// One unit of input, in order.
    enum Unit: Sendable {
        /// A message's kind and protobuf payload (the `LogMsg` oneof's bytes).
        case message(MessageKind, ByteSlice)
        /// Damage the transport found (reported in order with the messages).
        case error(RRDError)
    }

    /// Figures of the sending side.
    public struct Counters: Sendable, Hashable {
        /// Messages accepted.
        public var messages: UInt64 = 0
        /// Their payload bytes.
        public var bytes: UInt64 = 0
        /// Errors reported.
        public var errors: UInt64 = 0
        /// Time senders spent suspended waiting for room (backpressure), in nanoseconds.
        public var blockedNanoseconds: UInt64 = 0
        /// Sends that had to wait.
        public var blockedSends: UInt64 = 0
    }

    private struct State {
        var queue = Deque<Unit>()
        var queuedBytes = 0
        /// No more sends (``finish()``): the reader takes what is queued, then ends.
        var finished = false
        /// The reader stopped (``close()``): what is queued is dropped, sends are refused.
        var closed = false
        var readerWaiting = false
        var senders: [UInt64: CheckedContinuation<Void, Never>] = [:]
        /// Arrival order of waiting senders (ids in ``senders``), so room goes to the oldest first.
        var senderOrder = Deque<UInt64>()
        var nextSender: UInt64 = 0
        var counters = Counters()

        func hasRoom(for bytes: Int, limits: Limits) -> Bool {
            queue.isEmpty || (queue.count < limits.messages && queuedBytes + bytes <= limits.bytes)
        }
    }

    /// The bounds.
    public let limits: Limits
    /// Most units one ``take(into:)`` hands out (the reader's batch: one submit per take).
    let takeLimit: Int
    private let state: Locked<State>
    private static let notEmpty = LockCondition(0)

    /// An empty channel with `limits`.
    public init(limits: Limits = Limits()) {
        self.limits = limits
        takeLimit = Swift.min(limits.messages, SourceReader.batchSize)
        state = Locked(State(), conditions: 1)
    }

    // MARK: sending side

    /// Queues a message (`kind` and its protobuf `payload`), suspending the task while the channel
    /// is full. Never blocks a thread.
    public func send(kind: MessageKind, payload: ByteSlice) async -> SendResult {
        let bytes = payload.count
        var waitedSince: UInt64 = 0
        while true {
            let (result, wake): (SendResult?, Bool) = state.withLock { s in
                if s.closed { return (.closed, false) }
                precondition(!s.finished, "LiveMessageChannel.send after finish()")
                guard s.hasRoom(for: bytes, limits: limits) else { return (nil, false) }
                s.queue.append(.message(kind, payload))
                s.queuedBytes += bytes
                s.counters.messages += 1
                s.counters.bytes += UInt64(bytes)
                if waitedSince != 0 {
                    s.counters.blockedNanoseconds &+= MonotonicClock.now() &- waitedSince
                    s.counters.blockedSends += 1
                }
                return (.accepted, s.readerWaiting)
            }
            if wake { state.signal(Self.notEmpty) }
            if let result { return result }
            if Task.isCancelled { return .cancelled }
            if waitedSince == 0 { waitedSince = MonotonicClock.now() }
            await waitForRoom(bytes: bytes)
            if Task.isCancelled { return .cancelled }
        }
    }

    /// Suspends until the reader took something out (or the channel closed, or the task is cancelled).
    private func waitForRoom(bytes: Int) async {
        let id = state.withLock { s in
            s.nextSender += 1
            return s.nextSender
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s in
                    if s.closed || s.hasRoom(for: bytes, limits: limits) || Task.isCancelled { return true }
                    s.senders[id] = c
                    s.senderOrder.append(id)
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            let c = state.withLock { s in s.senders.removeValue(forKey: id) }
            c?.resume()
        }
    }

    /// Queues `error` after the messages sent before it (it does not wait for room: errors are few
    /// and small).
    public func report(_ error: RRDError) {
        let wake: Bool = state.withLock { s in
            guard !s.closed else { return false }
            s.queue.append(.error(error))
            s.counters.errors += 1
            return s.readerWaiting
        }
        if wake { state.signal(Self.notEmpty) }
    }

    /// Ends the input: the reader takes what is queued, then sees the end. Call once, after the last send.
    public func finish() {
        let wake: Bool = state.withLock { s in
            s.finished = true
            return s.readerWaiting
        }
        if wake { state.signal(Self.notEmpty) }
    }

    /// The sending side's figures.
    public var counters: Counters { state.withLock { $0.counters } }

    /// Messages waiting now, and their payload bytes.
    public var depth: (messages: Int, bytes: Int) { state.withLock { ($0.queue.count, $0.queuedBytes) } }

    // MARK: reading side

    /// Moves up to ``takeLimit`` waiting units into `units` (empty on entry), blocking while none
    /// waits and the input has not ended; wakes the senders waiting for the room this frees.
    /// - Returns: `false` at the end: finished and drained, or closed.
    func take(into units: inout Deque<Unit>) -> Bool {
        var resumed: [CheckedContinuation<Void, Never>] = []
        let more: Bool = state.withLockWaiting { held in
            while held.state.queue.isEmpty && !held.state.finished && !held.state.closed {
                held.state.readerWaiting = true
                held.wait(Self.notEmpty)
                held.state.readerWaiting = false
            }
            if held.state.closed || held.state.queue.isEmpty { return false }
            let n = Swift.min(takeLimit, held.state.queue.count)
            for _ in 0..<n {
                let unit = held.state.queue.removeFirst()
                if case .message(_, let payload) = unit { held.state.queuedBytes -= payload.count }
                units.append(unit)
            }
            // Room was freed: let the waiting senders look again (oldest first; those that still find
            // no room wait again).
            while let id = held.state.senderOrder.popFirst() {
                if let c = held.state.senders.removeValue(forKey: id) { resumed.append(c) }
            }
            return true
        }
        for c in resumed { c.resume() }
        return more
    }

    /// Stops the channel from the reading side: drops what is queued, wakes and refuses senders
    /// (``SendResult/closed``), and wakes a reader blocked in `take(into:)`.
    public func close() {
        let resumed: [CheckedContinuation<Void, Never>] = state.withLock { s in
            s.closed = true
            s.queue.removeAll()
            s.queuedBytes = 0
            s.senderOrder.removeAll()
            defer { s.senders.removeAll() }
            return Array(s.senders.values)
        }
        state.broadcast(Self.notEmpty)
        for c in resumed { c.resume() }
    }

    /// Whether ``close()`` was called.
    public var isClosed: Bool { state.withLock { $0.closed } }
}

/// The reading side of a ``LiveMessageChannel`` as an ``IngestSource``: each pull takes what the
/// channel holds (blocking while it is empty) and decodes the payloads on the reading thread with a
/// ``RRD/MessagePayloadDecoder``, as an RRD input's are (the same ids, the same legacy completion,
/// the same errors), each message's offset being its index in the input. A `tap` sees each decoded
/// message on the reading thread, in the input's order, before it goes to its store.
final class LiveChannelSource: IngestSource {
    private let channel: LiveMessageChannel
    private let tap: (@Sendable (Message) -> Void)?
    private var payloads: MessagePayloadDecoder
    private var units = Deque<LiveMessageChannel.Unit>()
    /// Units taken so far: the next one's index.
    private(set) var bytesRead: UInt64 = 0

    init(channel: LiveMessageChannel, name: String, tap: (@Sendable (Message) -> Void)? = nil) {
        self.channel = channel
        self.tap = tap
        payloads = MessagePayloadDecoder(source: name)
    }

    func pull(into sink: (consuming StreamEvent) -> Void) throws(ByteSourceError) -> Int {
        guard channel.take(into: &units) else { return 0 }
        let n = units.count
        while let unit = units.popFirst() {
            let index = bytesRead
            bytesRead += 1
            switch unit {
            case .message(let kind, let payload):
                do throws(RRDError) {
                    let message = try payloads.decode(kind: kind, payload: payload, offset: index)
                    tap?(message)
                    sink(.message(FramedMessage(offset: index, length: UInt64(payload.count), message: message)))
                } catch {
                    sink(.error(error))
                }
            case .error(let error):
                sink(.error(error))
            }
        }
        return n
    }

    func finish(into sink: (consuming StreamEvent) -> Void) throws(ByteSourceError) {}

    var isExhausted: Bool { false }
    var bytesConsumed: UInt64 { bytesRead }
    var canGrow: Bool { false }
    /// Each pull is a batch: nothing the reader took waits in its batch while the next pull blocks.
    var submitsEachPull: Bool { true }
}
