/// The store's event facet: ids the events of each mutation (increasing per store, from 1, without
/// gaps) and keeps them while someone listens, for ``ChunkStore`` to deliver after the mutation.
struct EventRecorder<C: StorableChunk> {
    /// The id of the last event emitted (0 before the first); also the number emitted.
    private(set) var lastId: UInt64 = 0
    /// Whether events are kept (someone subscribes); set by ``ChunkStore`` before each mutation.
    var isRecording = false
    /// The kinds of the events emitted since the last ``takeEvents()``, while recording.
    private var pending: [StoreEvent<C>.Kind] = []

    /// Emits one event: counted always, kept only while recording (the kind is built only then).
    @inline(__always)
    mutating func emit(_ kind: @autoclosure () -> StoreEvent<C>.Kind) {
        lastId += 1
        if isRecording { pending.append(kind()) }
    }

    /// The events kept since the last call, with their ids, in order.
    mutating func takeEvents() -> [StoreEvent<C>] {
        guard !pending.isEmpty else { return [] }
        let firstId = lastId - UInt64(pending.count) + 1
        var events: [StoreEvent<C>] = []
        events.reserveCapacity(pending.count)
        for (k, kind) in pending.enumerated() { events.append(StoreEvent(id: firstId + UInt64(k), kind: kind)) }
        pending.removeAll(keepingCapacity: true)
        return events
    }
}
