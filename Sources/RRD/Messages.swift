import IngestCore

/// The four message kinds of the RRD framing (the u64 `kind` of the 16-byte message header).
public enum MessageKind: UInt64, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case end = 0
    case setStoreInfo = 1
    case arrowMsg = 2
    case blueprintActivationCommand = 3

    /// The names used in `EXPECTED.json` and in `ingest print --json`.
    public var description: String {
        switch self {
        case .end: return "End"
        case .setStoreInfo: return "SetStoreInfo"
        case .arrowMsg: return "ArrowMsg"
        case .blueprintActivationCommand: return "BlueprintActivationCommand"
        }
    }
}

/// `rerun.common.v1alpha1.Compression` (protobuf numbering: not the stream header's byte).
public struct PayloadCompression: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let unspecified = PayloadCompression(rawValue: 0)
    public static let none = PayloadCompression(rawValue: 1)
    public static let lz4 = PayloadCompression(rawValue: 2)
    public var description: String {
        switch rawValue {
        case 0, 1: return "off"
        case 2: return "lz4"
        default: return "unknown(\(rawValue))"
        }
    }
}

/// The source of a store (`StoreSource.kind`), with the kind-dependent extra payload kept raw.
public struct StoreSource: Hashable, Sendable {
    public var kind: UInt64
    public var extra: [UInt8]
    public init(kind: UInt64, extra: [UInt8]) {
        self.kind = kind
        self.extra = extra
    }
}

/// `StoreInfo`: the store's id, source and the writer's version.
public struct StoreInfo: Hashable, Sendable {
    public var storeId: StoreId
    public var source: StoreSource?
    /// `StoreVersion.crate_version_bits`: `[major, minor, patch, meta]` as a little-endian Int32.
    public var storeVersionBits: Int32?

    public init(storeId: StoreId, source: StoreSource? = nil, storeVersionBits: Int32? = nil) {
        self.storeId = storeId
        self.source = source
        self.storeVersionBits = storeVersionBits
    }
}

/// Kind 1: `SetStoreInfo`.
public struct SetStoreInfo: Hashable, Sendable {
    public var rowId: RowId?
    public var info: StoreInfo
    public init(rowId: RowId?, info: StoreInfo) {
        self.rowId = rowId
        self.info = info
    }
}

/// Kind 2: `ArrowMsg`, one chunk as a (usually LZ4-compressed) Arrow IPC stream.
///
/// `payload` is a slice of the bytes the reader read: it is never copied on the way to a worker.
public struct ArrowMsg: Hashable, Sendable {
    public var storeId: StoreId
    public var compression: PayloadCompression
    public var uncompressedSize: UInt64
    /// `ENCODING_ARROW_IPC = 1`; anything else cannot be decoded.
    public var encoding: UInt64
    public var payload: ByteSlice
    public var chunkId: ChunkId?
    public var isStatic: Bool?

    public init(
        storeId: StoreId, compression: PayloadCompression, uncompressedSize: UInt64, encoding: UInt64,
        payload: ByteSlice, chunkId: ChunkId?, isStatic: Bool?
    ) {
        self.storeId = storeId
        self.compression = compression
        self.uncompressedSize = uncompressedSize
        self.encoding = encoding
        self.payload = payload
        self.chunkId = chunkId
        self.isStatic = isStatic
    }
}

/// Kind 3: `BlueprintActivationCommand`.
public struct BlueprintActivationCommand: Hashable, Sendable {
    public var blueprintId: StoreId
    public var makeActive: Bool
    public var makeDefault: Bool
    public init(blueprintId: StoreId, makeActive: Bool, makeDefault: Bool) {
        self.blueprintId = blueprintId
        self.makeActive = makeActive
        self.makeDefault = makeDefault
    }
}

/// A decoded message payload.
public enum Message: Hashable, Sendable {
    case setStoreInfo(SetStoreInfo)
    case arrowMsg(ArrowMsg)
    case blueprintActivationCommand(BlueprintActivationCommand)
    /// End of a stream; the RrdFooter payload is kept opaque.
    case end(footerPayload: ByteSlice)

    @inlinable
    public var kind: MessageKind {
        switch self {
        case .setStoreInfo: return .setStoreInfo
        case .arrowMsg: return .arrowMsg
        case .blueprintActivationCommand: return .blueprintActivationCommand
        case .end: return .end
        }
    }

    /// The store this message belongs to, if any (End belongs to none).
    @inlinable
    public var storeId: StoreId? {
        switch self {
        case .setStoreInfo(let m): return m.info.storeId
        case .arrowMsg(let m): return m.storeId
        case .blueprintActivationCommand(let m): return m.blueprintId
        case .end: return nil
        }
    }
}

/// A message together with where it was found.
public struct FramedMessage: Hashable, Sendable {
    /// Offset of the 16-byte message header in the source (decompressed stream for `.zst`).
    public var offset: UInt64
    /// Payload length from the header.
    public var length: UInt64
    public var message: Message

    public init(offset: UInt64, length: UInt64, message: Message) {
        self.offset = offset
        self.length = length
        self.message = message
    }
}
