import IngestCore
import RRD

/// Builds stream messages for tests without a file: store ids, `SetStoreInfo`, `ArrowMsg`s with
/// arbitrary (undecodable unless real) payloads, and activation commands. The `offset` of each
/// framed message is the caller's tag: outputs carry it back, so tests can match them up.
public enum SyntheticMessages {
    /// A recording (or blueprint) store id `kind:app:rec-<n>`.
    public static func storeId(_ n: Int, kind: StoreKind = .recording, app: String = "test_app") -> StoreId {
        StoreId(kind: kind, applicationId: app, recordingId: "rec-\(n)")
    }

    /// A `SetStoreInfo` for `store`.
    public static func storeInfo(_ store: StoreId, offset: UInt64) -> FramedMessage {
        FramedMessage(
            offset: offset, length: 64,
            message: .setStoreInfo(SetStoreInfo(rowId: RowId(timeNs: offset, inc: 1), info: StoreInfo(storeId: store))))
    }

    /// An `ArrowMsg` for `store` with a payload of `payloadBytes` bytes that is not valid LZ4/Arrow
    /// (so it decodes to an error item unless a test decoder says otherwise).
    public static func arrow(
        _ store: StoreId, offset: UInt64, payloadBytes: Int = 16, chunk: UInt64? = nil
    )
        -> FramedMessage
    {
        var bytes = [UInt8](repeating: 0xEE, count: payloadBytes)
        if payloadBytes >= 8 { withUnsafeBytes(of: offset.littleEndian) { bytes.replaceSubrange(0..<8, with: $0) } }
        let msg = ArrowMsg(
            storeId: store, compression: .lz4, uncompressedSize: UInt64(payloadBytes) * 4, encoding: 1,
            payload: ByteSlice(copying: bytes), chunkId: ChunkId(timeNs: chunk ?? offset, inc: 7), isStatic: false)
        return FramedMessage(offset: offset, length: UInt64(payloadBytes + 40), message: .arrowMsg(msg))
    }

    /// A `BlueprintActivationCommand` for the blueprint `store`.
    public static func activation(_ store: StoreId, offset: UInt64, makeActive: Bool = true) -> FramedMessage {
        FramedMessage(
            offset: offset, length: 12,
            message: .blueprintActivationCommand(
                BlueprintActivationCommand(blueprintId: store, makeActive: makeActive, makeDefault: false)))
    }

    /// An `End` message (belongs to no store).
    public static func end(offset: UInt64) -> FramedMessage {
        FramedMessage(offset: offset, length: 0, message: .end(footerPayload: ByteSlice(copying: [])))
    }
}
