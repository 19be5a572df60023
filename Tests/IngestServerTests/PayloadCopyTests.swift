#if LIVE_SERVER
import ArrowIPC
import Chunks
import Foundation
import IngestCore
import IngestServer
import IngestTestSupport
import Ingestion
import RRD
import Testing

/// Payload bytes are copied once on the way in, out of the transport's buffer into the request's
/// storage (the deserializer), and never again after the protobuf decode: the `ArrowMsg` a worker
/// gets is a slice of that storage; an uncompressed chunk's columns view it; an LZ4 one is
/// decompressed from it (the one transform it needs), after which the request's bytes are freed.
/// Measured with the server's message tap (what the reading thread hands to the store) and weak
/// references to the storages.
@Suite("Live payloads: no copy after the protobuf decode")
struct PayloadCopyTests {
    /// What the tap saw of one `ArrowMsg`.
    final class Seen: @unchecked Sendable {
        // @unchecked: written once on the call's reading thread, read after the server stopped.
        weak var storage: ByteStorage?
        var storageCount = 0
        var payloadCount = 0
        var compressed = false
    }

    @Test func payloadsAreSlicesOfTheRequestAndChunksViewThem() async throws {
        let storeId = SyntheticMessages.storeId(1)
        // A chunk of 200 rows x 1000 floats (1.6 MB: above the decoder's 64 KiB compaction
        // threshold), LZ4 as the SDK sends it and, decompressed, uncompressed.
        guard case .arrowMsg(let lz4) = SyntheticChunks.chunk(storeId, offset: 0, chunk: 1, rows: 200, valuesPerRow: 1000).message
        else { Issue.record("no ArrowMsg"); return }
        let ipc = try lz4.decompressedPayload()
        func arrowMsg(_ payload: ByteSlice, compression: PayloadCompression, chunk: UInt64) -> RawMessage {
            let envelope = MessageEncoding.arrowMsgEnvelope(
                storeId: storeId, compression: compression, uncompressedSize: UInt64(ipc.count),
                payloadCount: payload.count, chunkId: SyntheticChunks.chunkId(chunk), isStatic: false)
            return RawMessage(
                kind: .arrowMsg, offset: 0, payload: ByteSlice(copying: envelope.prefix + payload.bytes + envelope.suffix))
        }
        let info = MessageEncoding.setStoreInfo(SetStoreInfo(rowId: nil, info: StoreInfo(storeId: storeId)))
        let stream = ProxyStream(
            storeId: storeId,
            messages: [
                RawMessage(kind: .setStoreInfo, offset: 0, payload: ByteSlice(copying: info)),
                arrowMsg(ipc, compression: .none, chunk: 1),
                arrowMsg(lz4.payload, compression: .lz4, chunk: 2),
            ])

        let seen = Locked<[Seen]>([])
        let hub = StoreHub()
        let server = IngestServer(
            hub: hub, configuration: IngestServer.Configuration(historyBytes: 0),
            messageTap: { message in
                guard case .arrowMsg(let a) = message else { return }
                let s = Seen()
                s.storage = a.payload.storage
                s.storageCount = a.payload.storage.count
                s.payloadCount = a.payload.count
                s.compressed = a.compression == .lz4
                seen.withLock { $0.append(s) }
            })
        let address = try await server.start(host: "127.0.0.1", port: 0)
        let report = await ProxySender(url: try ProxyURL(parsing: address.url)).send(stream)
        #expect(report.failure == nil)
        await server.stop(drain: true)
        var chunks: [Chunk] = []
        hub.drain { _, output in if case .chunk(let c) = output.event { chunks.append(c) } }
        #expect(chunks.count == 2)

        let taps = seen.withLock { $0 }
        try #require(taps.count == 2)
        // Each payload is a slice of its request's one storage: the storage is the request (the
        // payload plus a few bytes of protobuf headers and ArrowMsg fields), not a copy of the payload.
        let wire = stream.messages.dropFirst().map { $0.payload.count }
        for (tap, logMsg) in zip(taps, wire) {
            #expect(tap.storageCount > tap.payloadCount)
            #expect(tap.storageCount - tap.payloadCount < 128, "payload \(tap.payloadCount) in \(tap.storageCount)")
            #expect(tap.storageCount >= logMsg)
        }
        // Uncompressed: the stored chunk views the request's storage (no copy), which is alive as long as the chunk.
        #expect(!taps[0].compressed)
        #expect(taps[0].storage != nil, "the uncompressed chunk keeps viewing the request's bytes")
        let plain = try #require(chunks.first { $0.id == SyntheticChunks.chunkId(1) })
        #expect(plain.recordBatch.retainedByteCount <= taps[0].storageCount)
        // LZ4: decompressed once, into the decoder's memory; the request's bytes are not kept.
        #expect(taps[1].compressed)
        #expect(taps[1].storage == nil, "the LZ4 request's bytes were freed once decompressed")
        chunks = []
        hub.shutdown(drain: false)
    }
}
#endif
