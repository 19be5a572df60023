import ArrowIPC
import CLZ4
import IngestCore
import RRD

/// Builds *valid* chunk messages without files: a real Arrow IPC stream (schema + one record
/// batch, Rerun's chunk conventions) LZ4-compressed into an `ArrowMsg`, which the engine decodes
/// into a ``Chunks/Chunk`` and inserts into the store. Deterministic: the same arguments give the
/// same bytes. Also builds deliberately broken ones (``Breakage``).
///
/// Each chunk has a RowId column (row ids `(chunk, row)`, ascending), an optional sequence
/// timeline `frame` (absent for static chunks), and one component column `Scalar:scalars` of
/// `list<float64>` with `valuesPerRow` values per row.
///
/// ```swift
/// let store = SyntheticMessages.storeId(1)
/// let m = SyntheticChunks.chunk(store, offset: 0, chunk: 1, rows: 10)
/// try db.submit(m, source: "t")   // comes out as .chunk with 10 rows
/// ```
public enum SyntheticChunks {
    /// What is wrong with a broken chunk message.
    public enum Breakage: Sendable, CaseIterable {
        /// The LZ4 payload is cut in half (decompression fails).
        case truncatedPayload
        /// Valid LZ4 of bytes that are not an Arrow IPC stream.
        case notArrow
        /// A valid Arrow stream without a RowId column (breaks the chunk conventions).
        case missingRowIds
        /// The declared uncompressed size is wrong.
        case wrongUncompressedSize
    }

    /// The entity path of chunk `chunk` (spread over 4 entities).
    public static func entityPath(chunk: UInt64) -> String { "/synthetic/e\(chunk % 4)" }

    /// A valid `ArrowMsg` for `store`.
    /// - Parameters:
    ///   - offset: the framed message's offset (outputs carry it back).
    ///   - chunk: the chunk id's counter half (the same number twice makes a duplicate).
    ///   - rows: rows in the chunk (0 gives a chunk the store drops as empty).
    ///   - valuesPerRow: floats per row (the size knob).
    ///   - isStatic: no timeline (static data).
    public static func chunk(
        _ store: StoreId, offset: UInt64, chunk: UInt64, rows: Int = 1, valuesPerRow: Int = 1,
        isStatic: Bool = false
    ) -> FramedMessage {
        let ipc = arrowStream(chunk: chunk, rows: rows, valuesPerRow: valuesPerRow, isStatic: isStatic)
        return framed(store, offset: offset, chunk: chunk, ipc: ipc, isStatic: isStatic)
    }

    /// A broken `ArrowMsg` for `store`: decoding it yields an error item in its place.
    public static func broken(_ store: StoreId, offset: UInt64, chunk: UInt64, _ breakage: Breakage) -> FramedMessage {
        switch breakage {
        case .truncatedPayload:
            let ipc = arrowStream(chunk: chunk, rows: 4, valuesPerRow: 4, isStatic: false)
            var m = framed(store, offset: offset, chunk: chunk, ipc: ipc, isStatic: false)
            if case .arrowMsg(var a) = m.message {
                let bytes = a.payload.withUnsafeBytes { Array($0.prefix($0.count / 2)) }
                a.payload = ByteSlice(copying: bytes)
                m = FramedMessage(offset: offset, length: m.length, message: .arrowMsg(a))
            }
            return m
        case .notArrow:
            return framed(
                store, offset: offset, chunk: chunk, ipc: [UInt8](repeating: 0x5A, count: 64), isStatic: false)
        case .missingRowIds:
            let ipc = arrowStream(chunk: chunk, rows: 2, valuesPerRow: 1, isStatic: false, withRowIds: false)
            return framed(store, offset: offset, chunk: chunk, ipc: ipc, isStatic: false)
        case .wrongUncompressedSize:
            let ipc = arrowStream(chunk: chunk, rows: 2, valuesPerRow: 1, isStatic: false)
            var m = framed(store, offset: offset, chunk: chunk, ipc: ipc, isStatic: false)
            if case .arrowMsg(var a) = m.message {
                a.uncompressedSize += 1
                m = FramedMessage(offset: offset, length: m.length, message: .arrowMsg(a))
            }
            return m
        }
    }

    /// The chunk id of chunk number `chunk`.
    public static func chunkId(_ chunk: UInt64) -> ChunkId { ChunkId(timeNs: 1_700_000_000_000_000_000, inc: chunk) }

    private static func framed(
        _ store: StoreId, offset: UInt64, chunk: UInt64, ipc: [UInt8], isStatic: Bool
    ) -> FramedMessage {
        let compressed = lz4(ipc)
        let msg = ArrowMsg(
            storeId: store, compression: .lz4, uncompressedSize: UInt64(ipc.count), encoding: 1,
            payload: ByteSlice(copying: compressed), chunkId: chunkId(chunk), isStatic: isStatic)
        return FramedMessage(offset: offset, length: UInt64(compressed.count + 64), message: .arrowMsg(msg))
    }

