#if LIVE_SERVER
import IngestCore
import Ingestion
import Synchronization  // Atomic counters

/// What one client connection (one TCP connection: the transport's peer, e.g.
/// `ipv4:127.0.0.1:51234`) did so far. An SDK process opens one connection and one `WriteMessages`
/// call per recording stream.
public struct ConnectionStatistics: Sendable, Hashable {
    /// The peer as the transport names it (`ipv4:HOST:PORT`, `ipv6:[HOST]:PORT`).
    public var peer: String
    /// `WriteMessages` calls made on the connection, and those still open.
    public var calls: Int
    public var openCalls: Int
    /// `ReadMessages`/`ReadTables` calls open on it.
    public var openReaders: Int
    /// Requests received by its `WriteMessages` calls (messages, empty and malformed ones), and their
    /// protobuf bytes.
    public var messages: UInt64
    public var bytes: UInt64
    /// Requests that were empty or malformed (reported on the hub's per-source error stream).
    public var errors: UInt64
    /// Time its calls spent suspended because the store queues were full (backpressure), in nanoseconds.
    public var blockedNanoseconds: UInt64
    /// ``IngestCore/MonotonicClock`` readings: the first call, and the latest request.
    public var firstSeenNanoseconds: UInt64
    public var lastActivityNanoseconds: UInt64
}

/// A snapshot of a server (``IngestServer/statistics``).
public struct ServerStatistics: Sendable, Hashable {
    /// Every connection seen, in first-seen order (closed ones too; the list keeps the newest 4096).
    public var connections: [ConnectionStatistics]
    /// `WriteMessages` calls in all, and open now.
    public var calls: Int
    public var openCalls: Int
    /// Requests received, and their protobuf bytes.
    public var messages: UInt64
    public var bytes: UInt64
    /// Empty or malformed requests.
    public var errors: UInt64
    /// `ReadMessages`/`ReadTables` calls open, and readers dropped for falling behind.
    public var openReaders: Int
    public var droppedReaders: UInt64
    /// Messages kept for late readers, and their bytes.
    public var historyMessages: Int
    public var historyBytes: Int
    /// Tables received by `WriteTable`.
    public var tables: UInt64
    /// Messages waiting in the calls' hand-off channels now (between the transport and the stores' queues).
    public var channelMessages: Int
    public var channelBytes: Int
    /// Time since ``IngestServer/start(host:port:)``, in nanoseconds.
    public var uptimeNanoseconds: UInt64
}

/// One `WriteMessages` call's live counters (the handler task writes them, snapshots read them).
final class CallRecord: Sendable {
    let number: Int
    let label: String
    let messages = Atomic<UInt64>(0)
    let bytes = Atomic<UInt64>(0)
    let errors = Atomic<UInt64>(0)
    let lastActivity = Atomic<UInt64>(0)
    /// Set once the call's live ingestion starts (its channel's counters and depth).
    let ingestion = Locked<LiveIngestion?>(nil)

    init(number: Int, label: String) {
        self.number = number
        self.label = label
    }

    func noteRequest(bytes n: Int) {
        messages.add(1, ordering: .relaxed)
        bytes.add(UInt64(n), ordering: .relaxed)
        lastActivity.store(MonotonicClock.now(), ordering: .relaxed)
    }
}

/// The registry of connections and calls.
final class ConnectionRegistry: Sendable {
    private struct Connection {
        var peer: String
        var firstSeen: UInt64
        var open: [CallRecord] = []
        var openReaders = 0
        var calls = 0
        /// Totals of its ended calls.
        var messages: UInt64 = 0
        var bytes: UInt64 = 0
        var errors: UInt64 = 0
        var blocked: UInt64 = 0
        var lastActivity: UInt64 = 0
    }

    private struct State {
        var connections: [String: Connection] = [:]
        var order: [String] = []
        var calls = 0
    }

    private let state = Locked(State())
    static let keptConnections = 4096

    private func withConnection<R>(_ peer: String, _ body: (inout Connection) -> R) -> R {
        state.withLock { s in
            if s.connections[peer] == nil {
                s.connections[peer] = Connection(peer: peer, firstSeen: MonotonicClock.now())
                s.order.append(peer)
                if s.order.count > Self.keptConnections {
                    // Forget the oldest connection that has nothing open.
                    if let i = s.order.firstIndex(where: { s.connections[$0].map { $0.open.isEmpty && $0.openReaders == 0 } ?? true }) {
                        s.connections[s.order.remove(at: i)] = nil
                    }
                }
            }
            return body(&s.connections[peer]!)
        }
    }

    /// A new `WriteMessages` call from `peer`.
    func openCall(peer: String) -> CallRecord {
        let number = state.withLock { s in
            s.calls += 1
            return s.calls
        }
        let record = CallRecord(number: number, label: "grpc \(peer) call \(number)")
        withConnection(peer) { c in
            c.calls += 1
            c.open.append(record)
        }
        return record
    }

    /// The call ended: its counters join its connection's totals.
    func closeCall(_ record: CallRecord, peer: String) {
        let blocked = record.ingestion.withLock { $0?.channel.counters.blockedNanoseconds ?? 0 }
        withConnection(peer) { c in
            c.open.removeAll { $0 === record }
            c.messages += record.messages.load(ordering: .relaxed)
            c.bytes += record.bytes.load(ordering: .relaxed)
            c.errors += record.errors.load(ordering: .relaxed)
            c.blocked += blocked
            c.lastActivity = Swift.max(c.lastActivity, record.lastActivity.load(ordering: .relaxed))
        }
    }

    func readerOpened(peer: String) { withConnection(peer) { $0.openReaders += 1 } }
    func readerClosed(peer: String) { withConnection(peer) { $0.openReaders -= 1 } }

    /// Every connection's figures, and the channels' current depth.
    func snapshot() -> (connections: [ConnectionStatistics], calls: Int, channelMessages: Int, channelBytes: Int) {
        let (conns, calls) = state.withLock { s in (s.order.compactMap { s.connections[$0] }, s.calls) }
        var depthMessages = 0
        var depthBytes = 0
        let stats = conns.map { c -> ConnectionStatistics in
            var st = ConnectionStatistics(
                peer: c.peer, calls: c.calls, openCalls: c.open.count, openReaders: c.openReaders, messages: c.messages,
                bytes: c.bytes, errors: c.errors, blockedNanoseconds: c.blocked, firstSeenNanoseconds: c.firstSeen,
                lastActivityNanoseconds: c.lastActivity)
            for call in c.open {
                st.messages += call.messages.load(ordering: .relaxed)
                st.bytes += call.bytes.load(ordering: .relaxed)
                st.errors += call.errors.load(ordering: .relaxed)
                st.lastActivityNanoseconds = Swift.max(st.lastActivityNanoseconds, call.lastActivity.load(ordering: .relaxed))
                if let live = call.ingestion.withLock({ $0 }) {
                    st.blockedNanoseconds += live.channel.counters.blockedNanoseconds
                    let d = live.channel.depth
                    depthMessages += d.messages
                    depthBytes += d.bytes
                }
            }
            return st
        }
        return (stats, calls, depthMessages, depthBytes)
    }

    /// The live ingestions of the calls open now.
    var openIngestions: [LiveIngestion] {
        let records = state.withLock { s in s.connections.values.flatMap(\.open) }
        return records.compactMap { r in r.ingestion.withLock { $0 } }
    }
}
#endif
