import Foundation
import IngestCore
import IngestTestSupport
@testable import Ingestion
import RRD
import Store
import Testing

/// A thread whose body waits until the test hands it its own ``WorkerThread`` (to drive a
/// ``WorkerState`` from the thread it names), then runs `body` with it.
private final class SelfAwareThread: Sendable {
    private let handle = Locked<WorkerThread?>(nil, conditions: 1)
    private let done = Locked(false, conditions: 1)
    private let started: WorkerThread

    init(_ body: @escaping @Sendable (WorkerThread) -> Void) {
        let handle = self.handle
        let done = self.done
        started = WorkerThread(name: "ingest-state") {
            let me = handle.withLockWaiting { held in
                while held.state == nil { held.wait(LockCondition(0)) }
                return held.state!
            }
            body(me)
            done.withLock { $0 = true }
            done.broadcast(LockCondition(0))
        }
        handle.withLock { $0 = started }
        handle.broadcast(LockCondition(0))
    }

    /// Waits until the body returned (the thread may have detached itself: it is not joined).
    func waitUntilDone() -> Bool {
        let end = MonotonicClock.deadline(after: deadline)
        return done.withLockWaiting { held in
            while !held.state {
                if !held.wait(LockCondition(0), untilNanoseconds: end) { return held.state }
            }
            return true
        }
    }

    var thread: WorkerThread { started }
}

/// A thread with an empty body, for driving ``WorkerState`` (joined by the transitions or the test).
private func idleThread() -> WorkerThread { WorkerThread(name: "ingest-state") {} }

@Suite("Engine state machine: lifecycle, worker and pass states, queue bounds (both builds)")
struct EngineStateTests {
    // MARK: the store's lifecycle

    @Test("lifecycle: open → closing → closed; discarding escalates, never back; closed stays closed")
    func lifecycle() {
        var l = StoreLifecycle.open
        #expect(l.isOpen)
        let r1 = l.shutDown(.drain)
        #expect(!r1)
        #expect(l == .closing(.drain))
        #expect(!l.isOpen)
        let r2 = l.shutDown(.discard)
        #expect(r2, "a later discarding call escalates")
        #expect(l == .closing(.discard))
        let r3 = l.shutDown(.drain)
        #expect(r3, "a draining call never turns discarding back")
        #expect(l == .closing(.discard))
        l.finish()
        #expect(l == .closed)
        let r4 = l.shutDown(.discard)
        #expect(!r4, "a closed store has nothing left to discard")
        #expect(l == .closed)
        l.finish()
        #expect(l == .closed, "finishing again changes nothing")

        var d = StoreLifecycle.open
        let r5 = d.shutDown(.discard)
        #expect(r5)
        #expect(d == .closing(.discard))
    }

