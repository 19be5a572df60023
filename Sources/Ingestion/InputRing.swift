import RRD

/// One admitted message waiting for its worker.
struct PendingMessage {
    var message: Message
    var source: String
    var offset: UInt64
    var sequence: UInt64
    /// What the message counts against the byte bound.
    var byteCount: Int

    /// Bytes a message counts against the byte bound: an `ArrowMsg`'s payload, 0 otherwise.
    static func byteCount(of message: Message) -> Int {
        if case .arrowMsg(let m) = message { return m.payload.count }
        return 0
    }
}

/// A fixed-capacity FIFO ring buffer of pending messages. Not synchronized: the owner guards it.
/// Its storage is allocated once; pushing and taking never allocate.
struct InputRing: ~Copyable {
    private let storage: UnsafeMutablePointer<PendingMessage>
    let capacity: Int
    private var head = 0
    private(set) var count = 0

    init(capacity: Int) {
        precondition(capacity > 0, "ring capacity must be positive")
        self.capacity = capacity
        storage = .allocate(capacity: capacity)
    }

    deinit {
        var i = head
        for _ in 0..<count {
            (storage + i).deinitialize(count: 1)
            i += 1
            if i == capacity { i = 0 }
        }
        storage.deallocate()
    }

    var isEmpty: Bool { count == 0 }
    var isFull: Bool { count == capacity }

    /// Appends at the tail. Precondition: not full.
    mutating func push(_ item: consuming PendingMessage) {
        precondition(count < capacity, "ring overflow")
        var tail = head + count
        if tail >= capacity { tail -= capacity }
        (storage + tail).initialize(to: item)
        count += 1
    }

    /// Moves every item, oldest first, to the end of `batch`.
    mutating func takeAll(into batch: inout [PendingMessage]) {
        while count > 0 {
            batch.append((storage + head).move())
            head += 1
            if head == capacity { head = 0 }
            count -= 1
        }
        head = 0
    }

    /// Drops every item.
    mutating func removeAll() {
        while count > 0 {
            (storage + head).deinitialize(count: 1)
            head += 1
            if head == capacity { head = 0 }
            count -= 1
        }
        head = 0
    }
}
