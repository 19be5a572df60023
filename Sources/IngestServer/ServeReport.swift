#if LIVE_SERVER
import IngestCore
import Ingestion
import Store

/// What a server received and what its hub made of it (``IngestServer/report(sourceErrors:)``):
/// the summary `ingest serve` prints when it stops, as text or JSON (the layout of `ingest
/// replay`'s where the figures are the same).
public struct ServeReport: Sendable {
    /// The version of ``json``'s layout.
    public static let schemaVersion = 1

    /// The URL clients were given.
    public var url: String
    /// The server's figures when the report was made.
    public var server: ServerStatistics
    /// Messages received, by kind name (`SetStoreInfo`, `ArrowMsg`, `BlueprintActivationCommand`).
    public var messagesByKind: [String: UInt64]
    /// Every store, in first-seen order (the lines of `ingest replay`'s summary).
    public var stores: [ReplayStoreReport]
    /// Errors that belong to no store (empty and malformed requests, a refused submit), in order per call.
    public var sourceErrors: [SourceErrorItem]
    /// Submit-to-output latency over every store.
    public var latency: LatencySummary
    /// Time the calls' reading threads spent blocked on full store queues (summed over stores).
    public var blockedNanoseconds: UInt64
    /// Whether the synchronous build ran it.
    public var synchronous: Bool
    /// What `--save` wrote (nil: nothing was saved).
    public var saved: Saved?
    /// When things happened and how much memory the process took (nil: not measured; `ingest serve`
    /// measures them, a benchmark reads them).
    public var timing: Timing?

    /// Wall-clock marks (`CLOCK_REALTIME`, ns since 1970: comparable with a sender's on the same
    /// machine) and the process's peak resident memory.
    public struct Timing: Sendable, Hashable {
        /// The first `WriteMessages` request received (0: none).
        public var firstRequestUnixNanoseconds: UInt64
        /// When the last store output was taken from the hub (0: none): the last message stored,
        /// give or take the poll interval of the drain (20 ms when idle).
        public var lastOutputUnixNanoseconds: UInt64
        /// The process's peak resident set size (`getrusage` `ru_maxrss`), in bytes.
        public var peakRSSBytes: UInt64

        /// Marks as measured.
        public init(firstRequestUnixNanoseconds: UInt64, lastOutputUnixNanoseconds: UInt64, peakRSSBytes: UInt64) {
            self.firstRequestUnixNanoseconds = firstRequestUnixNanoseconds
            self.lastOutputUnixNanoseconds = lastOutputUnixNanoseconds
            self.peakRSSBytes = peakRSSBytes
        }
    }

    /// The recording `ingest serve --save` wrote of everything received.
    public struct Saved: Sendable, Hashable {
        /// The file.
        public var path: String
        /// Messages written (store infos, chunks, blueprint activations), chunks and their rows, and
        /// the file's size in bytes.
        public var messages: Int
        public var chunks: Int
        public var rows: Int
        public var bytes: UInt64
        /// `ArrowMsg`s left out because their payload does not decode (the file would not load).
        public var skipped: Int
        /// Why the file could not be written (nil: it was); it then keeps its old content, if any.
        public var failure: String?

        /// A summary of a save.
        public init(
            path: String, messages: Int, chunks: Int, rows: Int, bytes: UInt64, skipped: Int, failure: String?
        ) {
            self.path = path
            self.messages = messages
            self.chunks = chunks
            self.rows = rows
            self.bytes = bytes
            self.skipped = skipped
            self.failure = failure
        }
    }

    /// Sum of the stores' distinct chunks and rows.
    public var chunks: Int { stores.reduce(0) { $0 + $1.chunks } }
    public var rows: Int { stores.reduce(0) { $0 + $1.rows } }
    /// Whether anything was damaged: a malformed request or a chunk that did not decode.
    public var hasErrors: Bool { !sourceErrors.isEmpty || stores.contains { $0.decodeErrors > 0 } || server.errors > 0 }

    private static let kinds = ["SetStoreInfo", "ArrowMsg", "BlueprintActivationCommand"]
    private var seconds: Double { Double(server.uptimeNanoseconds) / 1e9 }
    private func perSecond(_ n: UInt64) -> Double { seconds > 0 ? Double(n) / seconds : 0 }
    private static func ms(_ ns: UInt64) -> JSONValue { .fixed(Double(ns) / 1e6, digits: 3) }

