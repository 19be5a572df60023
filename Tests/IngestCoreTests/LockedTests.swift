import Dispatch
import IngestCore
import Testing

@Suite("Locked and ReadWriteLocked")
struct LockedTests {
    @Test("withLock makes every increment exclusive")
    func exclusiveIncrements() {
        let counter = Locked(0)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<10_000 { counter.withLock { $0 += 1 } }
        }
        #expect(counter.withLock { $0 } == 80_000)
    }

    @Test("a waiter sees every value a producer hands over, in order")
    func handOverInOrder() {
        // Condition 0: the slot is full; condition 1: the slot is empty.
        struct Slot {
            var value: Int?
            var done = false
        }
        let full = LockCondition(0)
        let empty = LockCondition(1)
        let slot = Locked(Slot(), conditions: 2)
        let received = Locked([Int]())
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            while true {
                let next: Int? = slot.withLockWaiting { held in
                    while held.state.value == nil && !held.state.done { held.wait(full) }
                    let v = held.state.value
                    held.state.value = nil
                    return v
                }
                slot.signal(empty)
                guard let next else { return }
                received.withLock { $0.append(next) }
            }
        }
        for i in 0..<500 {
            slot.withLockWaiting { held in
                while held.state.value != nil { held.wait(empty) }
                held.state.value = i
            }
            slot.signal(full)
        }
        slot.withLockWaiting { held in
            while held.state.value != nil { held.wait(empty) }
            held.state.done = true
        }
        slot.broadcast(full)
        group.wait()
        #expect(received.withLock { $0 } == Array(0..<500))
    }

    @Test("a timed wait returns false once its deadline passed, and true when signalled")
    func timedWait() {
        let lock = Locked(false, conditions: 1)
        let c = LockCondition(0)
        let start = MonotonicClock.now()
        let inTime = lock.withLockWaiting { held in
            held.wait(c, untilNanoseconds: MonotonicClock.now() &+ 20_000_000)
        }
        #expect(!inTime)
        #expect(MonotonicClock.now() &- start >= 20_000_000)

        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            lock.withLock { $0 = true }
            lock.broadcast(c)
        }
        let sawFlag = lock.withLockWaiting { held in
            let deadline = MonotonicClock.now() &+ 10_000_000_000
            while !held.state {
                if !held.wait(c, untilNanoseconds: deadline) { return false }
            }
            return true
        }
        group.wait()
        #expect(sawFlag)
    }

    @Test("a noncopyable value is moved in once, lent out, and destroyed with the lock")
    func noncopyableState() {
        final class Tally: Sendable {
            let freed = Locked(0)
        }
        struct Buffer: ~Copyable {
            let tally: Tally
            var items: [Int] = []
            deinit { tally.freed.withLock { $0 += 1 } }
        }
        let tally = Tally()
        do {
            let lock = Locked(Buffer(tally: tally), conditions: 1)
            DispatchQueue.concurrentPerform(iterations: 4) { n in
                for i in 0..<1_000 { lock.withLock { $0.items.append(n * 1_000 + i) } }
            }
            let count = lock.withLockWaiting { held in held.state.items.count }
            #expect(count == 4_000)
            #expect(lock.withLock { $0.items.sorted() } == Array(0..<4_000))
            #expect(tally.freed.withLock { $0 } == 0, "the value lives as long as the lock")
        }
        #expect(tally.freed.withLock { $0 } == 1, "destroyed exactly once, with the lock")
    }

    @Test("readers share a ReadWriteLocked value, writers have it alone")
    func readersAndWriters() {
        let table = ReadWriteLocked([Int](repeating: 0, count: 64))
        DispatchQueue.concurrentPerform(iterations: 6) { worker in
            for round in 0..<2_000 {
                if worker % 3 == 0 {
                    table.withWriteLock { values in
                        for k in values.indices { values[k] += 1 }
                    }
                } else {
                    // A reader never sees a half-done write: every element is equal.
                    let consistent = table.withReadLock { values in values.allSatisfy { $0 == values[0] } }
                    #expect(consistent, "round \(round)")
                }
            }
        }
        #expect(table.withReadLock { $0 } == [Int](repeating: 4_000, count: 64))
    }

    @Test("deadline(after:) saturates and treats negative durations as now")
    func deadlines() {
        let now = MonotonicClock.now()
        #expect(MonotonicClock.deadline(after: .seconds(-1)) >= now)
        #expect(MonotonicClock.deadline(after: .seconds(Int64.max)) == .max)
        let later = MonotonicClock.deadline(after: .milliseconds(5))
        #expect(later >= now &+ 5_000_000)
    }
}
