#if LIVE_SERVER
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import IngestCore
import Ingestion
import RRD
import Synchronization

/// The gRPC endpoint the Rerun SDK streams to: `rr.connect_grpc("rerun+http://HOST:PORT/proxy")`
/// (the `/proxy` is no gRPC path: the SDK dials HOST:PORT over plaintext HTTP/2) sends each recording
/// stream as one `WriteMessages` call, and every `LogMsg` of it goes through the hub's pipeline as a
/// file's messages do: the call is a live source (``Ingestion/LiveIngestion``), so its messages take the
/// same routing, per-store queue, worker, store and ordered outputs; per store, outputs keep the
/// order in which the client sent them.
///
/// ```swift
/// let hub = StoreHub()
/// let server = IngestServer(hub: hub)
/// let address = try await server.start(host: "127.0.0.1", port: 0)   // 0: a free port
/// print(address.url)                                                 // rerun+http://127.0.0.1:PORT/proxy
/// // … clients stream …; drain the hub as for any input:
/// hub.drain { db, output in … }
/// await server.stop(drain: true)
/// ```
///
/// - Backpressure: when a store's queue is full, the call's reading thread waits in its submit, its
///   hand-off channel fills, and the call stops pulling requests from the transport, so HTTP/2 flow
///   control holds the SDK back. No event-loop or cooperative-pool thread ever blocks, and other
///   calls go on. Memory stays bounded by the stores' queue bounds plus, per call, the channel's
///   ``Configuration/callBuffer``, one batch, the transport's window
///   (``Configuration/windowSize``) and its small buffer of decoded requests (ten).
/// - Faults: a client that goes away mid-stream leaves everything received in its stores; an empty or
///   malformed request is an error on the hub's per-source error stream, in order after the messages
///   before it (``Configuration`` stops a call after 100 of them); a payload that does not decode is
///   an ordered error output of its store. None of them stops the server or another call.
/// - `ReadMessages`: the history (``Configuration/historyBytes``, store infos always kept), then live
///   messages, in arrival order; a reader more than ``Configuration/readerBufferBytes`` behind is
///   dropped (`resourceExhausted`), so readers never slow ingestion. `WriteTable`/`ReadTables` keep
///   and forward dataframes the same way (they are not ingested into stores).
/// - Store ids: 0.23/0.24 messages without an application id get their store's, as a file's do.
public final class IngestServer: Sendable {
    /// The server's knobs.
    public struct Configuration: Sendable, Hashable {
        /// Largest request accepted, in bytes (default 1 GiB: one chunk can be tens of MB).
        public var maxMessageSize: Int
        /// HTTP/2 flow-control window of each call and connection, in bytes (default 4 MiB): what a
        /// client may send before the server reads it; a bound of memory per call.
        public var windowSize: Int
        /// What may wait between a call's transport and its reading thread.
        public var callBuffer: LiveMessageChannel.Limits
        /// Bytes of `LogMsg`s (and of tables) kept for late `ReadMessages`/`ReadTables` readers
        /// (default 64 MiB; 0 keeps only store infos and blueprint activations).
        public var historyBytes: Int
        /// How far (bytes) one reader may fall behind before it is dropped (default 64 MiB).
        public var readerBufferBytes: Int

        /// The defaults, each overridable.
        public init(
            maxMessageSize: Int = 1 << 30, windowSize: Int = 4 << 20,
            callBuffer: LiveMessageChannel.Limits = LiveMessageChannel.Limits(), historyBytes: Int = 64 << 20,
            readerBufferBytes: Int = 64 << 20
        ) {
            self.maxMessageSize = maxMessageSize
            self.windowSize = windowSize
            self.callBuffer = callBuffer
            self.historyBytes = max(0, historyBytes)
            self.readerBufferBytes = max(1, readerBufferBytes)
        }
    }

    /// Where a started server listens.
    public struct BoundAddress: Sendable, Hashable, CustomStringConvertible {
        /// The address bound (as given, or as the system chose it).
        public var host: String
        public var port: Int
        /// What the SDK connects to: `rerun+http://HOST:PORT/proxy` (IPv6 hosts in brackets).
        public var url: String { "rerun+http://\(host.contains(":") ? "[\(host)]" : host):\(port)/proxy" }
        public var description: String { url }
    }

    /// Why ``start(host:port:)`` failed.
    public struct StartError: Error, Sendable, CustomStringConvertible {
        /// What went wrong, for people.
        public var message: String
        public var description: String { message }
    }

    /// The hub every call feeds.
    public let hub: StoreHub
    /// The configuration in force.
    public let configuration: Configuration

    private typealias Server = GRPCServer<HTTP2ServerTransport.Posix>

    private enum Lifecycle {
        case idle
        case running(Server, Task<Void, any Error>, startedAt: UInt64)
        case stopped(startedAt: UInt64, stoppedAt: UInt64)
    }

    private let core: ServerCore
    private let lifecycle = Locked(Lifecycle.idle)
    private let bound = Locked<BoundAddress?>(nil)

    /// A server feeding `hub`; nothing listens before ``start(host:port:)``.
    /// - Parameter messageTap: sees every message received, decoded but with its payload as it came
    ///   (an `ArrowMsg` still compressed), on the reading thread of its call, in the order of that
    ///   call, before it is submitted to its store (see
    ///   ``Ingestion/StoreHub/startLiveIngestion(label:limits:options:tap:)``): `ingest serve --save`
    ///   records the stream with it.
    public init(
        hub: StoreHub, configuration: Configuration = Configuration(),
        messageTap: (@Sendable (Message) -> Void)? = nil
    ) {
        self.hub = hub
        self.configuration = configuration
        core = ServerCore(hub: hub, configuration: configuration, messageTap: messageTap)
    }

