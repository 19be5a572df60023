import Synchronization

/// The bytes of messages waiting for one store in the engine's input queue: one count, which the
/// engine keeps (for its queue's byte bound) and the store reads (for its memory budget), so the
/// two never disagree.
///
/// Every ``ChunkStore`` has one (``ChunkStore/queuedByteCount``). The engine adds a message's bytes
/// when it admits the message and takes them off when its worker takes the message out of the queue
/// (``add(_:)``, or ``set(_:)`` to 0 when the worker takes the whole queue at once); the store reads
/// ``value`` at each insert and ``ChunkStore/collectGarbage()``, and counts it against
/// ``ChunkStoreConfiguration/memoryBudget``, so old temporal chunks make room for what is about to
/// arrive.
///
/// ```swift
/// let queued = store.queuedByteCount
/// queued.add(message.byteCount)     // admitted (the engine: under its queue's lock)
/// queued.add(-message.byteCount)    // taken by the worker
/// ```
///
/// Lock-free: one atomic integer, relaxed (a count, not a hand-off: nothing else is published
/// through it). A writer that also reads it for a decision (the engine's byte bound) must serialise
/// its writers itself, as the engine does under its queue's lock; the store only reads.
public final class QueuedByteCount: Sendable {
    private let bytes = Atomic<Int>(0)

    /// A count of zero.
    public init() {}

    /// Adds `delta` bytes (negative when they leave the queue).
    @inline(__always)
    public func add(_ delta: Int) {
        bytes.add(delta, ordering: .relaxed)
    }

    /// Sets the count, e.g. to 0 when the worker takes every waiting message at once.
    @inline(__always)
    public func set(_ value: Int) {
        bytes.store(value, ordering: .relaxed)
    }

    /// The bytes waiting now (never below zero, whatever order concurrent updates land in).
    @inline(__always)
    public var value: Int { max(0, bytes.load(ordering: .relaxed)) }
}
