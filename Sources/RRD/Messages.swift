import IngestCore

/// The four message kinds of the RRD framing (the u64 `kind` of the 16-byte message header).
public enum MessageKind: UInt64, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Kind 0: the end of a stream; its payload is an `RrdFooter` (or empty), and a stream footer
    /// may follow it.
    case end = 0
    /// Kind 1: ``SetStoreInfo``, which opens (or describes again) a store.
    case setStoreInfo = 1
    /// Kind 2: ``ArrowMsg``, one chunk of a store.
    case arrowMsg = 2
    /// Kind 3: ``BlueprintActivationCommand``, which makes a blueprint store active or default.
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
    /// The protobuf value: 0 unspecified, 1 off, 2 LZ4; other values are kept (proto3 enums are
    /// open) and cannot be decompressed (``RRDError/Code/badPayload``).
    public var rawValue: UInt64
    /// The compression with this protobuf value; never fails, unknown values included.
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// Value 0: not said; read as uncompressed, like ``none``.
    public static let unspecified = PayloadCompression(rawValue: 0)
    /// Value 1: the payload is the Arrow IPC stream itself.
    public static let none = PayloadCompression(rawValue: 1)
    /// Value 2: the payload is one raw LZ4 block (no frame) of `uncompressed_size` bytes.
    public static let lz4 = PayloadCompression(rawValue: 2)
    /// `off` (values 0 and 1), `lz4`, or `unknown(N)`: the names `ingest print` uses.
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
    /// The protobuf `StoreSourceKind`, not interpreted: 0 unspecified, 1 C/C++ SDK, 2 Python SDK,
    /// 3 Rust SDK, 4 a file, 5 the viewer, 6 other (unknown values are kept).
    public var kind: UInt64
    /// The bytes of `StoreSourceExtra.payload` (a Python version, crate info or file source,
    /// depending on ``kind``), undecoded; empty when the writer sent none.
    public var extra: [UInt8]
    /// A source with this kind and extra payload.
    public init(kind: UInt64, extra: [UInt8]) {
        self.kind = kind
        self.extra = extra
    }
}

/// `StoreInfo`: the store's id, source and the writer's version.
public struct StoreInfo: Hashable, Sendable {
    /// The store it describes; when `store_id` carries no application id (0.23/0.24 writers), the
    /// message's deprecated `application_id` field supplies it.
    public var storeId: StoreId
    /// Who wrote the store, or `nil` when the message has no `store_source`.
    public var source: StoreSource?
    /// `StoreVersion.crate_version_bits`: `[major, minor, patch, meta]` as a little-endian Int32.
    public var storeVersionBits: Int32?

    /// A store info with the given fields; the source and version are optional, as on the wire.
    public init(storeId: StoreId, source: StoreSource? = nil, storeVersionBits: Int32? = nil) {
        self.storeId = storeId
        self.source = source
        self.storeVersionBits = storeVersionBits
    }
}

/// Kind 1: `SetStoreInfo`.
public struct SetStoreInfo: Hashable, Sendable {
    /// The message's `row_id` TUID, or `nil` when the writer sent none.
    public var rowId: RowId?
    /// The store's id, source and writer version.
    public var info: StoreInfo
    /// A message with this row id and store info.
    public init(rowId: RowId?, info: StoreInfo) {
        self.rowId = rowId
        self.info = info
    }
}

/// Kind 2: `ArrowMsg`, one chunk as a (usually LZ4-compressed) Arrow IPC stream.
///
/// `payload` is a slice of the bytes the reader read: it is never copied on the way to a worker.
public struct ArrowMsg: Hashable, Sendable {
    /// The store the chunk belongs to.
    public var storeId: StoreId
    /// How ``payload`` is compressed.
    public var compression: PayloadCompression
    /// The Arrow IPC stream's size in bytes once decompressed. LZ4 must produce exactly this many
    /// (else ``RRDError/Code/decompression``), and the size is checked against the caller's cap
    /// before anything is allocated (``RRDError/Code/tooLarge``); for an uncompressed payload it is 0
    /// or the payload's size (else ``RRDError/Code/badPayload``).
    public var uncompressedSize: UInt64
    /// `ENCODING_ARROW_IPC = 1`; anything else cannot be decoded.
    public var encoding: UInt64
    /// The payload as framed: compressed per ``compression``; a slice of the reader's block, not a
    /// copy, so it keeps that block alive.
    public var payload: ByteSlice
    /// The chunk's id from the message's `chunk_id` field, or `nil` when the writer did not send it
    /// (rerun-sdk 0.23); the chunk's schema metadata then has it.
    public var chunkId: ChunkId?
    /// Whether the chunk is static (no timelines), from `is_static`; `nil` when the writer did not
    /// send it (rerun-sdk 0.23 and 0.24).
    public var isStatic: Bool?

    /// A message with the given fields, taken as they are (nothing is checked or decompressed).
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
    /// The blueprint store the command is about.
    public var blueprintId: StoreId
    /// Whether the viewer should show this blueprint now.
    public var makeActive: Bool
    /// Whether this blueprint becomes the default one for its application id.
    public var makeDefault: Bool
    /// A command with the given fields.
    public init(blueprintId: StoreId, makeActive: Bool, makeDefault: Bool) {
        self.blueprintId = blueprintId
        self.makeActive = makeActive
        self.makeDefault = makeDefault
    }
}

/// A decoded message payload.
public enum Message: Hashable, Sendable {
    /// Kind 1: a store opens or is described again.
    case setStoreInfo(SetStoreInfo)
    /// Kind 2: one chunk, its payload still compressed.
    case arrowMsg(ArrowMsg)
    /// Kind 3: a blueprint becomes active or default.
    case blueprintActivationCommand(BlueprintActivationCommand)
    /// End of a stream; the RrdFooter payload is kept opaque.
    case end(footerPayload: ByteSlice)

    /// The framing kind of this message (what its 16-byte header said).
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
    /// The decoded payload.
    public var message: Message

    /// A framed message with the given position, length and payload.
    public init(offset: UInt64, length: UInt64, message: Message) {
        self.offset = offset
        self.length = length
        self.message = message
    }
}
