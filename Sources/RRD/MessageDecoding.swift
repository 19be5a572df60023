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
                        return try decodeBlueprintActivationCommand(&r)
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

    /// `StoreId`; `hasApplicationId` tells whether field 3 was present (legacy files lack it).
    static func decodeStoreId(_ r: inout ProtobufReader) throws(ProtobufError) -> (id: StoreId, hasApplicationId: Bool)
    {
        var kind = StoreKind.unspecified
        var recordingId = ""
        var applicationId: String?
        while let (field, wire) = try r.readTag() {
            switch field {
            case 1:
                try r.expect(wire, .varint, field: field, in: "StoreId")
                kind = StoreKind(rawValue: try r.readVarint())
            case 2:
                try r.expect(wire, .lengthDelimited, field: field, in: "StoreId")
                recordingId = try r.readString("StoreId.recording_id")
            case 3:
                try r.expect(wire, .lengthDelimited, field: field, in: "StoreId")
                var sub = try r.readMessage()
                applicationId = try decodeApplicationId(&sub)
            default:
                try r.skip(wire, field: field)
            }
        }
        return (StoreId(kind: kind, applicationId: applicationId ?? "", recordingId: recordingId), applicationId != nil)
    }

    /// `ApplicationId { id = 1 }`.
    static func decodeApplicationId(_ r: inout ProtobufReader) throws(ProtobufError) -> String {
        var id = ""
        while let (field, wire) = try r.readTag() {
            if field == 1 {
                try r.expect(wire, .lengthDelimited, field: field, in: "ApplicationId")
                id = try r.readString("ApplicationId.id")
            } else {
                try r.skip(wire, field: field)
            }
        }
        return id
    }

    /// `Tuid { optional fixed64 time_ns = 1; optional fixed64 inc = 2 }`.
    static func decodeTuid(_ r: inout ProtobufReader) throws(ProtobufError) -> Tuid {
        var tuid = Tuid(timeNs: 0, inc: 0)
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
        return tuid
    }

    // MARK: - SetStoreInfo

    static func decodeSetStoreInfo(_ r: inout ProtobufReader) throws(ProtobufError) -> SetStoreInfo {
        var rowId: Tuid?
        var info = StoreInfo(storeId: StoreId(kind: .unspecified, applicationId: "", recordingId: ""))
        while let (field, wire) = try r.readTag() {
            switch field {
            case 1:
                try r.expect(wire, .lengthDelimited, field: field, in: "SetStoreInfo")
                var sub = try r.readMessage()
                rowId = try decodeTuid(&sub)
            case 2:
                try r.expect(wire, .lengthDelimited, field: field, in: "SetStoreInfo")
                var sub = try r.readMessage()
                info = try decodeStoreInfo(&sub)
            default:
                try r.skip(wire, field: field)
            }
        }
        return SetStoreInfo(rowId: rowId, info: info)
    }

    /// `StoreInfo`, with the legacy `application_id` (field 1) as a fallback for `store_id`'s.
    static func decodeStoreInfo(_ r: inout ProtobufReader) throws(ProtobufError) -> StoreInfo {
        var legacyApplicationId: String?
        var storeId = StoreId(kind: .unspecified, applicationId: "", recordingId: "")
        var hasApplicationId = false
        var source: StoreSource?
        var versionBits: Int32?
        while let (field, wire) = try r.readTag() {
            switch field {
            case 1:
                try r.expect(wire, .lengthDelimited, field: field, in: "StoreInfo")
                var sub = try r.readMessage()
                legacyApplicationId = try decodeApplicationId(&sub)
            case 2:
                try r.expect(wire, .lengthDelimited, field: field, in: "StoreInfo")
                var sub = try r.readMessage()
                (storeId, hasApplicationId) = try decodeStoreId(&sub)
            case 5:
                try r.expect(wire, .lengthDelimited, field: field, in: "StoreInfo")
                var sub = try r.readMessage()
                source = try decodeStoreSource(&sub)
            case 6:
                try r.expect(wire, .lengthDelimited, field: field, in: "StoreInfo")
                var sub = try r.readMessage()
                while let (f, w) = try sub.readTag() {
                    if f == 1 {
                        try sub.expect(w, .varint, field: f, in: "StoreVersion")
                        versionBits = Int32(truncatingIfNeeded: try sub.readVarint())
                    } else {
                        try sub.skip(w, field: f)
                    }
                }
                if versionBits == nil { versionBits = 0 }
            default:
                try r.skip(wire, field: field)
            }
        }
        if !hasApplicationId, let legacy = legacyApplicationId { storeId.applicationId = legacy }
        return StoreInfo(storeId: storeId, source: source, storeVersionBits: versionBits)
    }

    /// `StoreSource { kind = 1; extra = 2 (StoreSourceExtra { payload = 1 }) }`; `extra` keeps the inner payload.
    static func decodeStoreSource(_ r: inout ProtobufReader) throws(ProtobufError) -> StoreSource {
        var source = StoreSource(kind: 0, extra: [])
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
        return source
    }

    // MARK: - ArrowMsg

    /// Decodes an `ArrowMsg`; `payload` becomes a sub-slice of `slice` (no copy).
    static func decodeArrowMsg(_ slice: ByteSlice) throws(ProtobufError) -> (message: ArrowMsg, hasApplicationId: Bool)
    {
        var storeId = StoreId(kind: .unspecified, applicationId: "", recordingId: "")
        var hasApplicationId = false
        var compression = PayloadCompression.unspecified
        var uncompressedSize: UInt64 = 0
        var encoding: UInt64 = 0
        var payloadRange = 0..<0
        var chunkId: Tuid?
        var isStatic: Bool?
        try slice.withUnsafeBytes { (b) throws(ProtobufError) in
            var r = ProtobufReader(b)
            while let (field, wire) = try r.readTag() {
                switch field {
                case 1:
                    try r.expect(wire, .lengthDelimited, field: field, in: "ArrowMsg")
                    var sub = try r.readMessage()
                    (storeId, hasApplicationId) = try decodeStoreId(&sub)
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
                    chunkId = try decodeTuid(&sub)
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
        return (msg, hasApplicationId)
    }

    // MARK: - BlueprintActivationCommand

    static func decodeBlueprintActivationCommand(
        _ r: inout ProtobufReader
    ) throws(ProtobufError)
        -> BlueprintActivationCommand
    {
        var cmd = BlueprintActivationCommand(
            blueprintId: StoreId(kind: .unspecified, applicationId: "", recordingId: ""), makeActive: false,
            makeDefault: false)
        while let (field, wire) = try r.readTag() {
            switch field {
            case 1:
                try r.expect(wire, .lengthDelimited, field: field, in: "BlueprintActivationCommand")
                var sub = try r.readMessage()
                cmd.blueprintId = try decodeStoreId(&sub).id
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
        return cmd
    }
}