    /// Starts listening on `host` (an IPv4 or IPv6 address; `localhost` is 127.0.0.1) and `port`
    /// (0: a free one) and serving calls.
    /// - Returns: the address bound.
    /// - Throws: ``StartError`` when the address cannot be bound or the server was started before.
    public func start(host: String = "127.0.0.1", port: Int = 9876) async throws -> BoundAddress {
        let host = host == "localhost" ? "127.0.0.1" : host
        let address: GRPCNIOTransportHTTP2Posix.SocketAddress =
            host.contains(":") ? .ipv6(host: host, port: port) : .ipv4(host: host, port: port)
        let configuration = configuration
        let transport = HTTP2ServerTransport.Posix(
            address: address, transportSecurity: .plaintext,
            config: .defaults { c in
                c.rpc.maxRequestPayloadSize = configuration.maxMessageSize
                c.http2.targetWindowSize = configuration.windowSize
            })
        let server = Server(transport: transport, services: [MessageProxyService(core: core)])
        let task: Task<Void, any Error>? = lifecycle.withLock { state in
            guard case .idle = state else { return nil }
            let task = Task { try await server.serve() }
            state = .running(server, task, startedAt: MonotonicClock.now())
            return task
        }
        guard let task else { throw StartError(message: "the server was started before") }
        do {
            let listening = try await transport.listeningAddress
            let address =
                listening.ipv4.map { BoundAddress(host: $0.host, port: $0.port) }
                ?? listening.ipv6.map { BoundAddress(host: $0.host, port: $0.port) }
                ?? BoundAddress(host: host, port: port)
            bound.withLock { $0 = address }
            return address
        } catch {
            task.cancel()
            let reason: String
            if case .failure(let serveError) = await task.result { reason = "\(serveError)" } else { reason = "\(error)" }
            lifecycle.withLock { $0 = .stopped(startedAt: MonotonicClock.now(), stoppedAt: MonotonicClock.now()) }
            throw StartError(message: "cannot listen on \(host):\(port): \(reason)")
        }
    }

    /// Stops the server: no new connections or calls; open calls may go on for `gracePeriod` (an SDK
    /// that is flushing ends its calls), then they are ended.
    /// - Parameters:
    ///   - drain: `true`: every message received so far goes into its store, and this returns once
    ///     the stores handled them (outputs ready to poll); `false`: what waits between the
    ///     transport and the stores' queues is dropped and this does not wait for the stores.
    ///   - gracePeriod: how long open calls may still run before they are ended.
    public func stop(drain: Bool, gracePeriod: Duration = .zero) async {
        let running: (Server, Task<Void, any Error>, UInt64)? = lifecycle.withLock { state in
            guard case .running(let server, let task, let startedAt) = state else { return nil }
            return (server, task, startedAt)
        }
        guard let (server, task, startedAt) = running else { return }
        server.beginGracefulShutdown()
        if gracePeriod > .zero {
            let deadline = ContinuousClock.now + gracePeriod
            while ContinuousClock.now < deadline && !core.registry.openIngestions.isEmpty {
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        core.stopDrains = drain
        // Ends the calls still open (their handlers see the cancellation), and the readers.
        task.cancel()
        core.messages.end()
        core.tables.end()
        _ = await task.result
        if drain { await hub.flushed() }
        lifecycle.withLock { $0 = .stopped(startedAt: startedAt, stoppedAt: MonotonicClock.now()) }
    }

    /// Where the server listens (or listened), once ``start(host:port:)`` returned.
    public var boundAddress: BoundAddress? { bound.withLock { $0 } }

    /// Messages received so far, by kind name (`SetStoreInfo`, `ArrowMsg`, `BlueprintActivationCommand`).
    public var messageCounts: [String: UInt64] {
        [
            "SetStoreInfo": core.setStoreInfos.load(ordering: .relaxed),
            "ArrowMsg": core.arrowMsgs.load(ordering: .relaxed),
            "BlueprintActivationCommand": core.blueprintCommands.load(ordering: .relaxed),
        ]
    }

    /// Wall-clock time (`CLOCK_REALTIME`, ns since 1970) of the first `WriteMessages` request
    /// received, 0 before any.
    public var firstRequestUnixNanoseconds: UInt64 { core.firstRequestUnixNanoseconds.load(ordering: .relaxed) }

    /// A snapshot of the connections and calls (cheap: a few locks, no store is touched).
    public var statistics: ServerStatistics {
        let (connections, calls, channelMessages, channelBytes) = core.registry.snapshot()
        let m = core.messages.figures
        let t = core.tables.figures
        let uptime: UInt64 = lifecycle.withLock { state in
            switch state {
            case .idle: return 0
            case .running(_, _, let startedAt): return MonotonicClock.now() &- startedAt
            case .stopped(let startedAt, let stoppedAt): return stoppedAt &- startedAt
            }
        }
        return ServerStatistics(
            connections: connections, calls: calls, openCalls: connections.reduce(0) { $0 + $1.openCalls },
            messages: connections.reduce(0) { $0 + $1.messages }, bytes: connections.reduce(0) { $0 + $1.bytes },
            errors: connections.reduce(0) { $0 + $1.errors }, openReaders: m.readers + t.readers,
            droppedReaders: m.droppedReaders + t.droppedReaders, historyMessages: m.historyItems,
            historyBytes: m.historyBytes, tables: t.published, channelMessages: channelMessages,
            channelBytes: channelBytes, uptimeNanoseconds: uptime)
    }
}
#endif
