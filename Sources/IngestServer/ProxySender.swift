#if LIVE_SERVER
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import IngestCore
import RRD

#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `rerun+http://HOST:PORT/proxy` address, as `rr.connect_grpc` takes it: HOST:PORT is dialled with
/// plaintext HTTP/2; `/proxy` names the message proxy and is no gRPC path.
public struct ProxyURL: Sendable, Hashable, CustomStringConvertible {
    /// The host (an IPv6 address without its brackets) and port.
    public var host: String
    public var port: Int

    /// Why a URL was not taken.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        /// What is wrong, for people.
        public var message: String
        public var description: String { message }
    }

    /// The SDK's default port.
    public static let defaultPort = 9876

    /// A proxy at `host` (`localhost` is 127.0.0.1) and `port`.
    public init(host: String, port: Int = ProxyURL.defaultPort) {
        self.host = host == "localhost" ? "127.0.0.1" : host
        self.port = port
    }

    /// Parses `rerun+http://HOST[:PORT][/proxy]` (IPv6 hosts in brackets; PORT 9876 when left out).
    /// - Throws: ``ParseError`` for another scheme (`rerun+https://` and `rerun://` need TLS, which
    ///   is not supported), another path, or a bad host or port.
    public init(parsing text: String) throws(ParseError) {
        let scheme = "rerun+http://"
        guard text.hasPrefix(scheme) else {
            if text.hasPrefix("rerun+https://") || text.hasPrefix("rerun://") {
                throw ParseError(message: "\(text): TLS (rerun+https://, rerun://) is not supported; use rerun+http://")
            }
            throw ParseError(message: "\(text): not a proxy URL; expected rerun+http://HOST:PORT/proxy")
        }
        var rest = Substring(text.dropFirst(scheme.count))
        var path = Substring("")
        if let slash = rest.firstIndex(of: "/") {
            path = rest[slash...]
            rest = rest[..<slash]
        }
        guard path.isEmpty || path == "/proxy" || path == "/proxy/" else {
            throw ParseError(message: "\(text): the path must be /proxy (the SDK's message proxy), not \(path)")
        }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw ParseError(message: "\(text): an IPv6 host needs its closing ]")
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw ParseError(message: "\(text): expected :PORT after ]") }
                portText = after.dropFirst()
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw ParseError(message: "\(text): no host") }
        var port = Self.defaultPort
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else {
                throw ParseError(message: "\(text): the port must be a number in 1...65535, not '\(portText)'")
            }
            port = p
        }
        self.init(host: String(host), port: port)
    }

    /// `rerun+http://HOST:PORT/proxy`.
    public var description: String { "rerun+http://\(host.contains(":") ? "[\(host)]" : host):\(port)/proxy" }
}

/// The messages of one store of a recording, in stream order: what one `WriteMessages` call sends.
public struct ProxyStream: Sendable {
    /// The store (every message of the stream belongs to it).
    public var storeId: StoreId
    /// Its messages as framed in the recording (`SetStoreInfo`, `ArrowMsg`, `BlueprintActivationCommand`).
    public var messages: [RawMessage]
    /// Sum of the messages' payload sizes.
    public var payloadBytes: Int { messages.reduce(0) { $0 + $1.payload.count } }

    /// A stream of `messages` of `storeId`.
    public init(storeId: StoreId, messages: [RawMessage]) {
        self.storeId = storeId
        self.messages = messages
    }

