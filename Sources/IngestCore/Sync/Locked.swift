#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A condition variable of a ``Locked`` value: `LockCondition(0)`, `LockCondition(1)`, … up to the
/// number of conditions the lock was created with.
@usableFromInline
package struct LockCondition: Hashable, Sendable {
    @usableFromInline package let index: Int
    @inlinable
    package init(_ index: Int) { self.index = index }
}

/// A value guarded by a pthread mutex that owns it: the only way to reach the value is with the
/// mutex held, so which lock guards what is written in the types, not in comments.
///
/// ```swift
/// let queue = Locked(Deque<Int>(), conditions: 1)          // condition 0: not empty
/// queue.withLock { $0.append(7) }
/// queue.signal(LockCondition(0))
/// let next = queue.withLockWaiting { held in
///     while held.state.isEmpty { held.wait(LockCondition(0)) }
///     return held.state.removeFirst()
/// }
/// ```
///
/// Condition waits happen inside ``withLockWaiting(_:)``, whose handle reaches the value through
/// short accesses (``Held/state``), so no access to the value spans a wait, when other threads
/// change it. Waits with a deadline use `CLOCK_MONOTONIC` (``MonotonicClock``).
///
/// `State` may be noncopyable (a queue that owns its storage): it is moved in once and lent out.
///
/// pthread-based rather than `Synchronization.Mutex`: ThreadSanitizer understands pthread
/// primitives (it misreads `Mutex`'s futex path), and `Mutex` has no condition variables. The C
/// objects are heap-allocated because C keeps pointers to them.
// `@usableFromInline` (and `@inlinable` on the hot methods): without them the compiler (6.3) calls
// `withLock` across modules unspecialized, through a closure context (measured: about 90
// instructions more per message on the engine's admission path, scalars_50mb).
@usableFromInline
package final class Locked<State: ~Copyable>: @unchecked Sendable {
    // @unchecked: `state` is only reached with `mutex` held (``withLock(_:)``, ``Held``); the C
    // objects are only touched through pthread calls, which synchronize.
    //
    // The value lives in memory of its own, like the pthread objects, not in a stored property: a
    // class property would be reached through the runtime's dynamic exclusivity checks, which
    // ThreadSanitizer sees as unsynchronized accesses when one thread's check runs in the window
    // of another's condition wait; the mutex already makes every access exclusive.
    @usableFromInline let state: UnsafeMutablePointer<State>
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>
    @usableFromInline let conditions: UnsafeMutablePointer<pthread_cond_t>
    @usableFromInline let conditionCount: Int

    /// Guards `initial`, with `conditions` condition variables numbered from 0.
    package init(_ initial: consuming State, conditions count: Int = 0) {
        precondition(count >= 0, "negative condition count")
        state = .allocate(capacity: 1)
        state.initialize(to: initial)
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
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// Runs `body` with the mutex held and the value lent to it.
    @inlinable @inline(__always)
    package func withLock<R, E: Error>(_ body: (inout State) throws(E) -> R) throws(E) -> R {
        lockMutex()
        defer { unlockMutex() }
        return try body(&state.pointee)
    }

    /// Runs `body` with the mutex held and a handle that reaches the value and can wait on the
    /// lock's conditions (releasing the mutex while it waits).
    @inlinable @inline(__always)
    package func withLockWaiting<R, E: Error>(_ body: (borrowing Held) throws(E) -> R) throws(E) -> R {
        lockMutex()
        defer { unlockMutex() }
        return try body(Held(lock: self))
    }

    /// The lock's value while ``withLockWaiting(_:)`` holds the mutex. Each use of ``state`` is
    /// one short access, so none is open while ``wait(_:)`` lets other threads in.
    @usableFromInline
    package struct Held: ~Copyable {
        @usableFromInline unowned(unsafe) let lock: Locked

        @inlinable
        init(lock: Locked) { self.lock = lock }

        /// The guarded value.
        @inlinable
        package var state: State {
            _read { yield lock.state.pointee }
            nonmutating _modify { yield &lock.state.pointee }
        }

        /// Waits on `condition`: releases the mutex until signalled (or spuriously), then holds it
        /// again. Callers loop on their predicate.
        @inlinable
        package func wait(_ condition: LockCondition) {
            lock.wait(condition)
        }

        /// ``wait(_:)`` until `deadline` (a ``MonotonicClock`` reading, in nanoseconds).
        /// - Returns: `false` once the deadline has passed.
        @inlinable
        package func wait(_ condition: LockCondition, untilNanoseconds deadline: UInt64) -> Bool {
            lock.wait(condition, untilNanoseconds: deadline)
        }
    }

    /// Wakes one waiter of `condition` (with or without the mutex held; after releasing it is
    /// cheaper: the woken thread does not then block on the mutex).
    @inlinable
    package func signal(_ condition: LockCondition) {
        precondition(condition.index >= 0 && condition.index < conditionCount, "no condition \(condition.index)")
        pthread_cond_signal(conditions + condition.index)
    }

    /// Wakes every waiter of `condition`.
    @inlinable
    package func broadcast(_ condition: LockCondition) {
        precondition(condition.index >= 0 && condition.index < conditionCount, "no condition \(condition.index)")
        pthread_cond_broadcast(conditions + condition.index)
    }

    // MARK: the mutex

    @inlinable @inline(__always)
    func lockMutex() {
        let rc = pthread_mutex_lock(mutex)
        precondition(rc == 0, "pthread_mutex_lock failed: \(rc)")
    }

    @inlinable @inline(__always)
    func unlockMutex() {
        let rc = pthread_mutex_unlock(mutex)
        precondition(rc == 0, "pthread_mutex_unlock failed: \(rc)")
    }

    @usableFromInline
    func wait(_ condition: LockCondition) {
        precondition(condition.index >= 0 && condition.index < conditionCount, "no condition \(condition.index)")
        let rc = pthread_cond_wait(conditions + condition.index, mutex)
        precondition(rc == 0, "pthread_cond_wait failed: \(rc)")
    }

    @usableFromInline
    func wait(_ condition: LockCondition, untilNanoseconds deadline: UInt64) -> Bool {
        precondition(condition.index >= 0 && condition.index < conditionCount, "no condition \(condition.index)")
        var ts = timespec()
        ts.tv_sec = Int(deadline / 1_000_000_000)
        ts.tv_nsec = Int(deadline % 1_000_000_000)
        let rc = pthread_cond_timedwait(conditions + condition.index, mutex, &ts)
        if rc == ETIMEDOUT { return false }
        precondition(rc == 0, "pthread_cond_timedwait failed: \(rc)")
        return true
    }
}

extension Locked where State == Void {
    /// A plain mutex (with conditions) that guards no value of its own.
    package convenience init(conditions count: Int = 0) {
        self.init((), conditions: count)
    }
}

/// A value guarded by a pthread reader-writer lock that owns it: readers share it, a writer has it
/// alone. pthread-based so that ThreadSanitizer understands it; heap-allocated because C keeps a
/// pointer to it.
// `@usableFromInline` type and fields, `@inlinable` lock methods: the chunk store takes the write
// lock once per inserted chunk from another module; called (generic, unspecialised, through a
// closure context) instead of inlined, that cost about 100 instructions per tiny chunk on
// scalars_50mb (callgrind, worker thread: 438.4 M against 434.7 M inlined).
@usableFromInline
package final class ReadWriteLocked<State>: @unchecked Sendable {
    // @unchecked: `state` is only reached with `rwlock` held (shared for reads, exclusive for writes).
    /// In memory of its own, as in ``Locked``.
    @usableFromInline let state: UnsafeMutablePointer<State>
    @usableFromInline let rwlock: UnsafeMutablePointer<pthread_rwlock_t>

    /// Guards `initial`.
    package init(_ initial: State) {
        state = .allocate(capacity: 1)
        state.initialize(to: initial)
        rwlock = .allocate(capacity: 1)
        rwlock.initialize(to: pthread_rwlock_t())
        let rc = pthread_rwlock_init(rwlock, nil)
        precondition(rc == 0, "pthread_rwlock_init failed: \(rc)")
    }

    deinit {
        let rc = pthread_rwlock_destroy(rwlock)
        precondition(rc == 0, "pthread_rwlock_destroy failed: \(rc)")
        rwlock.deinitialize(count: 1)
        rwlock.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// Runs `body` holding the lock shared, with the value lent to it for reading.
    @inlinable @inline(__always)
    package func withReadLock<R, E: Error>(_ body: (borrowing State) throws(E) -> R) throws(E) -> R {
        let rc = pthread_rwlock_rdlock(rwlock)
        precondition(rc == 0, "pthread_rwlock_rdlock failed: \(rc)")
        defer { pthread_rwlock_unlock(rwlock) }
        return try body(state.pointee)
    }

    /// Runs `body` holding the lock exclusively, with the value lent to it.
    @inlinable @inline(__always)
    package func withWriteLock<R, E: Error>(_ body: (inout State) throws(E) -> R) throws(E) -> R {
        let rc = pthread_rwlock_wrlock(rwlock)
        precondition(rc == 0, "pthread_rwlock_wrlock failed: \(rc)")
        defer { pthread_rwlock_unlock(rwlock) }
        return try body(&state.pointee)
    }
}
