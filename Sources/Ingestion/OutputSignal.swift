import Synchronization

/// Wakes tasks suspended until output is ready (or the outputs end), without a lock on the
/// publishing path while nobody waits: a publisher reads one atomic flag per item.
///
/// A waiter registers its continuation and raises ``waiting`` *before* its final look at the
/// queues, and a publisher looks at the flag *after* releasing the queue's lock, so one of the two
/// always sees the other (sequentially consistent flag, queue mutex in between).
final class OutputSignal: @unchecked Sendable {
    // @unchecked: `waiters` is guarded by `lock`; `waiting` is atomic.
    private let lock = ConditionLock()
    private var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
    private var nextId: UInt64 = 0
    /// Whether a task waits (read by publishers without the lock).
    let waiting = Atomic<Bool>(false)

    /// Called by publishers after making output visible.
    @inline(__always)
    func notifyIfWaiting() {
        if waiting.load(ordering: .sequentiallyConsistent) { notify() }
    }

    /// Resumes every waiter.
    func notify() {
        let resumed: [(id: UInt64, continuation: CheckedContinuation<Void, Never>)] = lock.withLock {
            waiting.store(false, ordering: .sequentiallyConsistent)
            let w = waiters
            waiters.removeAll()
            return w
        }
        for w in resumed { w.continuation.resume() }
    }

    /// Suspends until ``notify()`` (or cancellation), unless `ready()` holds once registered.
    /// Returns early (spuriously) at times: callers loop on their condition.
    func wait(until ready: @Sendable () -> Bool) async {
        let id: UInt64 = lock.withLock {
            nextId += 1
            return nextId
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                lock.withLock {
                    waiters.append((id, c))
                    waiting.store(true, ordering: .sequentiallyConsistent)
                }
                if ready() || Task.isCancelled { resume(id) }
            }
        } onCancel: {
            resume(id)
        }
    }

    /// Resumes the waiter `id`, if it still waits.
    private func resume(_ id: UInt64) {
        let c: CheckedContinuation<Void, Never>? = lock.withLock {
            guard let i = waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return waiters.remove(at: i).continuation
        }
        c?.resume()
    }
}