    /// Splits an RRD stream held in memory into one stream per store, in order of first appearance,
    /// each in stream order; End messages (and stream headers and footers) are left out, as the SDK
    /// sends none over gRPC. Payloads are slices of `bytes`, not copies.
    /// - Returns: the streams and the damage found (the messages that frame are kept).
    public static func split(_ bytes: ByteSlice, source: String, options: ReaderOptions = ReaderOptions())
        -> (streams: [ProxyStream], errors: [RRDError])
    {
        var decoder = StreamDecoder(source: source, options: options)
        var streams: [ProxyStream] = []
        var index: [StoreId: Int] = [:]
        var errors: [RRDError] = []
        func sink(_ event: consuming StreamEvent) {
            switch event {
            case .message(let m):
                guard m.message.kind != .end, let storeId = m.message.storeId else { return }
                // The payload follows the 16-byte header; offsets are positions in `bytes` (fed from 0).
                let start = Int(m.offset) + 16
                let raw = RawMessage(
                    kind: m.message.kind, offset: m.offset, payload: bytes.slice(start..<(start + Int(m.length))))
                if let i = index[storeId] {
                    streams[i].messages.append(raw)
                } else {
                    index[storeId] = streams.count
                    streams.append(ProxyStream(storeId: storeId, messages: [raw]))
                }
            case .error(let e):
                errors.append(e)
            default:
                break
            }
        }
        decoder.feed(bytes, sink)
        decoder.finish(sink)
        return (streams, errors)
    }
}

/// A gRPC client of a message proxy (`ingest serve`, `rerun --serve-grpc`, a viewer): sends streams
/// of recorded messages as the Rerun SDK streams a recording, one `WriteMessages` call per stream on
/// a connection of its own, each request one `LogMsg` around a message's payload as it was framed
/// (no re-encoding: one copy, into the request's bytes).
///
/// ```swift
/// let sender = ProxySender(url: try ProxyURL(parsing: "rerun+http://127.0.0.1:9876/proxy"))
/// let report = await sender.send(stream)       // one call; report.failure == nil when accepted
/// ```
public struct ProxySender: Sendable {
    /// Where the calls go.
    public var url: ProxyURL
    /// HTTP/2 flow-control window the client asks for, in bytes.
    public var windowSize: Int
    /// Largest request sent, in bytes (a bigger message ends its call with an error).
    public var maxMessageSize: Int

    /// A sender to `url`.
    public init(url: ProxyURL, windowSize: Int = 4 << 20, maxMessageSize: Int = 1 << 30) {
        self.url = url
        self.windowSize = windowSize
        self.maxMessageSize = maxMessageSize
    }

    /// What one call did.
    public struct CallReport: Sendable, Hashable {
        /// The stream's store.
        public var storeId: StoreId
        /// Requests written (the stream's messages, unless the call failed first) and their bytes on
        /// the wire (protobuf encoding of each `WriteMessagesRequest`).
        public var messages: Int
        public var bytes: Int
        /// Wall-clock time (`CLOCK_REALTIME`, ns since 1970) when the first request was handed to
        /// the transport, and when the call ended (the response or the failure arrived).
        public var firstSendUnixNanoseconds: UInt64
        public var endedUnixNanoseconds: UInt64
        /// Why the call failed (a status other than OK, or no connection); nil: the server accepted it.
        public var failure: String?
    }