    /// One JSON document:
    /// ```
    /// {"schema_version": 1, "url": "rerun+http://127.0.0.1:9876/proxy", "synchronous": false,
    ///  "server": {"connections": N, "calls": N, "requests": N, "bytes": N, "errors": N, "tables": N,
    ///             "readers_dropped": N, "uptime_seconds": X},
    ///  "messages": {"total": N, "SetStoreInfo": N, "ArrowMsg": N, "BlueprintActivationCommand": N},
    ///  "chunks": N, "rows": N,
    ///  "stores": [{"kind", "application_id", "recording_id", "chunks", "rows", "bytes", "chunks_in_store",
    ///              "duplicates", "decode_errors", "messages"}...],
    ///  "errors": [{"source", "offset", "message"}...],
    ///  "latency_ms": {"p50": X, "p99": X, "max": X},
    ///  "throughput": {"messages_per_second": X, "megabytes_per_second": X},
    ///  "backpressure_blocked_seconds": X,
    ///  "saved": {"path", "messages", "chunks", "rows", "bytes", "skipped", "error"},   (with --save only)
    ///  "timing": {"first_request_unix_ns": N, "last_output_unix_ns": N, "peak_rss_bytes": N}}   (when measured)
    /// ```
    /// (`offset` of an error is the request's index in its call.)
    public var json: String {
        var messages: JSONObject = ["total": .uint(messagesByKind.values.reduce(0, +))]
        for k in Self.kinds { messages[k] = .uint(messagesByKind[k] ?? 0) }
        var document: JSONObject = [
            "schema_version": .int(Int64(Self.schemaVersion)),
            "url": .string(url),
            "synchronous": .bool(synchronous),
            "server": .object([
                "connections": .int(Int64(server.connections.count)), "calls": .int(Int64(server.calls)),
                "requests": .uint(server.messages), "bytes": .uint(server.bytes), "errors": .uint(server.errors),
                "tables": .uint(server.tables), "readers_dropped": .uint(server.droppedReaders),
                "uptime_seconds": .fixed(seconds, digits: 3),
            ]),
            "messages": .object(messages),
            "chunks": .int(Int64(chunks)),
            "rows": .int(Int64(rows)),
            "stores": .array(stores.map(\.json)),
            "errors": .array(
                sourceErrors.map { e in
                    .object([
                        "source": .string(e.source), "offset": .uint(e.error.offset), "message": .string(e.error.message),
                    ])
                }),
            "latency_ms": .object([
                "p50": Self.ms(latency.p50Nanoseconds), "p99": Self.ms(latency.p99Nanoseconds),
                "max": Self.ms(latency.maxNanoseconds),
            ]),
            "throughput": .object([
                "messages_per_second": .fixed(perSecond(server.messages), digits: 1),
                "megabytes_per_second": .fixed(perSecond(server.bytes) / 1e6, digits: 3),
            ]),
            "backpressure_blocked_seconds": .fixed(Double(blockedNanoseconds) / 1e9, digits: 3),
        ]
        if let saved {
            document["saved"] = .object([
                "path": .string(saved.path), "messages": .int(Int64(saved.messages)),
                "chunks": .int(Int64(saved.chunks)), "rows": .int(Int64(saved.rows)), "bytes": .uint(saved.bytes),
                "skipped": .int(Int64(saved.skipped)), "error": saved.failure.map { .string($0) } ?? .null,
            ])
        }
        if let timing {
            document["timing"] = .object([
                "first_request_unix_ns": .uint(timing.firstRequestUnixNanoseconds),
                "last_output_unix_ns": .uint(timing.lastOutputUnixNanoseconds),
                "peak_rss_bytes": .uint(timing.peakRSSBytes),
            ])
        }
        return document.serialized(.document)
    }

    /// A human-readable summary (several lines, no trailing newline).
    public var text: String {
        var lines: [String] = []
        lines.append(
            "served \(url) for \(JSONText.fixed(seconds, digits: 1)) s: \(server.connections.count) connections, "
                + "\(server.calls) calls, \(server.messages) requests (\(server.bytes) bytes), \(server.errors) bad")
        let kinds = Self.kinds.map { "\(messagesByKind[$0] ?? 0) \($0)" }.joined(separator: ", ")
        lines.append("messages: \(messagesByKind.values.reduce(0, +)) (\(kinds))")
        lines.append("chunks: \(chunks), rows: \(rows), stores: \(stores.count)")
        lines += ReplayStoreReport.table(stores, decodeErrorColumn: true)
        for e in sourceErrors { lines.append("  error: \(e.source): \(e.error.message)") }
        lines.append(
            "\(JSONText.fixed(perSecond(server.messages), digits: 1)) msg/s, "
                + "\(JSONText.fixed(perSecond(server.bytes) / 1e6, digits: 3)) MB/s; latency p50 "
                + "\(JSONText.fixed(Double(latency.p50Nanoseconds) / 1e6, digits: 3)) ms, p99 "
                + "\(JSONText.fixed(Double(latency.p99Nanoseconds) / 1e6, digits: 3)) ms; blocked on backpressure "
                + "\(JSONText.fixed(Double(blockedNanoseconds) / 1e9, digits: 3)) s"
                + (synchronous ? " (synchronous build)" : ""))
        if let saved {
            if let failure = saved.failure {
                lines.append("not saved to \(saved.path): \(failure)")
            } else {
                lines.append(
                    "saved \(saved.messages) messages (\(saved.chunks) chunks, \(saved.rows) rows, \(saved.bytes) bytes) "
                        + "to \(saved.path)" + (saved.skipped > 0 ? "; \(saved.skipped) undecodable chunks left out" : ""))
            }
        }
        return lines.joined(separator: "\n")
    }
}

extension IngestServer {
    /// The summary of what the server received and its hub holds now. `sourceErrors` are the hub's
    /// per-source errors the caller polled (``Ingestion/StoreHub/pollSourceError()``: polling takes
    /// them, so the caller decides who sees them).
    public func report(sourceErrors: [SourceErrorItem], saved: ServeReport.Saved? = nil) -> ServeReport {
        let hubStats = hub.statistics
        let stores = hubStats.stores.map(ReplayStoreReport.init)
        return ServeReport(
            url: boundAddress?.url ?? "", server: statistics, messagesByKind: messageCounts, stores: stores,
            sourceErrors: sourceErrors, latency: hubStats.latency, blockedNanoseconds: hubStats.producerBlockedNanoseconds,
            synchronous: StoreHub.isSynchronous, saved: saved)
    }
}
#endif