    @Test("lifecycle: an open store cannot end its outputs (traps in debug builds)")
    func lifecycleFinishWhileOpenTraps() async {
        await #expect(processExitsWith: .failure) {
            var l = StoreLifecycle.open
            l.finish()
        }
    }

    // MARK: the worker thread's state

    @Test("worker: start, park, one wake per park, release, idle exit, restart joins the old thread")
    func workerTransitions() {
        var w = WorkerState.none
        #expect(w.needsStart && !w.isAlive)
        w.start { idleThread() }
        guard case .running(let first) = w else {
            Issue.record("not running after start: \(w)")
            return
        }
        #expect(!w.needsStart && w.isAlive)
        let r6 = w.wake()
        #expect(!r6, "a running worker needs no signal")
        w.park()
        guard case .parked = w else {
            Issue.record("not parked: \(w)")
            return
        }
        let r7 = w.wake()
        #expect(r7, "an admission wakes a parked worker")
        let r8 = w.wake()
        #expect(!r8, "once: it is running from the signal on")
        w.woke()
        guard case .running = w else {
            Issue.record("woke() changed a running worker: \(w)")
            return
        }
        w.park()
        let r9 = w.release()
        #expect(r9, "releasing a parked worker must wake it")
        w.woke()
        #expect(w.isReleasing, "waking keeps the release")
        let r10 = w.wake()
        #expect(!r10, "a releasing worker is awake")
        w.exitIdle()
        guard case .exited(let t) = w, t === first else {
            Issue.record("not exited: \(w)")
            return
        }
        #expect(w.needsStart && !w.isAlive)
        let r11 = w.release()
        #expect(!r11, "no thread to release")
        w.start { idleThread() }  // joins `first`
        guard case .running(let second) = w, second !== first else {
            Issue.record("no new thread: \(w)")
            return
        }
        let r12 = w.release()
        #expect(!r12, "releasing a running worker needs no wake")
        #expect(w.isReleasing)
        w.exitIdle()

        // A shutdown joins an exited thread; a second shutdown waits for that join.
        guard case .join(let joinee) = w.shutDown(), joinee === second else {
            Issue.record("shutdown did not take the exited thread")
            return
        }
        guard case .joining = w, case .awaitJoin = w.shutDown() else {
            Issue.record("a second shutdown must wait for the join: \(w)")
            return
        }
        joinee.join()
        w.joined()
        guard case .none = w, case .nothing = w.shutDown() else {
            Issue.record("nothing to stop after the join: \(w)")
            return
        }
    }

    @Test("worker: a shutdown takes a running, parked or releasing thread to join it")
    func workerShutdownJoins() {
        let prepares: [(inout WorkerState) -> Void] = [{ _ in }, { $0.park() }, { _ = $0.release() }]
        for prepare in prepares {
            var w = WorkerState.none
            w.start { idleThread() }
            prepare(&w)
            #expect(w.isAlive)
            guard case .join(let t) = w.shutDown() else {
                Issue.record("no join from \(w)")
                continue
            }
            guard case .joining = w else {
                Issue.record("not joining: \(w)")
                continue
            }
            #expect(w.isAlive, "the joined thread may still be draining")
            w.woke()
            guard case .joining = w else {
                Issue.record("the worker's own wake-up overwrote the shutdown: \(w)")
                continue
            }
            t.join()
            w.joined()
        }
    }

    @Test("worker: a shutdown from the worker thread itself detaches it instead of joining")
    func workerShutdownFromItself() {
        let result = Locked<String>("")
        let thread = SelfAwareThread { me in
            var w = WorkerState.running(me)
            #expect(w.isCurrentThread)
            let stop = w.shutDown()
            guard case .nothing = stop, case .detached(let t) = w, t === me else {
                result.withLock { $0 = "stop \(stop), state \(w)" }
                return
            }
            result.withLock { $0 = "detached" }
        }
        #expect(thread.waitUntilDone())
        #expect(result.withLock { $0 } == "detached")
        // Detached: the thread ends by itself and must not be joined.
        var w = WorkerState.detached(thread.thread)
        #expect(!w.isCurrentThread, "another thread is not the worker")
        guard case .nothing = w.shutDown() else {
            Issue.record("a later shutdown must leave a detached thread alone")
            return
        }
    }

    @Test("worker: invalid transitions trap in debug builds")
    func workerInvalidTransitionsTrap() async {
        await #expect(processExitsWith: .failure) {
            var w = WorkerState.none
            w.park()  // only a running worker parks
        }
        await #expect(processExitsWith: .failure) {
            var w = WorkerState.none
            w.exitIdle()  // only a running worker exits
        }
        await #expect(processExitsWith: .failure) {
            var w = WorkerState.none
            w.joined()  // no shutdown was joining
        }
        await #expect(processExitsWith: .failure) {
            var w = WorkerState.none
            w.start { WorkerThread(name: "ingest-state") {} }
            w.start { WorkerThread(name: "ingest-state") {} }  // one runs already
        }
    }

    // MARK: the inline pass

    @Test("inline pass: begin and end on the producer thread; another thread does not own it")
    func inlinePass() {
        var p = InlinePass.idle
        #expect(!p.isOnCurrentThread)
        p.begin()
        #expect(p.isOnCurrentThread)
        p.begin()  // the same pass takes the next batch
        let seen = Locked(true)
        let other = TestThread { [p] in seen.withLock { $0 = p.isOnCurrentThread } }
        #expect(other.waitUntilFinished(timeout: deadline))
        other.join()
        #expect(!seen.withLock { $0 }, "a pass belongs to its thread only")
        p.end()
        #expect(!p.isOnCurrentThread)
    }

    @Test("inline pass: ending a pass this thread does not run traps in debug builds")
    func inlinePassInvalidEndTraps() async {
        await #expect(processExitsWith: .failure) {
            var p = InlinePass.idle
            p.end()
        }
    }

    // MARK: the queue and the outputs

    @Test("input state: exact slot and byte bounds; an oversized message alone into an empty queue")
    func inputBounds() {
        let id = M.storeId(1)
        var s = InputState<InlinePass>(capacity: 3, worker: .idle, queued: QueuedByteCount())
        var room = s.hasRoom(for: 500, limit: 100)
        #expect(room, "larger than the bound, into an empty queue")
        let first = s.push(M.arrow(id, offset: 0, payloadBytes: 500).message, source: "t", offset: 0, bytes: 500, now: 1)
        #expect(first == 0)
        room = s.hasRoom(for: 1, limit: 100)
        #expect(!room, "nothing joins it")
        room = s.hasRoom(for: 0, limit: 100)
        #expect(room, "control messages count no bytes")
        var batch: [PendingMessage] = []
        var freed = s.takeAll(into: &batch)
        #expect(!freed.blockedProducers && freed.tasks.isEmpty)
        let emptied = s.queuedBytes == 0 && s.ring.isEmpty
        #expect(emptied)
        room = s.hasRoom(for: 60, limit: 100)
        #expect(room)
        _ = s.push(M.arrow(id, offset: 1, payloadBytes: 60).message, source: "t", offset: 1, bytes: 60, now: 2)
        room = s.hasRoom(for: 40, limit: 100)
        #expect(room, "exactly up to the bound")
        room = s.hasRoom(for: 41, limit: 100)
        #expect(!room)
        _ = s.push(M.arrow(id, offset: 2, payloadBytes: 40).message, source: "t", offset: 2, bytes: 40, now: 3)
        room = s.hasRoom(for: 0, limit: 100)
        #expect(room)
        _ = s.push(M.storeInfo(id, offset: 3).message, source: "t", offset: 3, bytes: 0, now: 4)
        room = s.hasRoom(for: 0, limit: nil)
        #expect(!room, "every slot taken")
        let (next, highWater, bytesIn) = (s.nextSequence, s.counters.highWater, s.counters.bytesIn)
        #expect(next == 4 && highWater == 3 && bytesIn == 600)
        s.producersWaiting = 1
        batch.removeAll()
        freed = s.takeAll(into: &batch)
        #expect(freed.blockedProducers)
        #expect(batch.reversed().map(\.sequence) == [1, 2, 3], "newest first: popping yields admission order")
    }

    @Test("output state: published in admission order, discards counted, polling marks more-ready")
    func outputState() {
        var o = OutputState()
        func out(_ seq: UInt64) -> IngestOutput {
            IngestOutput(
                event: .activation(
                    BlueprintActivationCommand(blueprintId: M.storeId(1), makeActive: true, makeDefault: false)),
                sequence: seq, source: "t", offset: seq, storeWasEmpty: false, moreReady: false)
        }
        let r13 = o.publish(out(0), counts: ProcessedCounts())
        #expect(!r13)
        o.flushWaiters = 1
        let r14 = o.publish(out(1), counts: ProcessedCounts())
        #expect(r14, "flush waiters are woken")
        let r15 = o.discarded(through: 4)
        #expect(r15)
        #expect(o.handledThrough == 4 && o.counters.discarded == 2 && o.counters.messagesOut == 2)
        let r16 = o.poll()
        #expect(r16?.moreReady == true)
        let r17 = o.poll()
        #expect(r17?.moreReady == false)
        let r18 = o.poll()
        #expect(r18 == nil)
    }

    @Test("output state: an output out of admission order traps in debug builds")
    func outputOutOfOrderTraps() async {
        await #expect(processExitsWith: .failure) {
            var o = OutputState()
            let item = IngestOutput(
                event: .activation(
                    BlueprintActivationCommand(blueprintId: M.storeId(1), makeActive: true, makeDefault: false)),
                sequence: 1, source: "t", offset: 1, storeWasEmpty: false, moreReady: false)
            _ = o.publish(item, counts: ProcessedCounts())
        }
    }
}

