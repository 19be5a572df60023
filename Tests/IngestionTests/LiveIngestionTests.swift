import Chunks
import FixtureSupport
import Foundation
import IngestCore
import IngestTestSupport
import Ingestion
import RRD
import Store
import Testing

/// What an output item carries, as a line (its sequence number first).
private func describe(_ item: IngestOutput) -> String {
    let what: String =
        switch item.event {
        case .storeInfo(let i): "info \(i.info.storeId)"
        case .chunk(let c): "chunk \(c.id) rows \(c.numRows) \(c.entityPath)"
        case .activation(let a): "activation \(a.blueprintId) \(a.makeActive) \(a.makeDefault)"
        case .error(let e): "error \(e.code)"
        }
    return "\(item.sequence) \(what)"
}

/// Per store (in first-seen order): what each output item carries, in output order.
private func listing(_ hub: StoreHub, _ perStore: [StoreId: [String]]) -> [String] {
    hub.storeIds().flatMap { id in ["store \(id)"] + (perStore[id] ?? []) }
}

/// ``listing(_:_:)`` of what `hub` holds ready now.
private func outputs(_ hub: StoreHub) -> [String] {
    var perStore: [StoreId: [String]] = [:]
    hub.drain { db, item in perStore[db.storeId, default: []].append(describe(item)) }
    return listing(hub, perStore)
}

/// ``listing(_:_:)`` of a replay of `path` into `hub` (the replay drains the outputs itself).
private func replayOutputs(_ path: String, into hub: StoreHub) -> [String] {
    var perStore: [StoreId: [String]] = [:]
    hub.replay(files: [path]) { db, item in perStore[db.storeId, default: []].append(describe(item)) }
    return listing(hub, perStore)
}

/// Sends every message of `path` (End aside: a live stream has none) through one live ingestion.
private func sendFile(_ path: String, into hub: StoreHub, label: String = "live") async throws -> IngestSourceResult {
    let (messages, errors) = try RawMessage.read(path: path)
    #expect(errors.isEmpty)
    let live = hub.startLiveIngestion(label: label)
    for m in messages where m.kind != .end {
        #expect(await live.channel.send(kind: m.kind, payload: m.payload) == .accepted)
    }
    live.channel.finish()
    let result = await live.result()
    await hub.flushed()
    return result
}

/// How long a live test waits for a step: generous, because the whole suite's tests share a
/// cooperative pool of two threads, which other suites' blocking waits may hold for seconds.
private let liveDeadline: Duration = .seconds(60)

@Suite("Live ingestion: a channel of message payloads read into the pipeline by a thread of its own")
struct LiveIngestionTests {
    static let fixtures = [
        "points3d.rrd", "recording_with_blueprint.rrd", "two_recordings_merged.rrd", "many_small_chunks.rrd",
        "text_logs.rrd", "uncompressed.rrd", "compat/0.23.4/two_recordings.rrd", "compat/0.24.1/scalars.rrd",
    ]

    @Test("a file sent message by message gives the stores a replay of it gives", arguments: fixtures)
    func sameStoresAsTheFile(_ name: String) async throws {
        let path = Fixtures.rrdPath(name)
        let live = StoreHub()
        let result = try await sendFile(path, into: live)
        #expect(result.errors.isEmpty)
        let file = StoreHub()
        let expected = replayOutputs(path, into: file)
        let got = outputs(live)
        #expect(got == expected)
        #expect(got.contains { $0.contains(" chunk ") })
        live.shutdown(drain: true)
        file.shutdown(drain: true)
    }

