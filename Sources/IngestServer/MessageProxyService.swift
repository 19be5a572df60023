#if LIVE_SERVER
import GRPCCore
import GRPCProtobuf
import IngestCore
import Ingestion
import RRD
import Synchronization

typealias ProxyService = Rerun_SdkComms_V1alpha1_MessageProxyService

/// What every call of a server shares: the hub, the registry, the fan-outs, how the server stops.
final class ServerCore: Sendable {
    let hub: StoreHub
    let configuration: IngestServer.Configuration
    let registry = ConnectionRegistry()
    /// The `LogMsg` bytes received, for `ReadMessages`.
    let messages: FanOut<ByteSlice>
    /// The tables received, for `ReadTables`.
    let tables: FanOut<Rerun_SdkComms_V1alpha1_ReadTablesResponse>
    /// Messages received by kind: SetStoreInfo, ArrowMsg, BlueprintActivationCommand.
    let setStoreInfos = Atomic<UInt64>(0)
    let arrowMsgs = Atomic<UInt64>(0)
    let blueprintCommands = Atomic<UInt64>(0)
    /// Wall-clock time of the first `WriteMessages` request (0: none yet).
    let firstRequestUnixNanoseconds = Atomic<UInt64>(0)
    /// Set by ``IngestServer/stop(drain:gracePeriod:)``: whether open calls keep what they received.
    private let stopping = Locked<Bool?>(nil)

    /// What every call's reading thread shows each decoded message (``IngestServer/init(hub:configuration:messageTap:)``).
    let messageTap: (@Sendable (Message) -> Void)?

    init(hub: StoreHub, configuration: IngestServer.Configuration, messageTap: (@Sendable (Message) -> Void)?) {
        self.hub = hub
        self.configuration = configuration
        self.messageTap = messageTap
        messages = FanOut(
            limits: .init(historyBytes: configuration.historyBytes, readerBytes: configuration.readerBufferBytes))
        tables = FanOut(
            limits: .init(historyBytes: configuration.historyBytes, readerBytes: configuration.readerBufferBytes))
    }

    /// `nil` while running; once stopping, whether open calls drain.
    var stopDrains: Bool? {
        get { stopping.withLock { $0 } }
        set { stopping.withLock { $0 = newValue } }
    }
}

/// `rerun.sdk_comms.v1alpha1.MessageProxyService`, registered by hand rather than through the
/// generated `StreamingServiceProtocol`: `WriteMessages` takes its requests apart with
/// ``WriteMessagesDeserializer`` (the payloads stay slices of one copy of the request, decoded by
/// the engine's own decoder, as a file's are) and `ReadMessages` writes the received `LogMsg` bytes
/// back as they came (``ReadMessagesSerializer``). The method descriptors and the table messages
/// are the generated ones.
struct MessageProxyService: RegistrableRPCService {
    let core: ServerCore

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        let core = core
        router.registerHandler(
            forMethod: ProxyService.Method.WriteMessages.descriptor,
            deserializer: WriteMessagesDeserializer(),
            serializer: ProtobufSerializer<Rerun_SdkComms_V1alpha1_WriteMessagesResponse>()
        ) { request, context in
            try await core.writeMessages(request, context: context)
        }
        router.registerHandler(
            forMethod: ProxyService.Method.ReadMessages.descriptor,
            deserializer: ProtobufDeserializer<Rerun_SdkComms_V1alpha1_ReadMessagesRequest>(),
            serializer: ReadMessagesSerializer()
        ) { request, context in
            try await core.read(core.messages, context: context, what: "messages")
        }
        router.registerHandler(
            forMethod: ProxyService.Method.WriteTable.descriptor,
            deserializer: ProtobufDeserializer<Rerun_SdkComms_V1alpha1_WriteTableRequest>(),
            serializer: ProtobufSerializer<Rerun_SdkComms_V1alpha1_WriteTableResponse>()
        ) { request, context in
            try await core.writeTable(ServerRequest(stream: request), context: context)
        }
        router.registerHandler(
            forMethod: ProxyService.Method.ReadTables.descriptor,
            deserializer: ProtobufDeserializer<Rerun_SdkComms_V1alpha1_ReadTablesRequest>(),
            serializer: ProtobufSerializer<Rerun_SdkComms_V1alpha1_ReadTablesResponse>()
        ) { request, context in
            try await core.read(core.tables, context: context, what: "tables")
        }
    }
}

extension ServerCore {
    /// Malformed requests one call may send before it is ended with `invalidArgument`.
    static let malformedLimit = 100

