import IngestCore
import Ingestion

/// A gate a store's worker must pass before decoding each `ArrowMsg`: tests close it to pause a
/// worker deterministically (to fill a queue, or to show one store does not delay another) and
/// open it to let the worker go on. Install it with ``Ingestion/IngestConfiguration/gated(by:)``.
///
/// ```swift
/// let gate = WorkerGate()                                  // closed
/// let db = EntityDb(storeId: id, configuration: .init().gated(by: gate))
/// try db.submit(arrow, source: "t")
/// #expect(gate.waitForArrivals(1, timeout: .seconds(5)))   // the worker is parked at the gate
/// gate.open()
/// ```
///
/// Thread-safe (a pthread mutex and condition variable, TSan-clean).
public final class WorkerGate: Sendable {
    private let lock = ConditionLock(conditions: 1)
    private let state = State()
    private final class State: @unchecked Sendable {
        // @unchecked: guarded by `WorkerGate.lock`.
        var isOpen: Bool
        var arrivals = 0
        var passed = 0
        init(isOpen: Bool) { self.isOpen = isOpen }
        init() { isOpen = false }
    }

    /// Creates a gate, closed unless `open`.
    public init(open: Bool = false) {
        state.isOpen = open
    }

    /// Lets every waiting and later worker pass.
    public func open() {
        lock.withLock { state.isOpen = true }
        lock.broadcast(0)
    }

    /// Makes later workers wait again.
    public func close() {
        lock.withLock { state.isOpen = false }
    }

    /// How many decodes have reached the gate (waiting or passed).
    public var arrivals: Int { lock.withLock { state.arrivals } }

    /// How many decodes have passed the gate.
    public var passed: Int { lock.withLock { state.passed } }

    /// Waits until at least `count` decodes reached the gate; `false` if `timeout` passed first.
    public func waitForArrivals(_ count: Int, timeout: Duration) -> Bool {
        let deadline = MonotonicClock.deadline(after: timeout)
        lock.lock()
        defer { lock.unlock() }
        while state.arrivals < count {
            if !lock.wait(0, untilNanoseconds: deadline) { return state.arrivals >= count }
        }
        return true
    }

    /// Called by the worker: blocks while the gate is closed.
    func pass() {
        lock.lock()
        state.arrivals += 1
        lock.unlock()
        lock.broadcast(0)
        lock.lock()
        while !state.isOpen { lock.wait(0) }
        state.passed += 1
        lock.unlock()
    }
}