// MARK: both executors, in both builds

/// A store core reachable from its own insert hook.
private final class CoreRef<Executor: StoreExecutor>: Sendable {
    private let ref = Locked<EntityCore<Executor>?>(nil)
    var core: EntityCore<Executor>? {
        get { ref.withLock { $0 } }
        set { ref.withLock { $0 = newValue } }
    }
}

private func submit<E: StoreExecutor>(
    _ core: EntityCore<E>, _ m: FramedMessage, wait: AdmissionWait = .block
) throws(IngestError) -> UInt64 {
    var run = OneMessage(m.message, offset: m.offset)
    return try core.admit(&run, source: "t", wait: wait).lowerBound
}

private func collect<E: StoreExecutor>(_ core: EntityCore<E>) -> [IngestOutput] {
    var out: [IngestOutput] = []
    while let item = core.poll() { out.append(item) }
    return out
}

@Suite("Executors: both, whichever build (threaded worker and inline processing)")
struct ExecutorTests {
    let store = M.storeId(5)

    @Test("a store shut down from its own insert hook settles every message, threaded and inline")
    func shutdownFromHook() throws {
        try shutdownFromHook(ThreadedExecutor.self)
        try shutdownFromHook(InlineExecutor.self)
    }

    private func shutdownFromHook<E: StoreExecutor>(_: E.Type) throws {
        let ref = CoreRef<E>()
        let hits = Locked(0)
        let config = IngestConfiguration(insertChunk: { _, _ in
            if hits.withLock({ $0 += 1; return $0 }) == 3 { ref.core?.shutdown(drain: false) }
        })
        let core = EntityCore<E>(storeId: store, configuration: config)
        ref.core = core
        var refused = 0
        for i in 0..<20 {
            let m = SyntheticChunks.chunk(store, offset: UInt64(i), chunk: UInt64(i + 1))
            if ingestError({ _ = try submit(core, m) })?.code == .closed { refused += 1 }
        }
        #expect(waitUntil(timeout: deadline) { core.outputsEnded }, "\(E.self): the outputs end")
        #expect(core.flush(deadline: MonotonicClock.deadline(after: deadline)))
        let st = core.statistics()
        #expect(st.isClosed)
        #expect(st.handled == st.admitted, "\(E.self): every admitted message processed or discarded")
        #expect(st.admitted + UInt64(refused) == 20)
        #expect(st.distinctChunks >= 3, "\(E.self): the chunk whose hook shut the store down came out")
        #expect(collect(core).map(\.offset) == Array(0..<UInt64(st.distinctChunks)))
        core.shutdown(drain: true)  // idempotent, and nothing to join
    }

