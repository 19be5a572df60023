import IngestCore
import Synchronization

/// Wakes tasks suspended until output is ready (or the outputs end), without a lock on the
/// publishing path while nobody waits: a publisher reads one atomic flag per item.
///
/// A waiter registers its continuation and raises ``waiting`` *before* its final look at the
/// queues, and a publisher looks at the flag *after* releasing the queue's lock, so one of the two
/// always sees the other (sequentially consistent flag, queue mutex in between).
final class OutputSignal: Sendable {
    /// The suspended tasks, each with the id its cancellation handler resumes it by.
    private struct Waiters {
        var list: [(id: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
        var nextId: UInt64 = 0
    }

    private let waiters = Locked(Waiters())
    /// Whether a task waits (read by publishers without the lock).
    let waiting = Atomic<Bool>(false)

    /// Called by publishers after making output visible.
    @inline(__always)
    func notifyIfWaiting() {
        if waiting.load(ordering: .sequentiallyConsistent) { notify() }
    }

    /// Resumes every waiter.
    func notify() {
        let resumed = waiters.withLock { w in
            waiting.store(false, ordering: .sequentiallyConsistent)
            defer { w.list.removeAll() }
            return w.list
        }
        for w in resumed { w.continuation.resume() }
    }

    /// Suspends until ``notify()`` (or cancellation), unless `ready()` holds once registered.
    /// Returns early (spuriously) at times: callers loop on their condition.
    func wait(until ready: @Sendable () -> Bool) async {
        let id: UInt64 = waiters.withLock { w in
            w.nextId += 1
            return w.nextId
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                waiters.withLock { w in
                    w.list.append((id, c))
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
        let c: CheckedContinuation<Void, Never>? = waiters.withLock { w in
            guard let i = w.list.firstIndex(where: { $0.id == id }) else { return nil }
            return w.list.remove(at: i).continuation
        }
        c?.resume()
    }
}