    /// LZ4 block compression (`LZ4_compress_default`).
    static func lz4(_ input: [UInt8]) -> [UInt8] {
        let bound = Int(LZ4_compressBound(Int32(input.count)))
        var out = [UInt8](repeating: 0, count: Swift.max(bound, 1))
        let n = input.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                src.withMemoryRebound(to: CChar.self) { s in
                    dst.withMemoryRebound(to: CChar.self) { d in
                        LZ4_compress_default(s.baseAddress, d.baseAddress, Int32(input.count), Int32(bound))
                    }
                }
            }
        }
        precondition(n > 0 || input.isEmpty, "LZ4_compress_default failed: \(n)")
        return Array(out.prefix(Int(n)))
    }

    // MARK: Arrow IPC

    private static func keyValues(_ pairs: [(String, String)]) -> FBField {
        .ref(.vector(pairs.map { .table([.ref(.string($0.0)), .ref(.string($0.1))]) }))
    }

    /// A `Field` table: name, nullable, type tag + type table, children, metadata.
    private static func field(
        _ name: String, typeTag: UInt8, type: [FBField?], children: [FBNode] = [], metadata: [(String, String)]
    ) -> FBNode {
        .table([
            .ref(.string(name)), .bool(true), .uint8(typeTag), .ref(.table(type)), nil,
            .ref(.vector(children)), metadata.isEmpty ? nil : keyValues(metadata),
        ])
    }

    /// One framed IPC message: continuation marker, metadata size, metadata, body.
    private static func ipcMessage(headerType: UInt8, header: FBNode, body: [UInt8]) -> [UInt8] {
        let meta = FlatBufferLayout.serialize(
            .table([.int16(4), .uint8(headerType), .ref(header), .int64(Int64(body.count))]))
        var out: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF]
        withUnsafeBytes(of: UInt32(meta.count).littleEndian) { out += $0 }
        return out + meta + body
    }

    private static func le<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(values.count * MemoryLayout<T>.size)
        for v in values { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        return out
    }

    private static func arrowStream(
        chunk: UInt64, rows: Int, valuesPerRow: Int, isStatic: Bool, withRowIds: Bool = true
    ) -> [UInt8] {
        // Schema (Arrow type tags: Int 2, FloatingPoint 3, List 12, FixedSizeBinary 15).
        var fields: [FBNode] = []
        if withRowIds {
            fields.append(
                field(
                    "rerun.controls.RowId", typeTag: 15, type: [.int32(16)],
                    metadata: [("rerun:kind", "control")]))
        }
        if !isStatic {
            fields.append(
                field(
                    "frame", typeTag: 2, type: [.int32(64), .bool(true)],
                    metadata: [("rerun:kind", "index"), ("rerun:index_name", "frame")]))
        }
        let item = field("item", typeTag: 3, type: [.int16(2)], metadata: [])
        fields.append(
            field(
                "Scalar:scalars", typeTag: 12, type: [], children: [item],
                metadata: [
                    ("rerun:kind", "data"), ("rerun:archetype", "rerun.archetypes.Scalars"),
                    ("rerun:component", "Scalar:scalars"), ("rerun:component_type", "rerun.components.Scalar"),
                ]))
        let schema = FBNode.table([
            nil, .ref(.vector(fields)),
            keyValues([
                ("rerun:entity_path", entityPath(chunk: chunk)), ("rerun:id", chunkId(chunk).description),
            ]),
        ])
        var stream = ipcMessage(headerType: 1, header: schema, body: [])

        // Record batch: buffers in field order, depth first (validity, then data/offsets).
        var buffers: [[UInt8]] = []
        var nodes: [(Int, Int)] = []
        if withRowIds {
            var ids: [UInt8] = []
            for r in 0..<rows {
                withUnsafeBytes(of: (UInt64(chunk) << 20 | 1).bigEndian) { ids += $0 }
                withUnsafeBytes(of: UInt64(r).bigEndian) { ids += $0 }
            }
            nodes.append((rows, 0))
            buffers += [[], ids]
        }
        if !isStatic {
            nodes.append((rows, 0))
            buffers += [[], le((0..<rows).map { Int64(chunk) * 1000 + Int64($0) })]
        }
        let values = rows * valuesPerRow
        nodes.append((rows, 0))
        buffers += [[], le((0...rows).map { Int32($0 * valuesPerRow) })]
        nodes.append((values, 0))
        buffers += [[], le((0..<values).map { Double($0) + Double(chunk) / 8 }.map(\.bitPattern))]

        var body: [UInt8] = []
        var specs: [UInt8] = []
        for b in buffers {
            specs += le([Int64(body.count), Int64(b.count)])
            body += b
            while body.count % 8 != 0 { body.append(0) }
        }
        let batch = FBNode.table([
            .int64(Int64(rows)),
            .ref(.int64Pairs(nodes.map { (Int64($0.0), Int64($0.1)) })),
            .ref(.inline(count: buffers.count, stride: 16, alignment: 8, bytes: specs)),
        ])
        stream += ipcMessage(headerType: 3, header: batch, body: body)
        stream += [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]
        return stream
    }
}