    @Test("a tap sees every message decoded, in the order sent, the payloads as they came, before its output")
    func tapSeesEveryMessageInOrder() async throws {
        let path = Fixtures.rrdPath("recording_with_blueprint.rrd")
        let (messages, _) = try RawMessage.read(path: path)
        let sent = messages.filter { $0.kind != .end }
        let seen = Locked<[(kind: MessageKind, payload: ByteSlice?, outputsBefore: Int)]>([])
        let hub = StoreHub()
        let live = hub.startLiveIngestion(label: "tapped") { message in
            let out = hub.statistics.messagesOut
            var payload: ByteSlice?
            if case .arrowMsg(let a) = message { payload = a.payload }
            seen.withLock { $0.append((message.kind, payload, Int(out))) }
        }
        for m in sent { #expect(await live.channel.send(kind: m.kind, payload: m.payload) == .accepted) }
        live.channel.finish()
        #expect(await live.result().errors.isEmpty)
        await hub.flushed()
        let taps = seen.withLock { $0 }
        #expect(taps.map(\.kind) == sent.map(\.kind))
        // Each message is tapped before its own output exists: at most the messages before it are out.
        #expect(taps.enumerated().allSatisfy { i, t in t.outputsBefore <= i })
        let arrowPayloads = zip(taps, sent).filter { $0.0.kind == .arrowMsg }
        #expect(!arrowPayloads.isEmpty)
        for (tap, m) in arrowPayloads {
            // The ArrowMsg's payload is a slice of the protobuf message that was sent (not decompressed).
            let tapped = try #require(tap.payload)
            #expect(tapped.count < m.payload.count)
            #expect(tapped.withUnsafeBytes { t in m.payload.withUnsafeBytes { p in
                t.baseAddress! >= p.baseAddress! && t.baseAddress! + t.count <= p.baseAddress! + p.count } })
        }
        hub.shutdown(drain: true)
    }

    @Test("0.23 store ids are completed from their SetStoreInfo, as in a file: one store per recording")
    func legacyIdsCompleted() async throws {
        let hub = StoreHub()
        _ = try await sendFile(Fixtures.rrdPath("compat/0.23.4/two_recordings.rrd"), into: hub)
        let ids = hub.storeIds(kind: .recording)
        #expect(!ids.isEmpty)
        #expect(ids.allSatisfy { !$0.applicationId.isEmpty })
        hub.shutdown(drain: true)
    }

    @Test("a payload that does not decode and a reported error come out in order, and the input goes on")
    func errorsInOrder() async throws {
        let (messages, _) = try RawMessage.read(path: Fixtures.rrdPath("points3d.rrd"))
        let hub = StoreHub()
        let live = hub.startLiveIngestion(label: "bad")
        let sendable = messages.filter { $0.kind != .end }
        for (i, m) in sendable.enumerated() {
            if i == 2 {
                // Not a protobuf message: a length-delimited field that runs past the end.
                #expect(await live.channel.send(kind: .arrowMsg, payload: ByteSlice(copying: [0x2A, 0x7F, 1])) == .accepted)
                live.channel.report(RRDError(.unknownMessageKind, source: "bad", offset: UInt64(i + 1), "empty oneof"))
            }
            #expect(await live.channel.send(kind: m.kind, payload: m.payload) == .accepted)
        }
        live.channel.finish()
        let result = await live.result()
        await hub.flushed()
        #expect(result.errors.count == 2)
        // The undecodable payload is an error, not a message read; every unit taken counts as input.
        #expect(result.messages == UInt64(sendable.count))
        #expect(result.bytesRead == UInt64(sendable.count + 2))
        let first = try #require(hub.pollSourceError(from: "bad"))
        let second = try #require(hub.pollSourceError(from: "bad"))
        #expect(first.error.offset == 2 && first.error.message.contains("ArrowMsg payload"))
        #expect(second.error.offset == 3 && second.error.message == "empty oneof")
        // Every message of the file still came out.
        let chunks = hub.allStores.reduce(0) { $0 + $1.statistics.distinctChunks }
        let fileHub = StoreHub()
        fileHub.replay(files: [Fixtures.rrdPath("points3d.rrd")])
        #expect(chunks == fileHub.allStores.reduce(0) { $0 + $1.statistics.distinctChunks })
        hub.shutdown(drain: true)
        fileHub.shutdown(drain: true)
    }

    @Test("a stuck store suspends its sender (bounded channel), another live input goes on meanwhile")
    func backpressureSuspendsTheSender() async throws {
        let (messages, _) = try RawMessage.read(path: Fixtures.rrdPath("many_small_chunks.rrd"))
        let arrow = messages.filter { $0.kind == .arrowMsg }
        #expect(arrow.count >= 50)
        let gate = WorkerGate()
        let limits = LiveMessageChannel.Limits(messages: 8, bytes: 1 << 20)
        // Queue bound of 4 messages: the gated store fills at once.
        let hub = StoreHub(configuration: IngestConfiguration(queueCapacity: 4).gated(by: gate))
        let stuck = hub.startLiveIngestion(label: "stuck", limits: limits)
        let sender = Task {
            var sent = 0
            for m in messages where m.kind != .end {
                guard await stuck.channel.send(kind: m.kind, payload: m.payload) == .accepted else { break }
                sent += 1
            }
            stuck.channel.finish()
            return sent
        }
        #expect(await eventually(timeout: liveDeadline) { gate.arrivals >= 1 })
        // Wait until the sender is suspended: the channel is full and nothing moves.
        let deadline = ContinuousClock.now + liveDeadline
        while stuck.channel.depth.messages < limits.messages && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        try await Task.sleep(for: .milliseconds(100))
        let depth = stuck.channel.depth
        #expect(depth.messages == limits.messages)
        #expect(depth.bytes <= limits.bytes)
        let queued = hub.statistics.queuedMessages
        #expect(queued <= 4)
        let admittedWhileStuck = hub.statistics.messagesIn

        // Meanwhile another input (another store: its own copy of the file under another recording
        // id is not at hand, so a file of other stores) goes through.
        let other = StoreHub()
        let result = try await sendFile(Fixtures.rrdPath("points3d.rrd"), into: other, label: "other")
        #expect(result.errors.isEmpty)
        #expect(other.allStores.reduce(0) { $0 + $1.statistics.distinctChunks } > 0)
        other.shutdown(drain: true)

        #expect(hub.statistics.messagesIn == admittedWhileStuck)  // nothing moved while gated
        gate.open()
        let sent = await sender.value
        _ = await stuck.result()
        await hub.flushed()
        #expect(sent == messages.count - 1)
        #expect(stuck.channel.counters.blockedSends > 0)
        #expect(hub.allStores.reduce(0) { $0 + $1.statistics.distinctChunks } == arrow.count)
        hub.shutdown(drain: true)
    }

    @Test("the same gate across two stores of one hub: the other store's live input is not held up")
    func otherStoreNotHeldUp() async throws {
        let gate = WorkerGate()
        let hub = StoreHub(configuration: IngestConfiguration(queueCapacity: 4).gated(by: gate))
        let a = SyntheticMessages.storeId(1)
        let b = SyntheticMessages.storeId(2)
        // Store a's worker parks at the gate; b is the same hub's other store, whose messages are not
        // ArrowMsgs (the gate stops decodes only), so they flow while a is stuck.
        let stuck = hub.startLiveIngestion(label: "a", limits: .init(messages: 4))
        let payload = try arrowPayload(store: a)
        let sender = Task {
            for _ in 0..<64 {
                guard await stuck.channel.send(kind: .arrowMsg, payload: payload) == .accepted else { return }
            }
            stuck.channel.finish()
        }
        #expect(await eventually(timeout: liveDeadline) { gate.arrivals >= 1 })
        let flowing = hub.startLiveIngestion(label: "b")
        for _ in 0..<100 {
            #expect(await flowing.channel.send(kind: .setStoreInfo, payload: try storeInfoPayload(store: b)) == .accepted)
        }
        flowing.channel.finish()
        let r = await flowing.result()
        #expect(r.messages == 100)
        #expect(hub.store(b)?.statistics.admitted == 100)
        gate.open()
        await sender.value
        _ = await stuck.result()
        hub.shutdown(drain: true)
    }

    @Test("cancel: a sender waiting for room is let go with .closed; later sends are refused")
    func cancelReleasesSenders() async throws {
        let gate = WorkerGate()
        let hub = StoreHub(configuration: IngestConfiguration(queueCapacity: 2).gated(by: gate))
        let live = hub.startLiveIngestion(label: "c", limits: .init(messages: 2))
        let payload = try arrowPayload(store: SyntheticMessages.storeId(1))
        let sender = Task {
            var results: [LiveMessageChannel.SendResult] = []
            for _ in 0..<40 {
                let r = await live.channel.send(kind: .arrowMsg, payload: payload)
                results.append(r)
                if r != .accepted { break }
            }
            return results
        }
        #expect(await eventually(timeout: liveDeadline) { gate.arrivals >= 1 })
        try await Task.sleep(for: .milliseconds(100))
        live.cancel()
        let results = await sender.value
        #expect(results.last == .closed)
        #expect(await live.channel.send(kind: .arrowMsg, payload: payload) == .closed)
        gate.open()
        #expect(await live.result().interrupted || live.channel.isClosed)
        hub.shutdown(drain: true)
    }

    @Test("a cancelled sending task stops waiting for room (.cancelled)")
    func cancelledTaskStopsWaiting() async throws {
        let gate = WorkerGate()
        let hub = StoreHub(configuration: IngestConfiguration(queueCapacity: 2).gated(by: gate))
        let live = hub.startLiveIngestion(label: "t", limits: .init(messages: 2))
        let payload = try arrowPayload(store: SyntheticMessages.storeId(1))
        let sender = Task {
            while true {
                let r = await live.channel.send(kind: .arrowMsg, payload: payload)
                if r != .accepted { return r }
            }
        }
        #expect(await eventually(timeout: liveDeadline) { gate.arrivals >= 1 })
        try await Task.sleep(for: .milliseconds(100))
        sender.cancel()
        #expect(await sender.value == .cancelled)
        live.channel.finish()
        gate.open()
        _ = await live.result()
        hub.shutdown(drain: true)
    }

    @Test("a hub shut down under a live input: sends are refused, the reading loop reports it")
    func hubShutDown() async throws {
        let hub = StoreHub()
        let live = hub.startLiveIngestion(label: "s")
        let payload = try arrowPayload(store: SyntheticMessages.storeId(1))
        #expect(await live.channel.send(kind: .arrowMsg, payload: payload) == .accepted)
        hub.shutdown(drain: true)
        var last = LiveMessageChannel.SendResult.accepted
        for _ in 0..<10_000 where last == .accepted {
            last = await live.channel.send(kind: .arrowMsg, payload: payload)
            if last == .accepted { try await Task.sleep(for: .milliseconds(1)) }
        }
        #expect(last == .closed)
        let result = await live.result()
        #expect(!result.errors.isEmpty)
    }
}

