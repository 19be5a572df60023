extension ArrowIPCWriter {
    /// The Arrow IPC **file** format (what `pyarrow.ipc.open_file`, Polars' `read_ipc` and DuckDB's
    /// arrow extension open): the magic `ARROW1` (padded to 8), the stream of `schema`, the
    /// dictionaries of the first batch, one record batch per element of `batches`, the end-of-stream
    /// marker, then the `Footer` flatbuffer (schema and the blocks of every dictionary and record
    /// batch), its length and the magic again.
    ///
    /// - Throws: ``ArrowError/Code/invalidData`` when a batch does not match the schema;
    ///   ``ArrowError/Code/unsupported`` when a dictionary-encoded field's dictionary changes after
    ///   the first batch (the file format has no dictionary replacement: write one batch);
    ///   ``ArrowError/Code/compression`` when a compressor fails.
    public static func file(
        schema: ArrowSchema, batches: [(columns: [ArrowArray], length: Int)], compression: BodyCompression = .none
    ) throws(ArrowError) -> [UInt8] {
        var out: [UInt8] = Array("ARROW1".utf8) + [0, 0]
        appendMessage(&out, header: .schema(schema), body: [])
        var dictionaryBlocks: [(Int64, Int32, Int64)] = []
        var batchBlocks: [(Int64, Int32, Int64)] = []
        /// Appends one message and returns its block (offset, metadata length with prefix, body length).
        func block(_ header: Header, _ body: [UInt8]) -> (Int64, Int32, Int64) {
            // Every block starts 8-aligned (readers refuse others): bodies are padded to 8.
            var body = body
            body += [UInt8](repeating: 0, count: (8 - body.count % 8) % 8)
            let start = out.count
            appendMessage(&out, header: header, body: body)
            return (Int64(start), Int32(out.count - start - body.count), Int64(body.count))
        }
        for (b, batch) in batches.enumerated() {
            let messages = try batchMessages(
                schema: schema, columns: batch.columns, length: batch.length, compression: compression)
            guard b == 0 || messages.dictionaries.isEmpty else {
                throw ArrowError(
                    .unsupported, "an Arrow IPC file cannot replace dictionaries after its first record batch")
            }
            for (header, body) in messages.dictionaries { dictionaryBlocks.append(block(header, body)) }
            batchBlocks.append(block(messages.batch.header, messages.batch.body))
        }
        out += endOfStream
        // Footer: version V5, schema, dictionaries, record batches (Block: offset, metaDataLength, bodyLength).
        let footer = FBNode.table([
            .int16(4), .ref(schemaTable(schema)), .ref(blocks(dictionaryBlocks)), .ref(blocks(batchBlocks)),
        ])
        let meta = FlatBufferLayout.serialize(footer)
        out += meta
        withUnsafeBytes(of: Int32(meta.count).littleEndian) { out += $0 }
        out += Array("ARROW1".utf8)
        return out
    }

    /// A vector of `Block` structs (24 bytes: int64 offset, int32 metadata length, 4 bytes of padding,
    /// int64 body length).
    static func blocks(_ blocks: [(Int64, Int32, Int64)]) -> FBNode {
        var b: [UInt8] = []
        b.reserveCapacity(24 * blocks.count)
        for (offset, meta, body) in blocks {
            withUnsafeBytes(of: offset.littleEndian) { b += $0 }
            withUnsafeBytes(of: meta.littleEndian) { b += $0 }
            b += [0, 0, 0, 0]
            withUnsafeBytes(of: body.littleEndian) { b += $0 }
        }
        return .inline(count: blocks.count, stride: 24, alignment: 8, bytes: b)
    }
}
