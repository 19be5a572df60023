@preconcurrency import Glibc
import IngestCore

/// A pthread mutex with a fixed number of condition variables, all heap-allocated (C keeps
/// pointers to them, so they must never move) and waiting on the monotonic clock.
///
/// ThreadSanitizer understands pthread primitives, which is why the engine's queues use this
/// instead of `Synchronization.Mutex` (see `style.md` §5).
package final class ConditionLock: @unchecked Sendable {
    // @unchecked: the C objects are only touched through pthread calls, which synchronize.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let conditions: UnsafeMutablePointer<pthread_cond_t>
    private let conditionCount: Int

    /// Creates the lock with `conditions` condition variables, numbered from 0.
    package init(conditions count: Int = 0) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        var rc = pthread_mutex_init(mutex, nil)
        precondition(rc == 0, "pthread_mutex_init failed: \(rc)")
        conditionCount = count
        conditions = .allocate(capacity: Swift.max(count, 1))
        var attr = pthread_condattr_t()
        rc = pthread_condattr_init(&attr)
        precondition(rc == 0, "pthread_condattr_init failed: \(rc)")
        rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        precondition(rc == 0, "pthread_condattr_setclock failed: \(rc)")
        for i in 0..<count {
            (conditions + i).initialize(to: pthread_cond_t())
            rc = pthread_cond_init(conditions + i, &attr)
            precondition(rc == 0, "pthread_cond_init failed: \(rc)")
        }
        pthread_condattr_destroy(&attr)
    }

    deinit {
        for i in 0..<conditionCount { pthread_cond_destroy(conditions + i) }
        conditions.deinitialize(count: conditionCount)
        conditions.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    package func lock() {
        let rc = pthread_mutex_lock(mutex)
        precondition(rc == 0, "pthread_mutex_lock failed: \(rc)")
    }

    package func unlock() {
        let rc = pthread_mutex_unlock(mutex)
        precondition(rc == 0, "pthread_mutex_unlock failed: \(rc)")
    }

    /// Runs `body` with the mutex held.
    @inline(__always)
    package func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Waits on condition `index`; the mutex must be held. Callers loop on their predicate.
    package func wait(_ index: Int) {
        let rc = pthread_cond_wait(conditions + index, mutex)
        precondition(rc == 0, "pthread_cond_wait failed: \(rc)")
    }

    /// Waits on condition `index` until `deadline` (a ``MonotonicClock`` reading in nanoseconds).
    /// Returns `false` once the deadline has passed. The mutex must be held.
    package func wait(_ index: Int, untilNanoseconds deadline: UInt64) -> Bool {
        var ts = timespec()
        ts.tv_sec = Int(deadline / 1_000_000_000)
        ts.tv_nsec = Int(deadline % 1_000_000_000)
        let rc = pthread_cond_timedwait(conditions + index, mutex, &ts)
        if rc == ETIMEDOUT { return false }
        precondition(rc == 0, "pthread_cond_timedwait failed: \(rc)")
        return true
    }

    /// Wakes one waiter of condition `index`.
    package func signal(_ index: Int) {
        pthread_cond_signal(conditions + index)
    }

    /// Wakes every waiter of condition `index`.
    package func broadcast(_ index: Int) {
        pthread_cond_broadcast(conditions + index)
    }
}
