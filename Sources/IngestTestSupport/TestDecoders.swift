import Chunks
import IngestCore
import Ingestion
import RRD

/// A decoder that stops at a gate before delegating.
final class GatedDecoder: ChunkDecoding {
    let gate: WorkerGate
    let applies: @Sendable (ArrowMsg) -> Bool
    let inner: any ChunkDecoding
    init(gate: WorkerGate, applies: @escaping @Sendable (ArrowMsg) -> Bool, inner: any ChunkDecoding) {
        self.gate = gate
        self.applies = applies
        self.inner = inner
    }
    func decode(_ message: ArrowMsg, arena: SlabArena?) throws(ChunkError) -> Chunk {
        if applies(message) { gate.pass() }
        return try inner.decode(message, arena: arena)
    }
}

/// A decoder that fails the messages a predicate picks and delegates the rest.
final class FaultInjectingDecoder: ChunkDecoding {
    let shouldFail: @Sendable (ArrowMsg) -> Bool
    let inner: any ChunkDecoding
    init(shouldFail: @escaping @Sendable (ArrowMsg) -> Bool, inner: any ChunkDecoding) {
        self.shouldFail = shouldFail
        self.inner = inner
    }
    func decode(_ message: ArrowMsg, arena: SlabArena?) throws(ChunkError) -> Chunk {
        if shouldFail(message) { throw ChunkError("injected failure") }
        return try inner.decode(message, arena: arena)
    }
}

extension IngestConfiguration {
    /// This configuration with workers stopping at `gate` before decoding each `ArrowMsg` that
    /// `applies` picks (by default every one; pick by `storeId` to pause a single store).
    public func gated(
        by gate: WorkerGate, where applies: @escaping @Sendable (ArrowMsg) -> Bool = { _ in true }
    ) -> IngestConfiguration {
        var c = self
        let make = makeDecoder
        c.makeDecoder = { GatedDecoder(gate: gate, applies: applies, inner: make()) }
        return c
    }

    /// This configuration with decode failures injected for the messages `shouldFail` picks
    /// (they come out as ``Ingestion/IngestError/Code/decode`` error items, message "injected failure").
    public func injectingFailures(where shouldFail: @escaping @Sendable (ArrowMsg) -> Bool) -> IngestConfiguration {
        var c = self
        let make = makeDecoder
        c.makeDecoder = { FaultInjectingDecoder(shouldFail: shouldFail, inner: make()) }
        return c
    }
}