    /// Sends `stream` in one `WriteMessages` call and waits for the server's answer.
    public func send(_ stream: ProxyStream) async -> CallReport {
        var report = CallReport(
            storeId: stream.storeId, messages: 0, bytes: 0, firstSendUnixNanoseconds: 0, endedUnixNanoseconds: 0,
            failure: nil)
        let counts = Locked((messages: 0, bytes: 0, first: UInt64(0)))
        let host = url.host
        let port = url.port
        let window = windowSize
        var options = CallOptions.defaults
        options.maxRequestMessageBytes = maxMessageSize
        options.waitForReady = false
        do {
            let config = HTTP2ClientTransport.Posix.Config.defaults { c in
                c.http2.targetWindowSize = window
                // Fail a call soon when nothing listens, rather than retrying for minutes.
                c.backoff = .init(initial: .milliseconds(200), max: .seconds(1), multiplier: 1.6, jitter: 0.2)
            }
            let transport: HTTP2ClientTransport.Posix
            if host.contains(":") {
                transport = try HTTP2ClientTransport.Posix(
                    target: .ipv6(address: host, port: port), transportSecurity: .plaintext, config: config)
            } else if host.allSatisfy({ $0 == "." || $0.isNumber }) {
                transport = try HTTP2ClientTransport.Posix(
                    target: .ipv4(address: host, port: port), transportSecurity: .plaintext, config: config)
            } else {
                transport = try HTTP2ClientTransport.Posix(
                    target: .dns(host: host, port: port), transportSecurity: .plaintext, config: config)
            }
            let result: Result<Void, RPCError> = try await withGRPCClient(transport: transport) { client in
                try await client.clientStreaming(
                    request: StreamingClientRequest(of: RawMessage.self) { writer in
                        for message in stream.messages {
                            counts.withLock { c in
                                if c.first == 0 { c.first = Self.unixNanoseconds() }
                            }
                            try await writer.write(message)
                            counts.withLock { c in
                                c.messages += 1
                                c.bytes += WriteMessagesRequestSerializer.encodedSize(of: message)
                            }
                        }
                    },
                    descriptor: ProxyService.Method.WriteMessages.descriptor,
                    serializer: WriteMessagesRequestSerializer(),
                    deserializer: ProtobufDeserializer<Rerun_SdkComms_V1alpha1_WriteMessagesResponse>(),
                    options: options
                ) { response in
                    response.accepted.map { _ in () }
                }
            }
            if case .failure(let error) = result { report.failure = Self.describe(error) }
        } catch let error as RPCError {
            report.failure = Self.describe(error)
        } catch {
            report.failure = "\(error)"
        }
        report.endedUnixNanoseconds = Self.unixNanoseconds()
        let c = counts.withLock { $0 }
        report.messages = c.messages
        report.bytes = c.bytes
        report.firstSendUnixNanoseconds = c.first == 0 ? report.endedUnixNanoseconds : c.first
        return report
    }

    /// Sends every stream at once, one call each (as several SDK recording streams would).
    /// - Returns: the calls' reports, in the order of `streams`.
    public func send(_ streams: [ProxyStream]) async -> [CallReport] {
        await withTaskGroup(of: (Int, CallReport).self) { group in
            for (i, stream) in streams.enumerated() {
                group.addTask { (i, await self.send(stream)) }
            }
            var reports = [CallReport?](repeating: nil, count: streams.count)
            for await (i, report) in group { reports[i] = report }
            return reports.map { $0! }
        }
    }

    private static func describe(_ error: RPCError) -> String {
        var text = "\(error.code): \(error.message)"
        if let cause = error.cause { text += " (\(cause))" }
        return text
    }

    /// `CLOCK_REALTIME` in ns: comparable with another process's clock on the same machine (a
    /// benchmark sets a sender's first send against a server's last stored message).
    public static func unixNanoseconds() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }
}

/// Writes `WriteMessagesRequest { LogMsg log_msg = 1 { <kind's field> = payload } }` around a
/// message's payload as it was framed: two length-delimited headers, then the payload's bytes.
struct WriteMessagesRequestSerializer: MessageSerializer {
    /// The `LogMsg` field of a kind: its header's kind number (SetStoreInfo 1, ArrowMsg 2,
    /// BlueprintActivationCommand 3).
    static func headers(of message: RawMessage) -> (request: [UInt8], logMsg: [UInt8]) {
        let field = message.kind.rawValue
        let logMsg = varint((field << 3) | 2) + varint(UInt64(message.payload.count))
        let request = [UInt8(0x0A)] + varint(UInt64(logMsg.count + message.payload.count))
        return (request, logMsg)
    }

    static func encodedSize(of message: RawMessage) -> Int {
        let (a, b) = headers(of: message)
        return a.count + b.count + message.payload.count
    }

    private static func varint(_ value: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        out.appendVarint(value)
        return out
    }

    func serialize<Bytes: GRPCContiguousBytes>(_ message: RawMessage) throws -> Bytes {
        let (request, logMsg) = Self.headers(of: message)
        let head = request + logMsg
        var bytes = Bytes(repeating: 0, count: head.count + message.payload.count)
        bytes.withUnsafeMutableBytes { dst in
            head.withUnsafeBytes { dst.copyMemory(from: $0) }
            message.payload.withUnsafeBytes { src in
                if !src.isEmpty {
                    (dst.baseAddress! + head.count).copyMemory(from: src.baseAddress!, byteCount: src.count)
                }
            }
        }
        return bytes
    }
}
#endif
