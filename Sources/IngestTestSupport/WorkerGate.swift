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
    private struct State {
        var isOpen: Bool
        var arrivals = 0
        var passed = 0
    }

    /// Condition 0: the gate changed (a decode arrived, or it opened).
    private let state: Locked<State>
    private static let changed = LockCondition(0)

    /// Creates a gate, closed unless `open`.
    public init(open: Bool = false) {
        state = Locked(State(isOpen: open), conditions: 1)
    }

    /// Lets every waiting and later worker pass.
    public func open() {
        state.withLock { $0.isOpen = true }
        state.broadcast(Self.changed)
    }

    /// Makes later workers wait again.
    public func close() {
        state.withLock { $0.isOpen = false }
    }

    /// How many decodes have reached the gate (waiting or passed).
    public var arrivals: Int { state.withLock { $0.arrivals } }

    /// How many decodes have passed the gate.
    public var passed: Int { state.withLock { $0.passed } }

    /// Waits until at least `count` decodes reached the gate; `false` if `timeout` passed first.
    public func waitForArrivals(_ count: Int, timeout: Duration) -> Bool {
        let deadline = MonotonicClock.deadline(after: timeout)
        return state.withLockWaiting { held in
            while held.state.arrivals < count {
                if !held.wait(Self.changed, untilNanoseconds: deadline) { return held.state.arrivals >= count }
            }
            return true
        }
    }

    /// Called by the worker: blocks while the gate is closed.
    func pass() {
        state.withLock { $0.arrivals += 1 }
        state.broadcast(Self.changed)
        state.withLockWaiting { held in
            while !held.state.isOpen { held.wait(Self.changed) }
            held.state.passed += 1
        }
    }
}