    /// One `WriteMessages` call: a live source of the pipeline. Each request's `LogMsg` goes to the
    /// call's ``Ingestion/LiveIngestion`` (and to the `ReadMessages` history and readers); damage goes
    /// into the same channel, in order, so it reaches the hub's per-source error stream after the
    /// messages sent before it. The response is sent once everything received is admitted to its
    /// store.
    func writeMessages(
        _ request: StreamingServerRequest<ReceivedLogMsg>, context: ServerContext
    ) async throws -> StreamingServerResponse<Rerun_SdkComms_V1alpha1_WriteMessagesResponse> {
        if stopDrains != nil { throw RPCError(code: .unavailable, message: "the server is stopping") }
        let peer = context.remotePeer
        let record = registry.openCall(peer: peer)
        defer { registry.closeCall(record, peer: peer) }
        let live = hub.startLiveIngestion(label: record.label, limits: configuration.callBuffer, tap: messageTap)
        record.ingestion.withLock { $0 = live }

        var index: UInt64 = 0
        var malformed = 0
        var failure: RPCError?
        var transportError: (any Error)?
        do {
            receiving: for try await received in request.messages {
                record.noteRequest(bytes: received.wireBytes)
                if index == 0, firstRequestUnixNanoseconds.load(ordering: .relaxed) == 0 {
                    _ = firstRequestUnixNanoseconds.compareExchange(
                        expected: 0, desired: ProxySender.unixNanoseconds(), ordering: .relaxed)
                }
                defer { index += 1 }
                switch received.content {
                case .message(let logMsg, let bytes):
                    switch logMsg.kind {
                    case .arrowMsg: arrowMsgs.add(1, ordering: .relaxed)
                    case .setStoreInfo: setStoreInfos.add(1, ordering: .relaxed)
                    default: blueprintCommands.add(1, ordering: .relaxed)
                    }
                    messages.publish(bytes, bytes: bytes.count, pinned: logMsg.kind != .arrowMsg)
                    switch await live.channel.send(kind: logMsg.kind!, payload: logMsg.payload) {
                    case .accepted:
                        continue receiving
                    case .closed:
                        failure = RPCError(
                            code: .unavailable,
                            message: "the server stopped taking messages (its store hub is shut down)")
                        break receiving
                    case .cancelled:
                        break receiving
                    }
                case .empty:
                    record.errors.add(1, ordering: .relaxed)
                    live.channel.report(
                        RRDError(
                            .unknownMessageKind, source: record.label, offset: index,
                            "WriteMessagesRequest #\(index) carries no LogMsg message (an empty oneof)"))
                case .malformed(var error):
                    record.errors.add(1, ordering: .relaxed)
                    error.source = record.label
                    error.offset = index
                    error.message = "WriteMessagesRequest #\(index): " + error.message
                    live.channel.report(error)
                    malformed += 1
                    if malformed >= Self.malformedLimit {
                        failure = RPCError(
                            code: .invalidArgument,
                            message: "\(malformed) malformed WriteMessagesRequests; the last: \(error.message)")
                        break receiving
                    }
                }
            }
        } catch {
            // The call ended under us: the client went away (reset, killed), or the server stops.
            transportError = error
        }
        if stopDrains == false {
            live.cancel()
        } else {
            live.channel.finish()
            _ = await live.result()
            if failure == nil, transportError == nil, hub.isShutDown {
                failure = RPCError(code: .unavailable, message: "the server's store hub shut down during the call")
            }
        }
        if let failure { throw failure }
        if let transportError {
            throw RPCError(code: .cancelled, message: "the call ended before its stream did", cause: transportError)
        }
        return StreamingServerResponse(single: ServerResponse(message: Rerun_SdkComms_V1alpha1_WriteMessagesResponse()))
    }

    /// A `ReadMessages` or `ReadTables` call: the history, then live items until the server stops
    /// (or the reader falls behind by more than ``IngestServer/Configuration/readerBufferBytes``: it
    /// is dropped with `resourceExhausted`).
    func read<Item: Sendable>(
        _ fanOut: FanOut<Item>, context: ServerContext, what: String
    ) async throws -> StreamingServerResponse<Item> {
        guard stopDrains == nil, let (history, reader) = fanOut.subscribe() else {
            throw RPCError(code: .unavailable, message: "the server is stopping")
        }
        let peer = context.remotePeer
        registry.readerOpened(peer: peer)
        let limit = configuration.readerBufferBytes
        return StreamingServerResponse(of: Item.self) { writer in
            defer {
                fanOut.unsubscribe(reader)
                self.registry.readerClosed(peer: peer)
            }
            for entry in history { try await writer.write(entry.item) }
            while true {
                switch await reader.next() {
                case .item(let item):
                    try await writer.write(item)
                case .dropped:
                    throw RPCError(
                        code: .resourceExhausted,
                        message: "this reader fell more than \(limit) bytes of \(what) behind the writers and was dropped")
                case .ended:
                    return [:]
                }
            }
        }
    }

    /// `WriteTable`: the table is kept for `ReadTables` readers (history and live, bounded like the
    /// messages'); tables are not chunks of a recording, so no store takes them.
    func writeTable(
        _ request: ServerRequest<Rerun_SdkComms_V1alpha1_WriteTableRequest>, context: ServerContext
    ) async throws -> StreamingServerResponse<Rerun_SdkComms_V1alpha1_WriteTableResponse> {
        if stopDrains != nil { throw RPCError(code: .unavailable, message: "the server is stopping") }
        var table = Rerun_SdkComms_V1alpha1_ReadTablesResponse()
        table.id = request.message.id
        table.data = request.message.data
        tables.publish(table, bytes: request.message.data.payload.count, pinned: false)
        return StreamingServerResponse(single: ServerResponse(message: Rerun_SdkComms_V1alpha1_WriteTableResponse()))
    }
}
#endif