    @Test("release-when-idle then submit: a new worker goes on in order (inline: a no-op)")
    func releaseThenSubmit() throws {
        try releaseThenSubmit(ThreadedExecutor.self)
        try releaseThenSubmit(InlineExecutor.self)
    }

    private func releaseThenSubmit<E: StoreExecutor>(_: E.Type) throws {
        let core = EntityCore<E>(storeId: store, configuration: IngestConfiguration())
        for i in 0..<5 { _ = try submit(core, M.arrow(store, offset: UInt64(i))) }
        #expect(core.flush(deadline: MonotonicClock.deadline(after: deadline)))
        #expect(core.statistics().hasWorker == !E.isInline)
        core.releaseWorkerWhenIdle()
        #expect(waitUntil(timeout: deadline) { !core.statistics().hasWorker }, "\(E.self): the worker left")
        if !E.isInline {
            let exited = core.input.withLock { state -> Bool in
                if case .exited = state.worker as? WorkerState { return true }
                return false
            }
            #expect(exited, "an idle exit waits to be joined by the next start")
        }
        for i in 5..<9 { _ = try submit(core, M.arrow(store, offset: UInt64(i))) }
        #expect(core.flush(deadline: MonotonicClock.deadline(after: deadline)))
        #expect(collect(core).map(\.offset) == Array(0..<9), "\(E.self): in order across the restart")
        core.shutdown(drain: true)
        #expect(!core.statistics().hasWorker)
        #expect(core.outputsEnded)
    }

