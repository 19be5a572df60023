#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import IngestCore

/// Decodes the protobuf payloads of the RRD framing into the Swift message types.
///
/// A small hand-written wire reader: varint, fixed32/64 and length-delimited fields, unknown
/// fields skipped by wire type, open enums kept as raw values, no Foundation. The Arrow payload of
/// an ``ArrowMsg`` is handed out as a sub-slice of the input, never copied.
public enum MessageDecoding {
    /// Decodes one message payload.
    ///
    /// - Parameters:
    ///   - kind: the message kind from the 16-byte header.
    ///   - payload: the `len` payload bytes.
    ///   - source: the input's name, for errors.
    ///   - offset: the file offset of the message header, for errors.
    /// - Returns: the decoded message. `.end` keeps the RrdFooter payload opaque.
    /// - Throws: ``RRDError/Code/badProtobuf`` with the position inside the payload in the text.
    public static func decode(
        kind: MessageKind, payload: ByteSlice, source: String = "", offset: UInt64 = 0
    ) throws(RRDError) -> Message {
        do {
            switch kind {
            case .end:
                return .end(footerPayload: payload)
            case .setStoreInfo:
                return .setStoreInfo(
                    try payload.withUnsafeBytes { (b) throws(ProtobufError) in
                        var r = ProtobufReader(b)
                        return try decodeSetStoreInfo(&r)
                    })
            case .arrowMsg:
                return .arrowMsg(try decodeArrowMsg(payload).message)
            case .blueprintActivationCommand:
                return .blueprintActivationCommand(
                    try payload.withUnsafeBytes { (b) throws(ProtobufError) in
                        var r = ProtobufReader(b)
                        return try decodeBlueprintActivationCommand(&r).command
                    })
            }
        } catch {
            throw RRDError(
                .badProtobuf, source: source, offset: offset,
                "\(kind) payload (\(payload.count) bytes) is not a valid protobuf message: \(error.message) at payload byte \(error.position)"
            )
        }
    }

    // MARK: - common types
    //
    // Every decoder merges into an existing value: protobuf merges a non-repeated message field
    // that occurs twice (scalars: last one wins; sub-messages: merged recursively).

    /// `StoreId`; `hasApplicationId` tells whether field 3 was present (legacy files lack it).
    /// Strings equal to `hint`'s are shared with it rather than allocated again, and an id equal to
    /// `hint` is `hint` itself (the same box: no allocation, and comparing the two is a pointer check).
    static func decodeStoreId(
        _ r: inout ProtobufReader, into id: inout StoreId, hasApplicationId: inout Bool, hint: StoreId = emptyStoreId
    ) throws(ProtobufError) {
        var kind = id.kind
        var applicationId = id.applicationId
        var recordingId = id.recordingId
        while let (field, wire) = try r.readTag() {
            switch field {
            case 1:
                try r.expect(wire, .varint, field: field, in: "StoreId")
                kind = StoreKind(rawValue: try r.readVarint())
            case 2:
                try r.expect(wire, .lengthDelimited, field: field, in: "StoreId")
                recordingId = try r.readString("StoreId.recording_id", reusing: hint.recordingId)
            case 3:
                try r.expect(wire, .lengthDelimited, field: field, in: "StoreId")
                var sub = try r.readMessage()
                try decodeApplicationId(&sub, into: &applicationId, hint: hint.applicationId)
                hasApplicationId = true
            default:
                try r.skip(wire, field: field)
            }
        }
        if kind == hint.kind && recordingId == hint.recordingId && applicationId == hint.applicationId {
            id = hint
        } else if kind != id.kind || recordingId != id.recordingId || applicationId != id.applicationId {
            id = StoreId(kind: kind, applicationId: applicationId, recordingId: recordingId)
        }
    }

    /// `ApplicationId { id = 1 }`.
    static func decodeApplicationId(
        _ r: inout ProtobufReader, into id: inout String, hint: String = ""
    ) throws(ProtobufError) {
        while let (field, wire) = try r.readTag() {
            if field == 1 {
                try r.expect(wire, .lengthDelimited, field: field, in: "ApplicationId")
                id = try r.readString("ApplicationId.id", reusing: hint)
            } else {
                try r.skip(wire, field: field)
            }
        }
    }

    /// `Tuid { optional fixed64 time_ns = 1; optional fixed64 inc = 2 }`.
    static func decodeTuid(_ r: inout ProtobufReader, into tuid: inout Tuid) throws(ProtobufError) {
        while let (field, wire) = try r.readTag() {
            switch field {
            case 1:
                try r.expect(wire, .fixed64, field: field, in: "Tuid")
                tuid.timeNs = try r.readFixed64()
            case 2:
                try r.expect(wire, .fixed64, field: field, in: "Tuid")
                tuid.inc = try r.readFixed64()
            default:
                try r.skip(wire, field: field)
            }
        }
    }

    static let emptyStoreId = StoreId(kind: .unspecified, applicationId: "", recordingId: "")

    // MARK: - SetStoreInfo

