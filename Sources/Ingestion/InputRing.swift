import IngestCore
import RRD

/// One admitted message waiting for its worker.
struct PendingMessage {
    var message: Message
    var source: String
    var offset: UInt64
    var sequence: UInt64
    /// What the message counts against the byte bound.
    var byteCount: Int
    /// When it was admitted (``MonotonicClock`` nanoseconds): the start of its submit-to-output latency.
    var admittedAt: UInt64 = 0

    /// Bytes a message counts against the byte bound: an `ArrowMsg`'s payload, 0 otherwise.
    @inline(__always)
    static func byteCount(of message: borrowing Message) -> Int {
        switch message {
        case .arrowMsg(let m): return m.payload.count
        default: return 0
        }
    }
}

/// A bounded FIFO ring buffer of pending messages. Not synchronized: the owner guards it.
///
/// Its storage starts small and doubles on demand up to `capacity` (a store that never sees a
/// burst never pays for 2000 slots); once grown it is kept, so steady-state pushing and taking
/// never allocate.
struct InputRing: ~Copyable {
    private var storage: UnsafeMutablePointer<PendingMessage>
    /// Slots allocated now (`count <= allocated <= capacity`).
    private var allocated: Int
    /// The bound: at most this many items.
    let capacity: Int
    private var head = 0
    private(set) var count = 0

    /// Slots allocated up front.
    static let initialAllocation = 16

    init(capacity: Int) {
        precondition(capacity > 0, "ring capacity must be positive")
        self.capacity = capacity
        allocated = Swift.min(capacity, Self.initialAllocation)
        storage = .allocate(capacity: allocated)
    }

    deinit {
        var i = head
        for _ in 0..<count {
            (storage + i).deinitialize(count: 1)
            i += 1
            if i == allocated { i = 0 }
        }
        storage.deallocate()
    }

    var isEmpty: Bool { count == 0 }
    var isFull: Bool { count == capacity }

    /// Appends at the tail. Precondition: not full.
    mutating func push(_ item: consuming PendingMessage) {
        precondition(count < capacity, "ring overflow")
        if count == allocated { grow() }
        var tail = head + count
        if tail >= allocated { tail -= allocated }
        (storage + tail).initialize(to: item)
        count += 1
    }

    /// Doubles the storage (capped at `capacity`), moving the items to its start in order.
    private mutating func grow() {
        let newAllocated = Swift.min(capacity, allocated * 2)
        let newStorage = UnsafeMutablePointer<PendingMessage>.allocate(capacity: newAllocated)
        let firstPart = Swift.min(count, allocated - head)
        newStorage.moveInitialize(from: storage + head, count: firstPart)
        (newStorage + firstPart).moveInitialize(from: storage, count: count - firstPart)
        storage.deallocate()
        storage = newStorage
        allocated = newAllocated
        head = 0
    }

    /// Moves every item, oldest first, to the end of `batch`.
    mutating func takeAll(into batch: inout [PendingMessage]) {
        while count > 0 {
            batch.append((storage + head).move())
            head += 1
            if head == allocated { head = 0 }
            count -= 1
        }
        head = 0
    }

    /// Moves every item, newest first, to the end of `batch` (so that popping `batch` yields the
    /// oldest first, without reversing it afterwards).
    mutating func takeAllNewestFirst(into batch: inout [PendingMessage]) {
        batch.reserveCapacity(batch.count + count)
        while count > 0 {
            count -= 1
            var i = head + count
            if i >= allocated { i -= allocated }
            batch.append((storage + i).move())
        }
        head = 0
    }
}

/// A FIFO of framed messages for a reader's hand-off: appended by moving, taken from the front by
/// moving, so a message travels from the decoder into a store's ring without being copied (no
/// retain or release on the way). Its storage grows on demand and is kept.
struct MessageBatch: ~Copyable {
    private var storage: UnsafeMutablePointer<FramedMessage>
    private var allocated: Int
    /// Items `head..<end` are initialized.
    private var head = 0
    private var end = 0

    init(capacity: Int = 64) {
        allocated = Swift.max(capacity, 1)
        storage = .allocate(capacity: allocated)
    }

    deinit {
        (storage + head).deinitialize(count: end - head)
        storage.deallocate()
    }

    var count: Int { end - head }
    var isEmpty: Bool { head == end }

    /// Appends at the back.
    mutating func append(_ message: consuming FramedMessage) {
        if end == allocated {
            if head > 0 {
                (storage).moveInitialize(from: storage + head, count: end - head)
                end -= head
                head = 0
            } else {
                let newStorage = UnsafeMutablePointer<FramedMessage>.allocate(capacity: allocated * 2)
                newStorage.moveInitialize(from: storage, count: end)
                storage.deallocate()
                storage = newStorage
                allocated *= 2
            }
        }
        (storage + end).initialize(to: message)
        end += 1
    }

    /// The `k`-th item from the front, lent for the duration of `body`. Precondition: `k < count`.
    @inline(__always)
    func withItem<R>(_ k: Int, _ body: (borrowing FramedMessage) throws(IngestError) -> R) throws(IngestError) -> R {
        precondition(k >= 0 && k < end - head, "batch index out of range")
        return try body((storage + head + k).pointee)
    }

    /// Removes and returns the front item. Precondition: not empty.
    mutating func popFirst() -> FramedMessage {
        precondition(head < end, "pop from an empty batch")
        let m = (storage + head).move()
        head += 1
        if head == end {
            head = 0
            end = 0
        }
        return m
    }

    /// Drops every item (keeping the storage).
    mutating func removeAll() {
        (storage + head).deinitialize(count: end - head)
        head = 0
        end = 0
    }
}