    @Test("shutdown wakes a producer blocked on a full queue with closed; what it queued before stays")
    func shutdownWhileProducerBlocked() {
        let gate = WorkerGate()
        let core = EntityCore<ThreadedExecutor>(
            storeId: store, configuration: IngestConfiguration(queueCapacity: 2).gated(by: gate))
        _ = try? submit(core, M.arrow(store, offset: 0))
        #expect(gate.waitForArrivals(1, timeout: deadline), "the worker holds message 0 at the gate")
        let result = Locked<IngestError.Code?>(nil)
        let producer = TestThread {
            // Three messages into a queue of two: the run blocks on the third.
            var run = SequenceRun((1...3).map { M.arrow(self.store, offset: UInt64($0)) }.makeIterator(), mode: .checked)
            do throws(IngestError) {
                _ = try core.admit(&run, source: "t", wait: .block)
            } catch {
                result.withLock { $0 = error.code }
            }
        }
        #expect(waitUntil(timeout: deadline) { core.statistics().waitingProducers == 1 })
        #expect(core.statistics().queuedMessages == 2)
        let closer = TestThread { core.shutdown(drain: true) }
        #expect(producer.waitUntilFinished(timeout: deadline), "the shutdown woke the producer")
        producer.join()
        #expect(result.withLock { $0 } == .closed)
        gate.open()
        #expect(closer.waitUntilFinished(timeout: deadline))
        closer.join()
        let st = core.statistics()
        #expect(st.admitted == 3 && st.handled == 3 && st.discarded == 0, "drained: \(st.admitted) \(st.handled)")
        #expect(collect(core).map(\.offset) == [0, 1, 2])
        #expect(core.outputsEnded && !st.hasWorker)
    }

    @Test("concurrent shutdowns: every one returns with the worker joined")
    func concurrentShutdowns() {
        let gate = WorkerGate()
        let core = EntityCore<ThreadedExecutor>(storeId: store, configuration: IngestConfiguration().gated(by: gate))
        for i in 0..<4 { _ = try? submit(core, M.arrow(store, offset: UInt64(i))) }
        #expect(gate.waitForArrivals(1, timeout: deadline))
        let closers = (0..<3).map { n in TestThread { core.shutdown(drain: n != 1) } }
        #expect(waitUntil(timeout: deadline) { core.isClosed })
        pauseToShowBlocking()
        #expect(closers.allSatisfy { !$0.isFinished }, "no shutdown returns before the join")
        gate.open()
        for c in closers {
            #expect(c.waitUntilFinished(timeout: deadline))
            c.join()
        }
        let st = core.statistics()
        #expect(st.handled == 4 && !st.hasWorker && core.outputsEnded)
        guard case .none = core.input.withLock({ $0.worker }) else {
            Issue.record("the worker state must be none after the join")
            return
        }
    }

