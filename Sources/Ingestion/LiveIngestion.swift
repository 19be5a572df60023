import IngestCore
import RRD
import Synchronization

/// One live input being read into a hub: a ``LiveMessageChannel`` that a transport sends message
/// payloads into from `async` code, and a thread of its own that reads the channel into the hub
/// through the pipeline's reading loop (``StoreHub/ingest(_:label:options:)``: routing, the
/// reader-side decompression policy, batches into the stores' queues, blocking while one is full).
///
/// ```swift
/// let live = hub.startLiveIngestion(label: "grpc ipv4:127.0.0.1:50312 #1")
/// for try await request in call.messages {          // an async transport
///     guard await live.channel.send(kind: request.kind, payload: request.payload) == .accepted else { break }
/// }
/// live.channel.finish()
/// let result = await live.result()                   // everything is admitted to its store
/// ```
///
/// Why a thread: a producer of the engine blocks on a full queue, which an `async` task must never
/// do (it would stall the cooperative pool, or a transport's event loop). The channel suspends the
/// sending task instead, and only this thread blocks. The synchronous build runs the same thread
/// (a live transport is threaded anyway); its submits then decode inline on it.
///
/// Memory per live input: the channel's ``LiveMessageChannel/Limits`` plus one batch being submitted.
public final class LiveIngestion: Sendable {
    /// Where the transport sends; ``LiveMessageChannel/finish()`` ends the input.
    public let channel: LiveMessageChannel
    /// The input's name (its source label in the hub's outputs and per-source errors).
    public let label: String

    private struct Outcome {
        var result: IngestSourceResult?
        var waiters: [CheckedContinuation<IngestSourceResult, Never>] = []
    }

    private let outcome = Locked(Outcome(), conditions: 1)
    private static let ended = LockCondition(0)
    private let cancellation: ReplayCancellation
    /// Numbers reading threads: `ingest-l-<n>`.
    private static let counter = Atomic<Int>(0)

    fileprivate init(
        hub: StoreHub, label: String, limits: LiveMessageChannel.Limits, options: ReplayOptions,
        tap: (@Sendable (Message) -> Void)?
    ) {
        channel = LiveMessageChannel(limits: limits)
        self.label = label
        cancellation = options.cancellation
        let n = Self.counter.add(1, ordering: .relaxed).newValue % 1_000_000
        let channel = channel
        let thread = WorkerThread(name: "ingest-l-\(n)") { [self] in
            let source = LiveChannelSource(channel: channel, name: label, tap: tap)
            let result = hub.ingest(source, label: label, options: options)
            // Reading stopped (the end, a shut-down hub, a cancel): senders must not wait for it.
            channel.close()
            hub.sourceEnded(label)
            let waiters = outcome.withLock { o in
                o.result = result
                defer { o.waiters.removeAll() }
                return o.waiters
            }
            outcome.broadcast(Self.ended)
            for w in waiters { w.resume(returning: result) }
        }
        thread.detach()
    }

    /// What the reading loop did, once the input ended and everything taken from the channel was
    /// admitted to its store (or refused); suspends the task until then, never blocks it.
    public func result() async -> IngestSourceResult {
        await withCheckedContinuation { (c: CheckedContinuation<IngestSourceResult, Never>) in
            let ready: IngestSourceResult? = outcome.withLock { o in
                if let r = o.result { return r }
                o.waiters.append(c)
                return nil
            }
            if let ready { c.resume(returning: ready) }
        }
    }

    /// ``result()`` for a thread that may block (tests, synchronous callers).
    public func waitForResult() -> IngestSourceResult {
        outcome.withLockWaiting { held in
            while held.state.result == nil { held.wait(Self.ended) }
            return held.state.result!
        }
    }

    /// Whether the reading loop ended.
    public var hasEnded: Bool { outcome.withLock { $0.result != nil } }

    /// Stops reading at the next message: what the channel still holds is dropped, senders get
    /// ``LiveMessageChannel/SendResult/closed``; what was submitted already is still ingested.
    public func cancel() {
        cancellation.cancel()
        channel.close()
    }
}

extension StoreHub {
    /// Starts reading a live input into this hub on a thread of its own; the transport sends into
    /// the returned ingestion's ``LiveIngestion/channel`` (see ``LiveIngestion``).
    /// - Parameters:
    ///   - label: the input's name: its source label (per-source errors, outputs) and in errors.
    ///   - limits: how much may wait in the channel before senders are suspended.
    ///   - options: the reading loop's ``ReplayOptions/cancellation`` (``LiveIngestion/cancel()``
    ///     trips it) and ``ReplayOptions/clock``; following, retries and pacing do not apply.
    ///   - tap: called on the reading thread with each message of the input once decoded (an
    ///     `ArrowMsg` still as it came, compressed), in the input's order, before it is submitted:
    ///     to record the input as received (`ingest serve --save`). It runs before the message's
    ///     submit, so a slow tap holds the input back like a full queue does.
    public func startLiveIngestion(
        label: String, limits: LiveMessageChannel.Limits = LiveMessageChannel.Limits(),
        options: ReplayOptions = ReplayOptions(), tap: (@Sendable (Message) -> Void)? = nil
    ) -> LiveIngestion {
        LiveIngestion(hub: self, label: label, limits: limits, options: options, tap: tap)
    }
}

extension StoreHub {
    /// ``flush()`` for `async` code: suspends the task (a short-lived helper thread does the
    /// blocking wait) until everything submitted to any store before the call has come out.
    public func flushed() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            WorkerThread(name: "ingest-flush") {
                self.flush()
                c.resume()
            }.detach()
        }
    }
}