    /// `StoreInfo` while it is being decoded (it may arrive in several merged pieces).
    struct StoreInfoFields {
        var legacyApplicationId: String?
        var storeId = MessageDecoding.emptyStoreId
        var hasApplicationId = false
        var source: StoreSource?
        var versionBits: Int32?

        /// The result, with the legacy `application_id` (field 1) as a fallback for `store_id`'s.
        var info: StoreInfo {
            var id = storeId
            if !hasApplicationId, let legacy = legacyApplicationId { id.applicationId = legacy }
            return StoreInfo(storeId: id, source: source, storeVersionBits: versionBits)
        }
    }

    static func decodeSetStoreInfo(_ r: inout ProtobufReader) throws(ProtobufError) -> SetStoreInfo {
        var rowId: RowId?
        var info = StoreInfoFields()
        while let (field, wire) = try r.readTag() {
            switch field {
            case 1:
                try r.expect(wire, .lengthDelimited, field: field, in: "SetStoreInfo")
                var sub = try r.readMessage()
                var t = rowId?.tuid ?? Tuid(timeNs: 0, inc: 0)
                try decodeTuid(&sub, into: &t)
                rowId = RowId(t)
            case 2:
                try r.expect(wire, .lengthDelimited, field: field, in: "SetStoreInfo")
                var sub = try r.readMessage()
                try decodeStoreInfo(&sub, into: &info)
            default:
                try r.skip(wire, field: field)
            }
        }
        return SetStoreInfo(rowId: rowId, info: info.info)
    }

    static func decodeStoreInfo(_ r: inout ProtobufReader, into info: inout StoreInfoFields) throws(ProtobufError) {
        while let (field, wire) = try r.readTag() {
            switch field {
            case 1:
                try r.expect(wire, .lengthDelimited, field: field, in: "StoreInfo")
                var sub = try r.readMessage()
                var app = info.legacyApplicationId ?? ""
                try decodeApplicationId(&sub, into: &app)
                info.legacyApplicationId = app
            case 2:
                try r.expect(wire, .lengthDelimited, field: field, in: "StoreInfo")
                var sub = try r.readMessage()
                try decodeStoreId(&sub, into: &info.storeId, hasApplicationId: &info.hasApplicationId)
            case 5:
                try r.expect(wire, .lengthDelimited, field: field, in: "StoreInfo")
                var sub = try r.readMessage()
                var source = info.source ?? StoreSource(kind: 0, extra: [])
                try decodeStoreSource(&sub, into: &source)
                info.source = source
            case 6:
                try r.expect(wire, .lengthDelimited, field: field, in: "StoreInfo")
                var sub = try r.readMessage()
                var bits = info.versionBits ?? 0
                while let (f, w) = try sub.readTag() {
                    if f == 1 {
                        try sub.expect(w, .varint, field: f, in: "StoreVersion")
                        bits = Int32(truncatingIfNeeded: try sub.readVarint())
                    } else {
                        try sub.skip(w, field: f)
                    }
                }
                info.versionBits = bits
            default:
                try r.skip(wire, field: field)
            }
        }
    }

    /// `StoreSource { kind = 1; extra = 2 (StoreSourceExtra { payload = 1 }) }`; `extra` keeps the inner payload.
    static func decodeStoreSource(_ r: inout ProtobufReader, into source: inout StoreSource) throws(ProtobufError) {
        while let (field, wire) = try r.readTag() {
            switch field {
            case 1:
                try r.expect(wire, .varint, field: field, in: "StoreSource")
                source.kind = try r.readVarint()
            case 2:
                try r.expect(wire, .lengthDelimited, field: field, in: "StoreSource")
                var sub = try r.readMessage()
                while let (f, w) = try sub.readTag() {
                    if f == 1 {
                        try sub.expect(w, .lengthDelimited, field: f, in: "StoreSourceExtra")
                        source.extra = try sub.readBytes()
                    } else {
                        try sub.skip(w, field: f)
                    }
                }
            default:
                try r.skip(wire, field: field)
            }
        }
    }

    // MARK: - ArrowMsg

    /// The `StoreId` field bytes of the last `ArrowMsg` a stream decoder decoded and the id they
    /// gave: the next message's field, byte for byte the same (the usual case), is that id without
    /// being decoded again.
    struct StoreIdMemo {
        var bytes: [UInt8] = []
        var isValid = false
        var id = MessageDecoding.emptyStoreId
        var hasApplicationId = false

        func matches(_ field: UnsafeRawBufferPointer) -> Bool {
            isValid && bytes.count == field.count
                && bytes.withUnsafeBytes { b in field.isEmpty || memcmp(b.baseAddress!, field.baseAddress!, field.count) == 0 }
        }
    }

    /// Decodes an `ArrowMsg`; `payload` becomes a sub-slice of `slice` (no copy). Store id strings
    /// equal to `previousStoreId`'s are shared with it.
    static func decodeArrowMsg(
        _ slice: ByteSlice, previousStoreId: StoreId = emptyStoreId
    ) throws(ProtobufError) -> (message: ArrowMsg, hasApplicationId: Bool) {
        var memo = StoreIdMemo(id: previousStoreId)
        let (message, hasApplicationId, _) = try decodeArrowMsg(slice, memo: &memo)
        return (message, hasApplicationId)
    }