/// The protobuf payload of an `ArrowMsg` of `store` (from the synthetic chunks).
private func arrowPayload(store: StoreId) throws -> ByteSlice {
    let (messages, _) = try RawMessage.read(path: Fixtures.rrdPath("scalars_sequence.rrd"))
    let m = try #require(messages.first { $0.kind == .arrowMsg })
    // Re-point the message at `store` by prefixing a StoreId field: protobuf merges a repeated
    // message field, and the later one's values win.
    var bytes = m.payload.bytes
    bytes.append(contentsOf: storeIdField(store))
    return ByteSlice(copying: bytes)
}

/// A `SetStoreInfo` payload for `store`: `SetStoreInfo { StoreInfo info = 2 { StoreId store_id = 2 } }`.
private func storeInfoPayload(store: StoreId) throws -> ByteSlice {
    // storeIdField writes field 1 (tag 0x0A); inside StoreInfo the id is field 2 (tag 0x12).
    var storeId = storeIdField(store)
    storeId[0] = 0x12
    let payload: [UInt8] = [0x12] + varint(UInt64(storeId.count)) + storeId
    return ByteSlice(copying: payload)
}

/// Field 1 (length-delimited) holding `StoreId { kind = 1; recording_id = 2; application_id = 3 { id = 1 } }`.
private func storeIdField(_ id: StoreId) -> [UInt8] {
    var body: [UInt8] = [0x08] + varint(id.kind.rawValue)
    let rec = Array(id.recordingId.utf8)
    body += [0x12] + varint(UInt64(rec.count)) + rec
    let app = Array(id.applicationId.utf8)
    let appMsg: [UInt8] = [0x0A] + varint(UInt64(app.count)) + app
    body += [0x1A] + varint(UInt64(appMsg.count)) + appMsg
    return [0x0A] + varint(UInt64(body.count)) + body
}

private func varint(_ value: UInt64) -> [UInt8] {
    var v = value
    var out: [UInt8] = []
    while v >= 0x80 {
        out.append(UInt8(truncatingIfNeeded: v) | 0x80)
        v >>= 7
    }
    out.append(UInt8(v))
    return out
}

