import ArrowIPC
import Chunks
import Foundation
import IngestCore
import IngestTestSupport
import Ingestion
import RRD
import Testing

/// Little-endian and protobuf encoders for a synthetic recording (tests only).
private enum Encode {
    static func u64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    static func varint(_ v: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        var v = v
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        return out + [UInt8(v)]
    }
    static func vfield(_ field: UInt64, _ v: UInt64) -> [UInt8] { varint(field << 3) + varint(v) }
    static func ld(_ field: UInt64, _ bytes: [UInt8]) -> [UInt8] { varint(field << 3 | 2) + varint(UInt64(bytes.count)) + bytes }
    static func fixed64(_ field: UInt64, _ v: UInt64) -> [UInt8] { varint(field << 3 | 1) + u64(v) }

    /// An RRD stream of the synthetic chunks `0..<count` (rows `1 + i % 5`) as *uncompressed* ArrowMsgs.
    static func uncompressedRecording(_ store: StoreId, count: Int) -> [UInt8] {
        var out = Array("RRF2".utf8) + [0, 41, 0, 0, 0, 2, 0, 0]
        for i in 0..<count {
            let m = SyntheticChunks.chunk(store, offset: 0, chunk: UInt64(i), rows: 1 + i % 5, valuesPerRow: 30)
            guard case .arrowMsg(let a) = m.message, let ipc = try? a.decompressedPayload() else { fatalError() }
            let storeId =
                vfield(1, store.kind.rawValue) + ld(2, Array(store.recordingId.utf8))
                + ld(3, ld(1, Array(store.applicationId.utf8)))
            let id = SyntheticChunks.chunkId(UInt64(i))
            let msg =
                ld(1, storeId) + vfield(2, 1) + vfield(3, UInt64(ipc.count)) + vfield(4, 1) + ld(5, ipc.bytes)
                + ld(6, fixed64(1, id.tuid.timeNs) + fixed64(2, id.tuid.inc))
            out += u64(2) + u64(UInt64(msg.count)) + msg
        }
        return out
    }

    /// An RRD stream of the synthetic chunks `0..<count` as they come (LZ4-compressed ArrowMsgs).
    static func compressedRecording(_ store: StoreId, count: Int, rows: Int, valuesPerRow: Int) -> [UInt8] {
        var out = Array("RRF2".utf8) + [0, 41, 0, 0, 1, 2, 0, 0]
        for i in 0..<count {
            let m = SyntheticChunks.chunk(store, offset: 0, chunk: UInt64(i), rows: rows, valuesPerRow: valuesPerRow)
            guard case .arrowMsg(let a) = m.message else { fatalError() }
            let storeId =
                vfield(1, store.kind.rawValue) + ld(2, Array(store.recordingId.utf8))
                + ld(3, ld(1, Array(store.applicationId.utf8)))
            let id = SyntheticChunks.chunkId(UInt64(i))
            let msg =
                ld(1, storeId) + vfield(2, 2) + vfield(3, a.uncompressedSize) + vfield(4, 1) + ld(5, a.payload.bytes)
                + ld(6, fixed64(1, id.tuid.timeNs) + fixed64(2, id.tuid.inc))
            out += u64(2) + u64(UInt64(msg.count)) + msg
        }
        return out
    }
}

@Suite("Reader memory: recycled read blocks, payload arenas (both builds)")
struct ReaderMemoryTests {
    @Test("uncompressed payloads queued from block N decode intact while later blocks are read into recycled memory")
    func queuedSlicesSurviveBlockReuse() throws {
        let store = SyntheticMessages.storeId(1)
        let count = 300
        let bytes = Encode.uncompressedRecording(store, count: count)
        let gate = WorkerGate(open: StoreHub.isSynchronous)
        let options = ReplayOptions(
            readerThreads: 1, readerOptions: ReaderOptions(readBlockSize: 4096),
            openSource: { _ throws(ByteSourceError) in FlakySource(bytes: bytes, piece: 1 << 20, failAt: .max, failures: 0) })
        let pipeline = ReplayPipeline(
            inputs: [.file("synthetic.rrd")], configuration: IngestConfiguration(queueCapacity: 1000).gated(by: gate),
            options: options)
        // Threaded: the worker waits at the gate until the whole input was read, so every queued
        // payload that is a slice of a read block is still referenced while later blocks are read.
        let opener = Thread {
            while pipeline.progress.filesDone < 1 { usleep(1000) }
            gate.open()
        }
        opener.start()
        var chunks: [Int: (rows: Int, ids: [RowId])] = [:]
        let report = pipeline.run(onOutput: { _, item in
            if case .chunk(let c) = item.event { chunks[Int(c.id.tuid.inc)] = (c.numRows, c.rowIds) }
        })
        pipeline.hub.shutdown(drain: true)
        #expect(!report.hasFailures, "\(report.files[0].errors)")
        #expect(report.stores.first?.decodeErrors == 0)
        #expect(chunks.count == count)
        for i in 0..<count {
            // The chunk's id, row count and row ids all come from its payload bytes.
            let c = chunks[i]
            let want = SyntheticChunks.chunk(store, offset: 0, chunk: UInt64(i), rows: 1 + i % 5, valuesPerRow: 30)
            guard case .arrowMsg(let a) = want.message, let reference = try? ChunkDecoder().decode(a) else {
                Issue.record("reference chunk \(i)")
                continue
            }
            let same = c?.rows == reference.numRows && c?.ids == reference.rowIds
            #expect(same, "chunk \(i)")
        }
    }

    @Test("large LZ4 payloads, shared between the reader and the worker, all decode intact and in order")
    func largePayloadsShared() throws {
        let store = SyntheticMessages.storeId(2)
        let count = 9
        let valuesPerRow = 40_000  // 8 rows × 160 KB: ≥ 1 MiB per payload, above ReplayPipeline.sharedDecompressionSize
        let bytes = Encode.compressedRecording(store, count: count, rows: 8, valuesPerRow: valuesPerRow)
        let options = ReplayOptions(
            readerThreads: 1,
            openSource: { _ throws(ByteSourceError) in FlakySource(bytes: bytes, piece: 1 << 20, failAt: .max, failures: 0) })
        let pipeline = ReplayPipeline(inputs: [.file("large.rrd")], options: options)
        var order: [Int] = []
        var sums: [Int: Double] = [:]
        let report = pipeline.run(onOutput: { _, item in
            guard case .chunk(let c) = item.event else { return }
            order.append(Int(c.id.tuid.inc))
            // Every value of the column (the list's float64 items) goes into a checksum.
            let values = c.components[0].column.children[0]
            var sum = 0.0
            for k in 0..<values.length { sum += values.value(at: k, as: Double.self) * Double(k % 7 + 1) }
            sums[Int(c.id.tuid.inc)] = sum
        })
        pipeline.hub.shutdown(drain: true)
        #expect(!report.hasFailures, "\(report.files[0].errors)")
        #expect(order == Array(0..<count))
        for i in 0..<count {
            let m = SyntheticChunks.chunk(store, offset: 0, chunk: UInt64(i), rows: 8, valuesPerRow: valuesPerRow)
            guard case .arrowMsg(let a) = m.message else { continue }
            #expect(a.uncompressedSize >= UInt64(ReplayPipeline.sharedDecompressionSize))
            let reference = try ChunkDecoder().decode(a)
            let values = reference.components[0].column.children[0]
            var sum = 0.0
            for k in 0..<values.length { sum += values.value(at: k, as: Double.self) * Double(k % 7 + 1) }
            #expect(sums[i] == sum, "chunk \(i)")
        }
    }
}