    /// Decodes an `ArrowMsg`, taking its store id from `memo` when the field's bytes match it (the
    /// field bytes are the same message after message) and sharing strings with `memo.id` otherwise.
    /// - Returns: the message, whether its store id had an application id, and the range in `slice`
    ///   of a store id field that was decoded (not taken from `memo`; `nil` when it was, or when the
    ///   field was absent or repeated), for the caller to remember in `memo` with the id it settles on.
    static func decodeArrowMsg(
        _ slice: ByteSlice, memo: inout StoreIdMemo
    ) throws(ProtobufError) -> (message: ArrowMsg, hasApplicationId: Bool, decodedStoreIdField: Range<Int>?) {
        var storeId = emptyStoreId
        var hasApplicationId = false
        var storeIdFields = 0
        var decodedField: Range<Int>?
        var compression = PayloadCompression.unspecified
        var uncompressedSize: UInt64 = 0
        var encoding: UInt64 = 0
        var payloadRange = 0..<0
        var chunkId: ChunkId?
        var isStatic: Bool?
        try slice.withUnsafeBytes { (b) throws(ProtobufError) in
            var r = ProtobufReader(b)
            while let (field, wire) = try r.readTag() {
                switch field {
                case 1:
                    try r.expect(wire, .lengthDelimited, field: field, in: "ArrowMsg")
                    let range = try r.readLengthDelimited()
                    let bytes = UnsafeRawBufferPointer(rebasing: b[range])
                    storeIdFields += 1
                    if storeIdFields == 1 && memo.matches(bytes) {
                        storeId = memo.id
                        hasApplicationId = memo.hasApplicationId
                    } else {
                        // A repeated field merges into what the earlier ones gave (protobuf semantics).
                        var sub = ProtobufReader(bytes, base: range.lowerBound)
                        try decodeStoreId(&sub, into: &storeId, hasApplicationId: &hasApplicationId, hint: memo.id)
                        decodedField = storeIdFields == 1 ? range : nil
                    }
                case 2:
                    try r.expect(wire, .varint, field: field, in: "ArrowMsg")
                    compression = PayloadCompression(rawValue: try r.readVarint())
                case 3:
                    try r.expect(wire, .varint, field: field, in: "ArrowMsg")
                    uncompressedSize = try r.readVarint()
                case 4:
                    try r.expect(wire, .varint, field: field, in: "ArrowMsg")
                    encoding = try r.readVarint()
                case 5:
                    try r.expect(wire, .lengthDelimited, field: field, in: "ArrowMsg")
                    payloadRange = try r.readLengthDelimited()
                case 6:
                    try r.expect(wire, .lengthDelimited, field: field, in: "ArrowMsg")
                    var sub = try r.readMessage()
                    var t = chunkId?.tuid ?? Tuid(timeNs: 0, inc: 0)
                    try decodeTuid(&sub, into: &t)
                    chunkId = ChunkId(t)
                case 7:
                    try r.expect(wire, .varint, field: field, in: "ArrowMsg")
                    isStatic = try r.readVarint() != 0
                default:
                    try r.skip(wire, field: field)
                }
            }
        }
        let msg = ArrowMsg(
            storeId: storeId, compression: compression, uncompressedSize: uncompressedSize, encoding: encoding,
            payload: slice.slice(payloadRange), chunkId: chunkId, isStatic: isStatic)
        return (msg, hasApplicationId, decodedField)
    }

    // MARK: - BlueprintActivationCommand

    /// Decodes a `BlueprintActivationCommand`; `hasApplicationId` tells whether its blueprint id had
    /// one (0.23/0.24 commands do not: ``LegacyStoreIds`` completes them).
    static func decodeBlueprintActivationCommand(
        _ r: inout ProtobufReader
    ) throws(ProtobufError)
        -> (command: BlueprintActivationCommand, hasApplicationId: Bool)
    {
        var cmd = BlueprintActivationCommand(blueprintId: emptyStoreId, makeActive: false, makeDefault: false)
        var hasApplicationId = false
        while let (field, wire) = try r.readTag() {
            switch field {
            case 1:
                try r.expect(wire, .lengthDelimited, field: field, in: "BlueprintActivationCommand")
                var sub = try r.readMessage()
                try decodeStoreId(&sub, into: &cmd.blueprintId, hasApplicationId: &hasApplicationId)
            case 2:
                try r.expect(wire, .varint, field: field, in: "BlueprintActivationCommand")
                cmd.makeActive = try r.readVarint() != 0
            case 3:
                try r.expect(wire, .varint, field: field, in: "BlueprintActivationCommand")
                cmd.makeDefault = try r.readVarint() != 0
            default:
                try r.skip(wire, field: field)
            }
        }
        return (cmd, hasApplicationId)
    }
}
