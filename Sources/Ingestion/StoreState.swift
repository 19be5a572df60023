import DequeModule
import IngestCore
import RRD
import Store

/// What a shut-down store does with the messages it admitted but has not processed yet.
enum Disposal: Sendable, Hashable {
    /// Process them: their outputs stay pollable.
    case drain
    /// Drop them (counted in ``StoreStatistics/discarded``).
    case discard
}

/// A store's lifecycle: open → closing (draining or discarding) → closed.
///
/// Kept in ``InputState``: admission reads it under the input lock it takes anyway.
enum StoreLifecycle: Sendable, Hashable {
    /// Admitting messages.
    case open
    /// Shut down: admissions fail with ``IngestError/Code/closed``; what was admitted is being
    /// drained or discarded.
    case closing(Disposal)
    /// Shut down, and every admitted message was handled: the outputs ended (items may still wait
    /// to be polled).
    case closed

    var isOpen: Bool { self == .open }

    /// A shutdown: open → closing; a discarding shutdown turns draining into discarding (a later
    /// call may escalate, never the other way); a closed store stays closed.
    /// - Returns: whether messages still queued are now dropped.
    mutating func shutDown(_ disposal: Disposal) -> Bool {
        switch self {
        case .open:
            self = .closing(disposal)
        case .closing(.drain) where disposal == .discard:
            self = .closing(.discard)
        case .closing, .closed:
            break
        }
        return self == .closing(.discard)
    }

    /// Every admitted message was handled and nothing processes the store any more: closing →
    /// closed (closed stays closed). An open store cannot end: that traps in debug builds.
    mutating func finish() {
        switch self {
        case .open: assertionFailure("an open store cannot end its outputs")
        case .closing, .closed: self = .closed
        }
    }
}

/// Everything a store's input lock guards: the queue and its byte count, the numbering, the
/// lifecycle, the executor's worker state, and the producers waiting for room.
///
/// `Worker` is the executor's share (``StoreExecutor/Worker``): the worker thread's state, or
/// which producer processes inline. It sits under the same lock as the queue because an admission
/// decides in one critical section whether to wake or start the worker for what it queued.
struct InputState<Worker>: ~Copyable {
    /// The admitted messages not yet taken by the executor, oldest first.
    private(set) var ring: InputRing
    /// Payload bytes in ``ring``: what the byte bound counts, and what the chunk store's memory
    /// budget counts (the one count, shared with the store: ``/Store/ChunkStore/queuedByteCount``).
    /// Written only here, under the input lock; the store reads it lock-free.
    let queued: QueuedByteCount
    /// Payload bytes in ``ring``.
    var queuedBytes: Int { queued.value }
    /// The next admission number (the number of messages admitted so far).
    private(set) var nextSequence: UInt64 = 0
    var lifecycle = StoreLifecycle.open
    var worker: Worker
    /// Threads blocked on a full queue.
    var producersWaiting = 0
    /// Tasks suspended until room frees (``EntityCore/admitAsync(_:source:offset:)``).
    var roomWaiters: [CheckedContinuation<Void, Never>] = []
    /// Bytes in, queue high-water mark, time producers spent blocked.
    var counters = StoreStatistics.InputCounters()

    init(capacity: Int, worker: Worker, queued: QueuedByteCount) {
        ring = InputRing(capacity: capacity)
        self.worker = worker
        self.queued = queued
    }

    /// Whether a message of `bytes` fits now: a free slot, and room under the byte bound `limit`,
    /// except that a message larger than the bound is admitted alone into an empty queue.
    @inline(__always)
    func hasRoom(for bytes: Int, limit: Int?) -> Bool {
        if ring.isFull { return false }
        guard let limit, bytes > 0 else { return true }
        return ring.isEmpty || queued.value + bytes <= limit
    }

    /// Queues one message (room checked) and returns its sequence number.
    @inline(__always)
    mutating func push(
        _ message: consuming Message, source: String, offset: UInt64, bytes: Int, now: UInt64
    ) -> UInt64 {
        let seq = nextSequence
        nextSequence += 1
        if bytes != 0 { queued.add(bytes) }
        ring.push(
            PendingMessage(
                message: message, source: source, offset: offset, sequence: seq, byteCount: bytes, admittedAt: now))
        if ring.count > counters.highWater { counters.highWater = ring.count }
        counters.bytesIn &+= UInt64(bytes)
        return seq
    }

    /// Moves every queued message to `batch`, newest first (popping `batch` yields the oldest
    /// first), and returns the producers to wake now that every slot is free.
    mutating func takeAll(into batch: inout [PendingMessage]) -> FreedRoom {
        ring.takeAllNewestFirst(into: &batch)
        queued.set(0)
        return FreedRoom(blockedProducers: producersWaiting > 0, tasks: takeRoomWaiters())
    }

    /// Takes the suspended producers, to resume once the lock is released.
    @inline(__always)
    mutating func takeRoomWaiters() -> [CheckedContinuation<Void, Never>] {
        if roomWaiters.isEmpty { return [] }
        defer { roomWaiters.removeAll() }
        return roomWaiters
    }
}

/// The producers to wake after the executor took the queue (outside the input lock).
struct FreedRoom {
    /// Threads wait on the not-full condition.
    var blockedProducers: Bool
    /// Tasks to resume.
    var tasks: [CheckedContinuation<Void, Never>]
}

/// Everything a store's output lock guards: the ordered outputs, the handled watermark, the flush
/// waiters, and the figures published with each output.
struct OutputState {
    /// Outputs not yet polled, in admission order.
    private(set) var items = Deque<IngestOutput>()
    /// Bytes the ready outputs keep alive.
    private(set) var bytes = 0
    /// Every message with a smaller sequence number has been handled (its output published, or
    /// discarded).
    private(set) var handledThrough: UInt64 = 0
    /// Threads waiting in ``EntityCore/flush(deadline:)``.
    var flushWaiters = 0
    private(set) var counters = StoreStatistics.Counters()
    /// Submit-to-output latencies.
    private(set) var latency = LatencyHistogram()
    /// The info of the latest `SetStoreInfo` that came out.
    private(set) var storeInfo: SetStoreInfo?

    /// Publishes the output of the next message in admission order.
    /// - Returns: whether flush waiters should be woken.
    @inline(__always)
    mutating func publish(_ out: IngestOutput, counts: ProcessedCounts) -> Bool {
        assert(out.sequence == handledThrough, "output \(out.sequence) out of order (next is \(handledThrough))")
        items.append(out)
        bytes += out.accountedBytes
        handledThrough = out.sequence + 1
        counters.record(counts)
        counters.bytesOut &+= UInt64(out.accountedBytes)
        latency.record(counts.latencyNanoseconds)
        if case .storeInfo(let info) = out.event { storeInfo = info }
        return flushWaiters > 0
    }

    /// Marks every message before `sequence` handled: those without an output were discarded.
    /// - Returns: whether flush waiters should be woken.
    mutating func discarded(through sequence: UInt64) -> Bool {
        assert(sequence >= handledThrough, "discarding messages already handled")
        counters.discarded += sequence - handledThrough
        handledThrough = sequence
        return flushWaiters > 0
    }

    /// Takes the oldest output, marking whether more are ready.
    @inline(__always)
    mutating func poll() -> IngestOutput? {
        guard var item = items.popFirst() else { return nil }
        bytes -= item.accountedBytes
        item.moreReady = !items.isEmpty
        return item
    }
}
