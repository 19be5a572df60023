import Chunks
import FixtureSupport
import IngestCore
import IngestTestSupport
@testable import Ingestion
import RRD
import Testing

/// Where payloads are decompressed (``PayloadDecompression``): the reading side's choices, the
/// worker's part, and the cap.
@Suite("Payload decompression: reader or worker, decided in one place")
struct PayloadDecompressionTests {
    static let store = SyntheticMessages.storeId(1)

    /// An LZ4 `ArrowMsg` of chunk `chunk` with `valuesPerRow` floats in each of 8 rows.
    static func message(chunk: UInt64, valuesPerRow: Int) -> ArrowMsg {
        let m = SyntheticChunks.chunk(store, offset: 0, chunk: chunk, rows: 8, valuesPerRow: valuesPerRow)
        guard case .arrowMsg(let a) = m.message else { preconditionFailure("not an ArrowMsg") }
        return a
    }

    @Test("an ArrowMsg declaring more than the cap's uncompressed bytes is a chunk error naming the cap")
    func payloadCap() throws {
        var reader = try RRDReader(path: Fixtures.rrdPath("scalars_sequence.rrd"))
        var msg: ArrowMsg?
        while msg == nil, let event = reader.next() {
            if case .message(let m) = event, case .arrowMsg(let a) = m.message, a.compression.rawValue == 2 { msg = a }
        }
        let arrow = try #require(msg)
        #expect(try ChunkDecoder().decode(arrow).numRows > 0)
        do {
            _ = try PayloadDecompression.workerPayload(of: arrow, arena: nil, maxSize: arrow.uncompressedSize - 1)
            Issue.record("decompressed above the cap")
        } catch {
            #expect(error.message.contains("above the cap of \(arrow.uncompressedSize - 1)"), "\(error)")
        }
    }

    @Test("the reader decompresses small LZ4 payloads into an arena slab; larger ones only up to the byte bound")
    func readerLimit() throws {
        let small = Self.message(chunk: 1, valuesPerRow: 100)  // 8 rows x 800 bytes: below 64 KiB
        let large = Self.message(chunk: 2, valuesPerRow: 2_000)  // 8 rows x 16 KB: above 64 KiB, below 1 MiB
        #expect(small.uncompressedSize <= UInt64(PayloadDecompression.smallPayloadLimit))
        #expect(large.uncompressedSize > UInt64(PayloadDecompression.smallPayloadLimit))
        #expect(large.uncompressedSize < UInt64(PayloadDecompression.sharedDecompressionSize))

        var policy = PayloadDecompression(maxQueuedBytes: nil, alternatesLargePayloads: true)
        #expect(policy.readerLimit == PayloadDecompression.smallPayloadLimit)
        var m = small
        let hereM = policy.decompressOnReader(&m)
        #expect(hereM)
        #expect(m.compression == .none && m.uncompressedSize == small.uncompressedSize)
        #expect(m.payload.storage.isArenaSlab, "into the store's reader arena")
        #expect(m.payload == (try small.decompressedPayload()))
        var l = large
        let hereL = policy.decompressOnReader(&l)
        #expect(!hereL, "above the limit: left to the worker")
        #expect(l == large)

        // A byte bound above the payload raises the limit to it.
        var bounded = PayloadDecompression(maxQueuedBytes: 1 << 20, alternatesLargePayloads: true)
        #expect(bounded.readerLimit == 1 << 20)
        l = large
        let boundedHere = bounded.decompressOnReader(&l)
        #expect(boundedHere)
        #expect(l.payload == (try large.decompressedPayload()))
        // A bound below 64 KiB does not lower it.
        #expect(PayloadDecompression(maxQueuedBytes: 10, alternatesLargePayloads: false).readerLimit == 64 << 10)
    }

    @Test("from 1 MiB on, payloads alternate between the reader and the worker (only when alternating)", arguments: [true, false])
    func largePayloadsAlternate(alternating: Bool) throws {
        var policy = PayloadDecompression(maxQueuedBytes: 64 << 20, alternatesLargePayloads: alternating)
        var decided: [Bool] = []
        for k in 0..<5 {
            var m = Self.message(chunk: UInt64(k), valuesPerRow: 20_000)  // 8 rows x 160 KB
            #expect(m.uncompressedSize >= UInt64(PayloadDecompression.sharedDecompressionSize))
            decided.append(policy.decompressOnReader(&m))
            #expect((m.compression == .none) == decided.last!)
        }
        #expect(decided == (alternating ? [true, false, true, false, true] : [true, true, true, true, true]))
        // Small payloads in between do not count.
        var small = Self.message(chunk: 9, valuesPerRow: 1)
        let hereSmall = policy.decompressOnReader(&small)
        #expect(hereSmall)
        #expect(policy.largePayloads == (alternating ? 5 : 0))
    }

    @Test("a corrupt or uncompressed payload is left as it is; the worker reports the corrupt one")
    func corruptLeftToWorker() throws {
        let broken = SyntheticChunks.broken(Self.store, offset: 0, chunk: 3, .truncatedPayload)
        guard case .arrowMsg(let corrupt) = broken.message else { Issue.record("not an ArrowMsg"); return }
        var policy = PayloadDecompression(maxQueuedBytes: nil, alternatesLargePayloads: true)
        var m = corrupt
        let hereM = policy.decompressOnReader(&m)
        #expect(!hereM)
        #expect(m == corrupt)
        let arena = SlabArena(.payloads)
        do {
            _ = try PayloadDecompression.workerPayload(of: m, arena: arena)
            Issue.record("a corrupt payload decompressed")
        } catch {
            #expect(error.message.contains("does not decompress"), "\(error)")
        }
        // Already uncompressed: nothing to do on either side; the worker hands the payload on as it is.
        var plain = Self.message(chunk: 4, valuesPerRow: 1)
        let herePlain = policy.decompressOnReader(&plain)
        #expect(herePlain)
        let decompressed = plain
        let again = policy.decompressOnReader(&plain)
        #expect(!again)
        #expect(plain == decompressed)
        let payload = try PayloadDecompression.workerPayload(of: plain, arena: arena)
        #expect(payload.storage === plain.payload.storage && payload.range == plain.payload.range)
    }

    @Test("the worker decompresses what the reader left into its own arena, and refuses other encodings")
    func workerPart() throws {
        let msg = Self.message(chunk: 5, valuesPerRow: 2_000)
        let arena = SlabArena(.payloads)
        let payload = try PayloadDecompression.workerPayload(of: msg, arena: arena)
        #expect(payload.storage.isArenaSlab)
        #expect(payload == (try msg.decompressedPayload()))
        let chunk = try ChunkDecoder().decode(msg, arena: arena)
        #expect(chunk.id == SyntheticChunks.chunkId(5) && chunk.numRows == 8)
        var other = msg
        other.encoding = 2
        do {
            _ = try PayloadDecompression.workerPayload(of: other, arena: arena)
            Issue.record("decoded encoding 2")
        } catch {
            #expect(error.message == "ArrowMsg encoding 2 is not Arrow IPC (1)")
        }
    }
}
