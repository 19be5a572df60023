import IngestCore

/// `rerun.log_msg.v1alpha1.LogMsg`: one message as a live stream carries it (a gRPC
/// `WriteMessages` request holds one): a oneof of the kinds an RRD message header names, holding
/// the same protobuf payload an `.rrd` file frames. Decode the payload with a
/// ``MessagePayloadDecoder`` to get the ``Message``.
///
/// ```swift
/// let request = ByteSlice(copying: bytes)                      // WriteMessagesRequest { LogMsg log_msg = 1 }
/// let logMsg = try LogMsg.decode(LogMsg.messageField(1, of: request, in: "WriteMessagesRequest"))
/// if let kind = logMsg.kind { message = try payloads.decode(kind: kind, payload: logMsg.payload, offset: i) }
/// ```
public struct LogMsg: Sendable, Hashable {
    /// The kind of the member that is set (`set_store_info` = 1, `arrow_msg` = 2,
    /// `blueprint_activation_command` = 3), or `nil` when none is: an empty oneof.
    public var kind: MessageKind?
    /// The member's protobuf bytes (a slice of the input; a member sent in pieces is merged into a
    /// storage of its own).
    public var payload: ByteSlice

    /// A message of `kind` with `payload`.
    public init(kind: MessageKind?, payload: ByteSlice) {
        self.kind = kind
        self.payload = payload
    }

    /// Decodes the `LogMsg` in `bytes` with protobuf's rules: of the oneof's members the last one
    /// wins, and one that occurs several times in a row is merged (its pieces concatenated: the
    /// merge of serialized protobuf messages); unknown fields are skipped.
    /// - Throws: ``RRDError/Code/badProtobuf`` (source `""`, offset 0: the caller knows the input
    ///   and the position of the message and sets them).
    public static func decode(_ bytes: ByteSlice) throws(RRDError) -> LogMsg {
        var kind: MessageKind?
        var pieces: [Range<Int>] = []
        try walk(bytes, in: "LogMsg") { (field, wire, range) throws(ProtobufError) in
            let member: MessageKind
            switch field {
            case 1: member = .setStoreInfo
            case 2: member = .arrowMsg
            case 3: member = .blueprintActivationCommand
            default: return
            }
            guard wire == .lengthDelimited else {
                throw ProtobufError(range.lowerBound, "LogMsg field \(field) has wire type \(wire), expected length-delimited")
            }
            if member != kind {
                kind = member
                pieces.removeAll(keepingCapacity: true)
            }
            pieces.append(range)
        }
        return LogMsg(kind: kind, payload: merged(pieces, of: bytes))
    }

    /// The bytes of the message field `field` of the message in `bytes` (a wrapper such as
    /// `WriteMessagesRequest { LogMsg log_msg = 1; }`), merged when it occurs several times; `nil`
    /// when it is absent. Other fields are skipped.
    /// - Throws: ``RRDError/Code/badProtobuf`` (source `""`, offset 0).
    public static func messageField(_ field: UInt64, of bytes: ByteSlice, in messageName: String) throws(RRDError)
        -> ByteSlice?
    {
        var pieces: [Range<Int>] = []
        try walk(bytes, in: messageName) { (f, wire, range) throws(ProtobufError) in
            guard f == field else { return }
            guard wire == .lengthDelimited else {
                throw ProtobufError(
                    range.lowerBound, "\(messageName) field \(f) has wire type \(wire), expected length-delimited")
            }
            pieces.append(range)
        }
        return pieces.isEmpty ? nil : merged(pieces, of: bytes)
    }

    /// Calls `body` with each field's number, wire type and (for length-delimited fields) the range
    /// of its bytes, or the range of the tag for others (skipped).
    private static func walk(
        _ bytes: ByteSlice, in messageName: String,
        _ body: (UInt64, WireType, Range<Int>) throws(ProtobufError) -> Void
    ) throws(RRDError) {
        do {
            try bytes.withUnsafeBytes { (b) throws(ProtobufError) in
                var r = ProtobufReader(b)
                while let (field, wire) = try r.readTag() {
                    if wire == .lengthDelimited {
                        try body(field, wire, try r.readLengthDelimited())
                    } else {
                        try body(field, wire, 0..<0)
                        try r.skip(wire, field: field)
                    }
                }
            }
        } catch {
            throw RRDError(
                .badProtobuf, source: "", offset: 0,
                "\(messageName) (\(bytes.count) bytes) is not a valid protobuf message: \(error.message) at byte \(error.position)")
        }
    }

    /// The one piece as a sub-slice (the usual case: no copy), several concatenated into a new storage.
    private static func merged(_ pieces: [Range<Int>], of bytes: ByteSlice) -> ByteSlice {
        if pieces.count == 1 { return bytes.slice(pieces[0]) }
        let total = pieces.reduce(0) { $0 + $1.count }
        let storage = ByteStorage(count: total, alignment: 16) { dst in
            var at = 0
            bytes.withUnsafeBytes { src in
                for p in pieces where !p.isEmpty {
                    dst.baseAddress!.advanced(by: at).copyMemory(from: src.baseAddress! + p.lowerBound, byteCount: p.count)
                    at += p.count
                }
            }
        }
        return ByteSlice(storage: storage, range: 0..<total)
    }
}