    @Test("a blocking submit from the store's own insert hook into its full queue fails with full, threaded")
    func hookSubmitIntoFullQueue() throws {
        let ref = CoreRef<ThreadedExecutor>()
        let codes = Locked<[IngestError.Code?]>([])
        let config = IngestConfiguration(
            queueCapacity: 1,
            insertChunk: { store, _ in
                guard let core = ref.core else { return }
                // The first submit fits (the worker took the queue), the second would wait for this thread.
                for n in 0..<2 {
                    let e = ingestError { _ = try submit(core, M.storeInfo(store, offset: 100 + UInt64(n))) }
                    codes.withLock { $0.append(e?.code) }
                }
                ref.core = nil
            })
        let core = EntityCore<ThreadedExecutor>(storeId: store, configuration: config)
        ref.core = core
        _ = try submit(core, SyntheticChunks.chunk(store, offset: 0, chunk: 1))
        #expect(waitUntil(timeout: deadline) { codes.withLock { $0.count } == 2 })
        #expect(codes.withLock { $0 } == [nil, .full])
        #expect(core.flush(deadline: MonotonicClock.deadline(after: deadline)))
        #expect(collect(core).map(\.offset) == [0, 100])
        core.shutdown(drain: true)
    }

    @Test("inline: submits from the store's own insert hook join the pass under way, in order")
    func inlineHookSubmitJoinsPass() throws {
        let ref = CoreRef<InlineExecutor>()
        let config = IngestConfiguration(insertChunk: { store, _ in
            guard let core = ref.core else { return }
            ref.core = nil
            _ = try? submit(core, M.storeInfo(store, offset: 100))
        })
        let core = EntityCore<InlineExecutor>(storeId: store, configuration: config)
        ref.core = core
        _ = try submit(core, SyntheticChunks.chunk(store, offset: 0, chunk: 1))
        _ = try submit(core, M.storeInfo(store, offset: 1))
        #expect(collect(core).map(\.offset) == [0, 100, 1], "the hook's message right after its chunk")
        core.shutdown(drain: true)
        #expect(core.outputsEnded)
    }

    @Test("inline: a full queue never refuses or times out; the producer makes room by processing")
    func inlineMakesRoom() throws {
        let core = EntityCore<InlineExecutor>(
            storeId: store, configuration: IngestConfiguration(queueCapacity: 2, maxQueuedBytes: 10))
        var run = SequenceRun((0..<7).map { M.arrow(store, offset: UInt64($0), payloadBytes: 8) }.makeIterator(), mode: .checked)
        #expect(try core.admit(&run, source: "t", wait: .never) == 0..<7)
        #expect(try submit(core, M.arrow(store, offset: 7), wait: .until(MonotonicClock.now())) == 7)
        let st = core.statistics()
        #expect(st.readyOutputs == 8 && st.queuedMessages == 0)
        #expect(st.queueHighWater == 1, "the byte bound held: one 8-byte message at a time")
        #expect(!st.hasWorker)
        #expect(collect(core).map(\.sequence) == Array(0..<8))
        core.shutdown(drain: true)
    }

    @Test("the reading side: loops on threads (threaded) or one after another on the caller (inline)")
    func readers() {
        for inline in [false, true] {
            let ran = Locked<[Int]>([])
            let batches = Locked(0)
            var tends: [Bool] = []
            let loop: @Sendable (Int, () -> Void) -> Void = { n, afterBatch in
                ran.withLock { $0.append(n) }
                afterBatch()
                batches.withLock { $0 += 1 }
            }
            if inline {
                InlineExecutor.runReaders(count: 3, tendEvery: 1_000_000, loop) { tends.append($0) }
                #expect(ran.withLock { $0 } == [0, 1, 2], "one after another")
                #expect(tends == [false, false, false, true], "tended after each batch, then finished")
            } else {
                ThreadedExecutor.runReaders(count: 3, tendEvery: 1_000_000, loop) { tends.append($0) }
                #expect(ran.withLock { $0.sorted() } == [0, 1, 2])
                #expect(tends.last == true && tends.dropLast().allSatisfy { !$0 }, "finished once, at the end")
            }
            #expect(batches.withLock { $0 } == 3)
        }
        #expect(DefaultExecutor.submitsMayBlock == !StoreHub.isSynchronous)
    }
}
