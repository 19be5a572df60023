#if LIVE_SERVER
import DequeModule
import IngestCore

/// A snapshot of a ``FanOut``.
struct FanOutFigures: Sendable, Hashable {
    var readers: Int
    var published: UInt64
    var historyItems: Int
    var historyBytes: Int
    var droppedReaders: UInt64
    var evicted: UInt64
}

/// What a server received, for the calls that read it back (`ReadMessages`, `ReadTables`): a
/// bounded history, and the live items of each reader.
///
/// Publishing never waits: an item goes into the history and into every reader's queue. A reader
/// whose queue holds more than ``Limits/readerBytes`` (it reads slower than the writers write) is
/// dropped: its queue is freed and its call ends with `resourceExhausted`; ingestion never slows
/// down for a reader. The history keeps the newest items up to ``Limits/historyBytes``; items
/// published as *pinned* (store infos, blueprint activations: a late reader needs them to make
/// sense of the rest) are kept past that bound, up to ``Limits/pinnedItems`` of them.
final class FanOut<Item: Sendable>: Sendable {
    struct Limits: Sendable, Hashable {
        var historyBytes: Int
        var readerBytes: Int
        var pinnedItems = 4096
    }

    struct Entry: Sendable {
        var item: Item
        var bytes: Int
        /// Publication order (merges the two histories back into one).
        var sequence: UInt64
    }

    /// One reader's queue of live items.
    final class Reader: Sendable {
        fileprivate struct State {
            var queue = Deque<(item: Item, bytes: Int)>()
            var bytes = 0
            var dropped = false
            var ended = false
            var waiter: CheckedContinuation<Void, Never>?
        }

        fileprivate let state = Locked(State())
        let id: UInt64

        fileprivate init(id: UInt64) { self.id = id }

        /// What ``next()`` found.
        enum Next {
            case item(Item)
            /// The reader fell behind by more than its bound and was dropped.
            case dropped
            /// The fan-out ended (the server stops) or the task was cancelled.
            case ended
        }

        /// The next live item, suspending while none is queued.
        func next() async -> Next {
            while true {
                let found: Next? = state.withLock { s in
                    if s.dropped { return .dropped }
                    if let (item, bytes) = s.queue.popFirst() {
                        s.bytes -= bytes
                        return .item(item)
                    }
                    return s.ended ? .ended : nil
                }
                if let found { return found }
                if Task.isCancelled { return .ended }
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                        let now = state.withLock { s in
                            if s.dropped || s.ended || !s.queue.isEmpty || Task.isCancelled { return true }
                            s.waiter = c
                            return false
                        }
                        if now { c.resume() }
                    }
                } onCancel: {
                    wake()
                }
            }
        }

        fileprivate func wake() {
            let c = state.withLock { s in
                defer { s.waiter = nil }
                return s.waiter
            }
            c?.resume()
        }

        /// Queues `item`; `false` (and the reader is dropped) when that passes `limit`.
        fileprivate func offer(_ item: Item, bytes: Int, limit: Int) -> Bool {
            let (ok, c): (Bool, CheckedContinuation<Void, Never>?) = state.withLock { s in
                if s.dropped || s.ended { return (s.dropped == false, nil) }
                if s.bytes + bytes > limit && !s.queue.isEmpty {
                    s.dropped = true
                    s.queue.removeAll()
                    s.bytes = 0
                } else {
                    s.queue.append((item, bytes))
                    s.bytes += bytes
                }
                defer { s.waiter = nil }
                return (!s.dropped, s.waiter)
            }
            c?.resume()
            return ok
        }

        fileprivate func end() {
            state.withLock { $0.ended = true }
            wake()
        }
    }

    private struct State {
        /// The unpinned history, oldest first, and its bytes.
        var history = Deque<Entry>()
        var historyBytes = 0
        /// The pinned history, oldest first.
        var pinnedHistory = Deque<Entry>()
        var readers: [UInt64: Reader] = [:]
        var nextReader: UInt64 = 0
        var ended = false
        /// Items published and readers dropped, for statistics.
        var published: UInt64 = 0
        var droppedReaders: UInt64 = 0
        var evicted: UInt64 = 0
    }

    let limits: Limits
    private let state = Locked(State())

    init(limits: Limits) {
        self.limits = limits
    }

    /// Records `item` in the history and hands it to every reader (never waits).
    func publish(_ item: Item, bytes: Int, pinned: Bool) {
        let readers: [Reader] = state.withLock { s in
            guard !s.ended else { return [] }
            let entry = Entry(item: item, bytes: bytes, sequence: s.published)
            s.published += 1
            if pinned {
                s.pinnedHistory.append(entry)
                if s.pinnedHistory.count > limits.pinnedItems {
                    s.pinnedHistory.removeFirst()
                    s.evicted += 1
                }
            } else if bytes <= limits.historyBytes {
                s.history.append(entry)
                s.historyBytes += bytes
                while s.historyBytes > limits.historyBytes, let old = s.history.popFirst() {
                    s.historyBytes -= old.bytes
                    s.evicted += 1
                }
            } else {
                s.evicted += 1
            }
            return s.readers.isEmpty ? [] : Array(s.readers.values)
        }
        var dropped: [UInt64] = []
        for r in readers where !r.offer(item, bytes: bytes, limit: limits.readerBytes) { dropped.append(r.id) }
        if !dropped.isEmpty {
            state.withLock { s in
                for id in dropped where s.readers.removeValue(forKey: id) != nil { s.droppedReaders += 1 }
            }
        }
    }

    /// Registers a reader: the history as it is now, and a queue for everything published after it
    /// (atomically: nothing is missed or seen twice). `nil` once the fan-out ended.
    func subscribe() -> (history: [Entry], reader: Reader)? {
        state.withLock { s in
            guard !s.ended else { return nil }
            s.nextReader += 1
            let reader = Reader(id: s.nextReader)
            s.readers[reader.id] = reader
            // Both histories are in publication order: merge them back into one.
            var merged: [Entry] = []
            merged.reserveCapacity(s.history.count + s.pinnedHistory.count)
            var i = s.history.startIndex
            var j = s.pinnedHistory.startIndex
            while i < s.history.endIndex || j < s.pinnedHistory.endIndex {
                if j == s.pinnedHistory.endIndex
                    || (i < s.history.endIndex && s.history[i].sequence < s.pinnedHistory[j].sequence)
                {
                    merged.append(s.history[i])
                    i += 1
                } else {
                    merged.append(s.pinnedHistory[j])
                    j += 1
                }
            }
            return (merged, reader)
        }
    }

    /// Forgets `reader` (its call ended).
    func unsubscribe(_ reader: Reader) {
        _ = state.withLock { $0.readers.removeValue(forKey: reader.id) }
        reader.end()
    }

    /// Ends every reader's stream once its queue is read; refuses later readers.
    func end() {
        let readers = state.withLock { s in
            s.ended = true
            defer { s.readers.removeAll() }
            return Array(s.readers.values)
        }
        for r in readers { r.end() }
    }

    /// Readers now, items published, history held (items, bytes), readers dropped, items evicted.
    var figures: FanOutFigures {
        state.withLock { s in
            FanOutFigures(
                readers: s.readers.count, published: s.published, historyItems: s.history.count + s.pinnedHistory.count,
                historyBytes: s.historyBytes + s.pinnedHistory.reduce(0) { $0 + $1.bytes },
                droppedReaders: s.droppedReaders, evicted: s.evicted)
        }
    }
}
#endif
