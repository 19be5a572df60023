#if LIVE_SERVER
import FixtureSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import IngestCore
import IngestServer
import Ingestion
import RRD
import SwiftProtobuf
import Testing

@testable import IngestServer

/// Requests the SDK never sends, from a gRPC client of our own (the generated method descriptor, a
/// serializer that sends bytes as they are): an empty request, a `LogMsg` with no member, bytes that
/// are no protobuf, an `ArrowMsg` whose payload is not LZ4/Arrow. Each is an error in its place (a
/// per-source error with the request's index, or the store's ordered error output) or ends the call
/// with a clear status; the server goes on serving.
@Suite("Malformed WriteMessages requests")
struct MalformedRequestTests {
    /// Sends byte strings as they are (a request encoded by hand, or not encoded at all).
    struct RawSerializer: MessageSerializer {
        func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
    }

    static func varint(_ value: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.appendVarint(UInt64(value))
        return out
    }

    /// `WriteMessagesRequest { LogMsg log_msg = 1 }` around a `LogMsg` whose member `kind` is `payload`.
    static func request(kind: MessageKind, payload: [UInt8]) -> [UInt8] {
        let logMsg = [UInt8((kind.rawValue << 3) | 2)] + varint(payload.count) + payload
        return [0x0A] + varint(logMsg.count) + logMsg
    }

    /// The first messages of a fixture (SetStoreInfo, then ArrowMsgs) as (kind, payload bytes).
    static func fixtureMessages(_ name: String) throws -> [(kind: MessageKind, payload: [UInt8], chunk: ChunkId?)] {
        let path = Fixtures.rrdPath(name)
        let bytes = try Fixtures.bytes(URL(fileURLWithPath: path))
        var reader = try RRDReader(path: path)
        var out: [(MessageKind, [UInt8], ChunkId?)] = []
        while let event = reader.next() {
            guard case .message(let m) = event, m.message.kind != .end else { continue }
            let start = Int(m.offset) + 16
            var chunk: ChunkId?
            if case .arrowMsg(let a) = m.message { chunk = a.chunkId }
            out.append((m.message.kind, Array(bytes[start..<start + Int(m.length)]), chunk))
        }
        return out
    }

    /// One `WriteMessages` call sending `requests`: the status it ended with.
    static func call(port: Int, _ requests: [[UInt8]]) async throws -> Result<Void, RPCError> {
        try await withGRPCClient(
            transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
        ) { client in
            try await client.clientStreaming(
                request: StreamingClientRequest(of: [UInt8].self) { writer in
                    for r in requests { try await writer.write(r) }
                },
                descriptor: Rerun_SdkComms_V1alpha1_MessageProxyService.Method.WriteMessages.descriptor,
                serializer: RawSerializer(),
                deserializer: ProtobufDeserializer<Rerun_SdkComms_V1alpha1_WriteMessagesResponse>(),
                options: .defaults
            ) { response in
                response.accepted.map { _ in () }
            }
        }
    }

    @Test func eachMalformedRequestIsAnErrorInItsPlace() async throws {
        let messages = try Self.fixtureMessages("scalars_sequence.rrd")
        let info = try #require(messages.first { $0.kind == .setStoreInfo })
        let arrows = messages.filter { $0.kind == .arrowMsg }
        try #require(arrows.count >= 2)
        var broken = try Rerun_LogMsg_V1alpha1_ArrowMsg(serializedBytes: arrows[0].payload)
        broken.payload = Data(repeating: 0x55, count: 64)
        broken.chunkID.inc &+= 1  // another chunk than arrows[0]
        let requests: [[UInt8]] = [
            Self.request(kind: .setStoreInfo, payload: info.payload),  // 0
            Self.request(kind: .arrowMsg, payload: arrows[0].payload),  // 1
            [],  // 2: no LogMsg at all
            [0x0A, 0x00],  // 3: a LogMsg with no member
            [0xFF, 0xFF, 0xFF, 0x0F],  // 4: no protobuf
            Self.request(kind: .arrowMsg, payload: try broken.serializedBytes()),  // 5: LZ4 garbage
            Self.request(kind: .arrowMsg, payload: arrows[1].payload),  // 6
        ]
        let hub = StoreHub()
        let server = IngestServer(hub: hub)
        let address = try await server.start(host: "127.0.0.1", port: 0)
        let result = try await Self.call(port: address.port, requests)
        #expect((try? result.get()) != nil, "the call ended with \(result)")
        await server.stop(drain: true)

        let received = outputs(of: hub)
        #expect(received.count == 1)
        let got = try #require(received.values.first)
        #expect(
            got == [
                .info, .chunk(try #require(arrows[0].chunk), rows: got[1].rows), .error,
                .chunk(try #require(arrows[1].chunk), rows: got[3].rows),
            ])
        var sourceErrors: [SourceErrorItem] = []
        while let e = hub.pollSourceError() { sourceErrors.append(e) }
        #expect(sourceErrors.map(\.error.offset) == [2, 3, 4])
        #expect(sourceErrors.map(\.sequence) == [0, 1, 2])
        #expect(sourceErrors.allSatisfy { $0.error.message.hasPrefix("WriteMessagesRequest #") })
        #expect(server.statistics.errors == 3)
        hub.shutdown(drain: false)
    }

    /// A call of nothing but garbage is ended with `invalidArgument` after 100 requests; the next
    /// call (valid) is served as usual.
    @Test func aFloodOfGarbageEndsThatCallOnly() async throws {
        let messages = try Self.fixtureMessages("scalars_sequence.rrd")
        let hub = StoreHub()
        let server = IngestServer(hub: hub)
        let address = try await server.start(host: "127.0.0.1", port: 0)
        let garbage = [[UInt8]](repeating: [0xFF, 0xFF, 0xFF, 0x0F], count: 150)
        let flooded = try await Self.call(port: address.port, garbage)
        guard case .failure(let error) = flooded else {
            Issue.record("150 malformed requests were accepted")
            return
        }
        #expect(error.code == .invalidArgument)
        #expect(error.message.contains("malformed WriteMessagesRequests"))
        let valid = try await Self.call(port: address.port, messages.map { Self.request(kind: $0.kind, payload: $0.payload) })
        #expect((try? valid.get()) != nil)
        await server.stop(drain: true)
        let chunks = outputs(of: hub).values.flatMap { $0 }.filter(\.isChunk)
        #expect(chunks.count == messages.filter { $0.kind == .arrowMsg }.count)
        hub.shutdown(drain: false)
    }
}
#endif
