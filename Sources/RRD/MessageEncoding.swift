import IngestCore

/// Encodes the protobuf payloads of the RRD framing (the counterpart of ``MessageDecoding``), in
/// field-number order as the 0.41 SDK writes them. An `ArrowMsg` is encoded as the bytes before and
/// after its payload (``ArrowMsgEnvelope``), so that the payload itself is written from where it is.
public enum MessageEncoding {
    /// `StoreId { kind = 1; recording_id = 2; application_id = 3 (ApplicationId { id = 1 }) }`.
    static func storeId(_ w: inout ProtobufWriter, _ id: StoreId) {
        if id.kind.rawValue != 0 { w.varintField(1, id.kind.rawValue) }
        if !id.recordingId.isEmpty { w.stringField(2, id.recordingId) }
        w.messageField(3) { app in
            if !id.applicationId.isEmpty { app.stringField(1, id.applicationId) }
        }
    }

    /// `Tuid { fixed64 time_ns = 1; fixed64 inc = 2 }` (both `optional`: always written).
    static func tuid(_ w: inout ProtobufWriter, _ t: Tuid) {
        w.fixed64Field(1, t.timeNs)
        w.fixed64Field(2, t.inc)
    }

    /// The payload of a `SetStoreInfo` message (kind 1).
    public static func setStoreInfo(_ m: SetStoreInfo) -> [UInt8] {
        var w = ProtobufWriter(capacity: 96)
        if let row = m.rowId { w.messageField(1) { tuid(&$0, row.tuid) } }
        w.messageField(2) { info in
            info.messageField(2) { storeId(&$0, m.info.storeId) }
            if let source = m.info.source {
                info.messageField(5) { s in
                    if source.kind != 0 { s.varintField(1, source.kind) }
                    if !source.extra.isEmpty { s.messageField(2) { $0.bytesField(1, source.extra) } }
                }
            }
            if let bits = m.info.storeVersionBits {
                info.messageField(6) { v in
                    if bits != 0 { v.varintField(1, UInt64(bitPattern: Int64(bits))) }  // int32: sign-extended
                }
            }
        }
        return w.bytes
    }

    /// The payload of a `BlueprintActivationCommand` message (kind 3).
    public static func blueprintActivationCommand(_ m: BlueprintActivationCommand) -> [UInt8] {
        var w = ProtobufWriter(capacity: 64)
        w.messageField(1) { storeId(&$0, m.blueprintId) }
        if m.makeActive { w.varintField(2, 1) }
        if m.makeDefault { w.varintField(3, 1) }
        return w.bytes
    }

    /// The bytes of an `ArrowMsg` (kind 2) around a payload of `payloadCount` bytes: the store id,
    /// compression, uncompressed size and encoding, then the payload's key and length (`prefix`); the
    /// chunk id and static flag after it (`suffix`).
    public static func arrowMsgEnvelope(
        storeId id: StoreId, compression: PayloadCompression, uncompressedSize: UInt64, encoding: UInt64 = 1,
        payloadCount: Int, chunkId: ChunkId?, isStatic: Bool?
    ) -> ArrowMsgEnvelope {
        var w = ProtobufWriter(capacity: 96)
        w.messageField(1) { storeId(&$0, id) }
        if compression.rawValue != 0 { w.varintField(2, compression.rawValue) }
        // Written even when 0 or equal to the payload size (0.41 does).
        w.varintField(3, uncompressedSize)
        if encoding != 0 { w.varintField(4, encoding) }
        w.lengthPrefix(5, count: payloadCount)
        var s = ProtobufWriter(capacity: 24)
        if let chunkId { s.messageField(6) { tuid(&$0, chunkId.tuid) } }
        if let isStatic { s.varintField(7, isStatic ? 1 : 0) }
        return ArrowMsgEnvelope(prefix: w.bytes, suffix: s.bytes)
    }

    /// One manifest of an `RrdFooter`, its Arrow parts already encoded.
    public struct Manifest: Sendable, Hashable {
        /// The store it indexes.
        public var storeId: StoreId
        /// `sorbet_schema.arrow_schema`: an Arrow IPC stream holding the store's schema.
        public var sorbetSchema: [UInt8]
        /// `sorbet_schema_sha256` (32 bytes).
        public var sorbetSchemaSHA256: [UInt8]
        /// `data.payload`: an Arrow IPC stream of the one-row-per-chunk record batch, LZ4 block
        /// compressed when `dataCompression` says so.
        public var data: [UInt8]
        /// `data.compression`.
        public var dataCompression: PayloadCompression
        /// `data.uncompressed_size`.
        public var dataUncompressedSize: UInt64

        /// A manifest of these parts.
        public init(
            storeId: StoreId, sorbetSchema: [UInt8], sorbetSchemaSHA256: [UInt8], data: [UInt8],
            dataCompression: PayloadCompression, dataUncompressedSize: UInt64
        ) {
            self.storeId = storeId
            self.sorbetSchema = sorbetSchema
            self.sorbetSchemaSHA256 = sorbetSchemaSHA256
            self.data = data
            self.dataCompression = dataCompression
            self.dataUncompressedSize = dataUncompressedSize
        }
    }

    /// The payload of the End message (kind 0): `RrdFooter { repeated RrdManifest manifests = 1 }`
    /// (empty when there are none, as for an empty recording).
    public static func rrdFooter(_ manifests: [Manifest]) -> [UInt8] {
        var w = ProtobufWriter(capacity: 256 + manifests.reduce(0) { $0 + $1.data.count + $1.sorbetSchema.count })
        for m in manifests {
            w.messageField(1) { man in
                man.messageField(1) { storeId(&$0, m.storeId) }
                man.messageField(2) { $0.bytesField(1, m.sorbetSchema) }
                man.bytesField(3, m.sorbetSchemaSHA256)
                man.messageField(4) { part in
                    part.varintField(1, 1)  // ENCODER_VERSION_V0
                    part.bytesField(2, m.data)
                    if m.dataCompression.rawValue != 0 { part.varintField(3, m.dataCompression.rawValue) }
                    part.varintField(4, m.dataUncompressedSize)
                }
            }
        }
        return w.bytes
    }
}

/// The protobuf bytes of an `ArrowMsg` before and after its payload (see
/// ``MessageEncoding/arrowMsgEnvelope(storeId:compression:uncompressedSize:encoding:payloadCount:chunkId:isStatic:)``).
public struct ArrowMsgEnvelope: Sendable, Hashable {
    /// Fields 1–4 and the key and length of field 5.
    public var prefix: [UInt8]
    /// Fields 6 and 7.
    public var suffix: [UInt8]
    /// The message length for a payload of `payloadCount` bytes.
    public func messageLength(payloadCount: Int) -> Int { prefix.count + payloadCount + suffix.count }
}
