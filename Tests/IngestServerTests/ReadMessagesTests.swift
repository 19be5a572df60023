#if LIVE_SERVER
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import IngestCore
import IngestServer
import IngestTestSupport
import Ingestion
import Testing

@testable import IngestServer

/// `ReadMessages`, how a viewer reads from a proxy: the messages received so far, then live ones,
/// each `ReadMessagesResponse` carrying the `LogMsg` bytes exactly as a writer sent them.
@Suite("ReadMessages fan-out")
struct ReadMessagesTests {
    /// Hands the response's bytes over as they are.
    struct RawDeserializer: MessageDeserializer {
        func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
            serializedMessageBytes.withUnsafeBytes { Array($0) }
        }
    }

    @Test func aReaderGetsTheHistoryThenLiveMessagesByteForByte() async throws {
        let messages = try MalformedRequestTests.fixtureMessages("scalars_sequence.rrd")
        // `WriteMessagesRequest { log_msg = 1 }` and `ReadMessagesResponse { log_msg = 1 }` are encoded alike.
        let requests = messages.map { MalformedRequestTests.request(kind: $0.kind, payload: $0.payload) }
        try #require(requests.count >= 4)
        let half = requests.count / 2
        let hub = StoreHub()
        let server = IngestServer(hub: hub)
        let port = try await server.start(host: "127.0.0.1", port: 0).port
        #expect((try? await MalformedRequestTests.call(port: port, Array(requests[..<half])).get()) != nil)

        let total = requests.count
        let reader = Task {
            try await withGRPCClient(
                transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
            ) { client in
                try await client.serverStreaming(
                    request: ClientRequest(message: Rerun_SdkComms_V1alpha1_ReadMessagesRequest()),
                    descriptor: Rerun_SdkComms_V1alpha1_MessageProxyService.Method.ReadMessages.descriptor,
                    serializer: ProtobufSerializer<Rerun_SdkComms_V1alpha1_ReadMessagesRequest>(),
                    deserializer: RawDeserializer(), options: .defaults
                ) { response in
                    var got: [[UInt8]] = []
                    for try await message in response.messages {
                        got.append(message)
                        if got.count == total { break }
                    }
                    return got
                }
            }
        }
        #expect(await eventually(timeout: .seconds(10)) { server.statistics.openReaders == 1 })
        #expect((try? await MalformedRequestTests.call(port: port, Array(requests[half...])).get()) != nil)
        let got = try await reader.value
        #expect(got == requests)
        await server.stop(drain: true)
        hub.shutdown(drain: false)
    }
}
#endif
