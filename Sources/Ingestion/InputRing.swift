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
    static func byteCount(of message: Message) -> Int {
        if case .arrowMsg(let m) = message { return m.payload.count }
        return 0
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
