import IngestCore

/// Decodes the payloads of one stream's messages, in order, with what earlier messages of the
/// stream tell about later ones: the decoding an RRD input (``StreamDecoder``) and a live stream of
/// `LogMsg`s (a gRPC `WriteMessages` call, which carries the same messages without the RRD framing)
/// share, so both give the same ``Message`` values for the same bytes.
///
/// What it keeps across messages:
/// - Store ids: every message of a store carries the same ``/IngestCore/StoreId`` value (the same
///   box), so ids compare by pointer downstream; an `ArrowMsg` whose store-id field has the bytes of
///   the previous one's is not decoded again.
/// - Legacy ids: a message whose `StoreId` lacks the application id (0.23/0.24) gets the one of its
///   store's `SetStoreInfo` (``LegacyStoreIds``), whatever its kind.
///
/// ```swift
/// var payloads = MessagePayloadDecoder(source: "grpc call 3")
/// let message = try payloads.decode(kind: .arrowMsg, payload: bytes, offset: 17)
/// ```
public struct MessagePayloadDecoder {
    /// The input's name, copied into every error.
    public let source: String
    /// Application ids learnt from SetStoreInfo: the `ArrowMsg`s and activations of 0.23/0.24
    /// recordings lack theirs.
    private var legacyIds = LegacyStoreIds()
    /// The store id of the last `ArrowMsg` or `SetStoreInfo` (`storeIdMemo.id`): the next `ArrowMsg`'s
    /// id is this very value (the same box) when equal, so ids compare by pointer downstream; with
    /// the field bytes it came from, when it came from an `ArrowMsg`.
    private var storeIdMemo = MessageDecoding.StoreIdMemo()
    /// One value (box) per store id met so far: every message of a store carries the same one.
    private var canonicalIds = Set<StoreId>()
    /// The last legacy `ArrowMsg` id (no application id) and the id it was completed to.
    private var lastCompleted: (raw: StoreId, completed: StoreId)?

    /// A decoder for the messages of the input `source` (its name in errors).
    public init(source: String) {
        self.source = source
    }

    /// Decodes the payload of the next message of the stream.
    /// - Parameters:
    ///   - kind: the message's kind.
    ///   - payload: its protobuf bytes; an `ArrowMsg`'s Arrow payload becomes a sub-slice (no copy).
    ///   - offset: where the message is in the input (an RRD message header's offset, a call's
    ///     message index), for errors.
    /// - Throws: ``RRDError/Code/badProtobuf`` with the position inside the payload in the text.
    public mutating func decode(kind: MessageKind, payload: ByteSlice, offset: UInt64) throws(RRDError) -> Message {
        switch kind {
        case .arrowMsg:
            let decoded: (message: ArrowMsg, hasApplicationId: Bool, decodedStoreIdField: Range<Int>?)
            do {
                decoded = try MessageDecoding.decodeArrowMsg(payload, memo: &storeIdMemo)
            } catch {
                throw RRDError(
                    .badProtobuf, source: source, offset: offset,
                    "ArrowMsg payload (\(payload.count) bytes) is not a valid protobuf message: \(error.message) at payload byte \(error.position)"
                )
            }
            var msg = decoded.message
            let hasApplicationId = decoded.hasApplicationId
            // The decoder returns the previous id itself when equal; otherwise make it the
            // store's one value, so ids compare by pointer downstream.
            if !msg.storeId.isIdentical(to: storeIdMemo.id) { msg.storeId = canonical(msg.storeId) }
            if let decodedField = decoded.decodedStoreIdField {
                storeIdMemo.bytes.removeAll(keepingCapacity: true)
                payload.withUnsafeBytes { storeIdMemo.bytes.append(contentsOf: $0[decodedField]) }
                storeIdMemo.isValid = true
                storeIdMemo.hasApplicationId = hasApplicationId
            } else if !msg.storeId.isIdentical(to: storeIdMemo.id) {
                storeIdMemo.isValid = false
            }
            storeIdMemo.id = msg.storeId
            if !hasApplicationId { msg.storeId = completed(msg.storeId) }
            return .arrowMsg(msg)
        case .end:
            return .end(footerPayload: payload)
        case .blueprintActivationCommand:
            var decoded: (command: BlueprintActivationCommand, hasApplicationId: Bool)
            do {
                decoded = try payload.withUnsafeBytes { (b) throws(ProtobufError) in
                    var r = ProtobufReader(b)
                    return try MessageDecoding.decodeBlueprintActivationCommand(&r)
                }
            } catch {
                throw RRDError(
                    .badProtobuf, source: source, offset: offset,
                    "BlueprintActivationCommand payload (\(payload.count) bytes) is not a valid protobuf message: \(error.message) at payload byte \(error.position)"
                )
            }
            decoded.command.blueprintId =
                decoded.hasApplicationId
                ? canonical(decoded.command.blueprintId) : completed(decoded.command.blueprintId)
            return .blueprintActivationCommand(decoded.command)
        case .setStoreInfo:
            guard case .setStoreInfo(var info) = try MessageDecoding.decode(
                kind: kind, payload: payload, source: source, offset: offset)
            else { preconditionFailure("MessageDecoding.decode(kind: .setStoreInfo) gave another kind") }
            let id = canonical(info.info.storeId)
            info.info.storeId = id
            if !id.isIdentical(to: storeIdMemo.id) {
                storeIdMemo.id = id
                storeIdMemo.isValid = false
            }
            if !id.applicationId.isEmpty {
                legacyIds.learn(from: info.info)
                lastCompleted = nil
            }
            return .setStoreInfo(info)
        }
    }

    /// The value (box) every message of the store `id` carries. Only a speed-up (equal ids compare
    /// equal either way), so an input with very many store ids just starts the set over.
    private mutating func canonical(_ id: StoreId) -> StoreId {
        if canonicalIds.count >= Self.maxCanonicalIds { canonicalIds.removeAll(keepingCapacity: true) }
        return canonicalIds.insert(id).memberAfterInsert
    }

    /// Bound of ``canonicalIds`` (inputs hold a handful of stores; a fuzzed one may claim millions).
    static let maxCanonicalIds = 1 << 12

    /// The id of a message without an application id (0.23/0.24), completed from the `SetStoreInfo`
    /// of its store (``LegacyStoreIds``), as the store's one value; as it is when no such
    /// `SetStoreInfo` came before it.
    private mutating func completed(_ raw: StoreId) -> StoreId {
        if let last = lastCompleted, last.raw.isIdentical(to: raw) || last.raw == raw { return last.completed }
        guard let full = legacyIds.complete(raw) else { return canonical(raw) }
        let id = canonical(full)
        lastCompleted = (raw, id)
        return id
    }
}
