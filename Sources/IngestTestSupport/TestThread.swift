import IngestCore
import Ingestion

/// A joinable OS thread for tests (producers that may block, which must never run on the Swift
/// concurrency pool). Works in the synchronous build too: only the engine is thread-free there.
///
/// ```swift
/// let producer = TestThread { try? db.submit(m, source: "p") }
/// #expect(producer.waitUntilFinished(timeout: .seconds(5)))
/// producer.join()
/// ```
public final class TestThread: Sendable {
    private let thread: WorkerThread
    /// Whether `body` has returned; condition 0: it has.
    private let finished = Locked(false, conditions: 1)
    private static let done = LockCondition(0)

    /// Starts a thread named `name` running `body`.
    public init(name: String = "ingest-test", _ body: @escaping @Sendable () -> Void) {
        let finished = self.finished
        thread = WorkerThread(name: name) {
            body()
            finished.withLock { $0 = true }
            finished.broadcast(Self.done)
        }
    }

    /// Whether `body` has returned.
    public var isFinished: Bool { finished.withLock { $0 } }

    /// Waits until `body` returned; `false` if `timeout` passed first.
    public func waitUntilFinished(timeout: Duration) -> Bool {
        let deadline = MonotonicClock.deadline(after: timeout)
        return finished.withLockWaiting { held in
            while !held.state {
                if !held.wait(Self.done, untilNanoseconds: deadline) { return held.state }
            }
            return true
        }
    }

    /// Joins the thread (call once).
    public func join() {
        thread.join()
    }
}

/// Waits for `condition` to hold, checking it every millisecond until `timeout`.
/// - Returns: whether it held before the deadline.
public func waitUntil(timeout: Duration, _ condition: () -> Bool) -> Bool {
    let deadline = MonotonicClock.deadline(after: timeout)
    while !condition() {
        if MonotonicClock.now() >= deadline { return condition() }
        MonotonicClock.pause(nanoseconds: 1_000_000)
    }
    return true
}

/// Waits for `condition` to hold without blocking a thread of the Swift concurrency pool: the task
/// sleeps a millisecond between looks, until `timeout`. Use it in `async` tests, where a blocking
/// wait could hold the very threads the awaited tasks need.
/// - Returns: whether it held before the deadline.
public func eventually(timeout: Duration, _ condition: () -> Bool) async -> Bool {
    let deadline = MonotonicClock.deadline(after: timeout)
    while !condition() {
        if MonotonicClock.now() >= deadline { return condition() }
        try? await Task.sleep(for: .milliseconds(1))
    }
    return true
}
