import ArgumentParser
import IngestCore
import RRD

/// `ingest stats FILE...`: messages by kind, stores, byte totals, footer status, per input.
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Summarize recordings: messages by kind, stores, chunks, rows, bytes, footer status.",
        discussion: """
            Like print, every ArrowMsg payload is decompressed and its Arrow IPC framing walked; damaged \
            chunks are listed under errors and not counted as chunks. With --json: one JSON object per \
            input, one per line. An input that cannot be opened is one line on stderr and has no \
            summary; the others are still read. Exit status: 0 clean, 1 damaged, 2 usage error, 3 I/O \
            error ('ingest help').

            Examples:
              ingest stats recording.rrd                       summary of one recording
              ingest stats --json logs/*.rrd                   one JSON object per file
              ingest stats --max-message-size 1048576 x.rrd    refuse larger messages
            """
    )

    @OptionGroup var input: InputOptions

    mutating func run() throws {
        var out = OutputBuffer()
        var status = IngestExitStatus.success
        for path in input.files {
            let stats: Stats
            do {
                stats = try Self.collect(path: path, options: input.readerOptions)
            } catch {
                out.flush()
                reportUnreadable("stats", error)
                status.raise(IngestExitStatus.of(error))
                continue
            }
            if input.json {
                out.line(stats.json.serialized())
            } else {
                for line in stats.textLines { out.line(line) }
            }
            if !stats.errors.isEmpty {
                out.flush()
                let what = stats.status == .ioError ? "an I/O error stopped reading" : "damaged input"
                printError("ingest stats: \(path): \(what) (\(stats.errors.count) error(s))")
            }
            status.raise(stats.status)
        }
        out.flush()
        try status.exit()
    }

    /// Reads one input and gathers its statistics.
    /// - Throws: the ``RRD/RRDError`` of an input that cannot be opened.
    static func collect(path: String, options: ReaderOptions = .init()) throws(RRDError) -> Stats {
        var reader = try RRDReader(path: path, options: options)
        return collect(reader: &reader, path: path, options: options)
    }

    /// Gathers the statistics of what `reader` reads (a seam for tests).
    static func collect(reader: inout RRDReader, path: String, options: ReaderOptions = .init()) -> Stats {
        var stats = Stats(file: path)
        let result = scanInput(&reader, path: path, options: options) { event, check in stats.add(event, check) }
        stats.bytesConsumed = result.bytesConsumed
        stats.status = result.status
        return stats
    }
}

/// Statistics of one input.
struct Stats {
    struct Stream {
        var offset: UInt64
        var version: String
        var compression: String
        var endMessage = false
        /// The End message's body length (0 before SDK 0.28: no stream footer follows).
        var endLength: UInt64 = 0
        var footer: StreamFooterInfo?
        /// A ``RRD/RRDError/Code/badFooter`` error came while reading this stream.
        var footerError = false
    }

    struct Store {
        var id: StoreId
        var setStoreInfoMessages = 0
        var chunks = 0
        var staticChunks = 0
        var rows: Int64 = 0
        var compressedBytes: UInt64 = 0
        var uncompressedBytes: UInt64 = 0
    }

    var file: String
    var streams: [Stream] = []
    var messages: [MessageKind: Int] = [:]
    var stores: [Store] = []
    var storeIndex: [StoreId: Int] = [:]
    var activations: [BlueprintActivationCommand] = []
    var chunks = 0
    var staticChunks = 0
    var rows: Int64 = 0
    var payloadBytes: UInt64 = 0
    var arrowCompressed: UInt64 = 0
    var arrowUncompressed: UInt64 = 0
    /// Offset just after the last complete stream header, message or footer (the file size when intact).
    var bytesConsumed: UInt64 = 0
    var errors: [RRDError] = []
    /// What reading the input calls for: ``IngestExitStatus/ioError`` when an I/O error ended it.
    var status = IngestExitStatus.success

    init(file: String) { self.file = file }

    private mutating func store(_ id: StoreId) -> Int {
        if let i = storeIndex[id] { return i }
        stores.append(Store(id: id))
        storeIndex[id] = stores.count - 1
        return stores.count - 1
    }

    mutating func add(_ event: StreamEvent, _ check: PayloadCheck?) {
        switch event {
        case .streamHeader(let h, let offset):
            streams.append(Stream(offset: offset, version: h.versionString, compression: h.compressionName))
        case .message(let m):
            messages[m.message.kind, default: 0] += 1
            payloadBytes += m.length
            switch m.message {
            case .setStoreInfo(let s):
                stores[store(s.info.storeId)].setStoreInfoMessages += 1
            case .arrowMsg(let a):
                let i = store(a.storeId)
                switch check {
                case .ok(let size, let r, _, let isStatic)?:
                    chunks += 1
                    rows += r
                    stores[i].chunks += 1
                    stores[i].rows += r
                    if isStatic == true {
                        staticChunks += 1
                        stores[i].staticChunks += 1
                    }
                    stores[i].compressedBytes += UInt64(a.payload.count)
                    stores[i].uncompressedBytes += UInt64(size)
                    arrowCompressed += UInt64(a.payload.count)
                    arrowUncompressed += UInt64(size)
                case .damaged(let e)?:
                    errors.append(e)
                case nil:
                    break
                }
            case .blueprintActivationCommand(let b):
                activations.append(b)
            case .end:
                if !streams.isEmpty {
                    streams[streams.count - 1].endMessage = true
                    streams[streams.count - 1].endLength = m.length
                }
            }
        case .streamFooter(let f, _):
            if !streams.isEmpty { streams[streams.count - 1].footer = f }
        case .error(let e):
            if e.code == .badFooter, !streams.isEmpty { streams[streams.count - 1].footerError = true }
            errors.append(e)
        }
    }

    /// `ok`, `crc_mismatch`, `misplaced`, `incomplete` (an End message whose stream footer is missing
    /// or cut) or `none` (no stream footer written: no End message, or an End with an empty body and
    /// nothing after it but the end of the input or the next stream, as SDKs before 0.28 write).
    static func footerStatus(_ s: Stream) -> String {
        if let f = s.footer { return f.crcOK && f.pointsAtEndPayload ? "ok" : (f.crcOK ? "misplaced" : "crc_mismatch") }
        return s.endMessage && (s.endLength > 0 || s.footerError) ? "incomplete" : "none"
    }

    var messageCounts: JSONObject {
        var o = JSONObject()
        for k in [MessageKind.setStoreInfo, .arrowMsg, .blueprintActivationCommand, .end] {
            o[k.description] = .uint(UInt64(messages[k] ?? 0))
        }
        return o
    }

    var json: JSONObject {
        var o: JSONObject = ["file": .string(file), "valid": .bool(errors.isEmpty)]
        o["streams"] = .array(
            streams.map { s in
                var so: JSONObject = [
                    "offset": .uint(s.offset), "version": .string(s.version), "compression": .string(s.compression),
                    "footer": .string(Stats.footerStatus(s)),
                ]
                if let f = s.footer { so["crc"] = .uint(UInt64(f.crc)) }
                return .object(so)
            })
        o["totals"] = .object([
            "streams": .uint(UInt64(streams.count)), "chunks": .uint(UInt64(chunks)), "rows": .int(rows),
            "static_chunks": .uint(UInt64(staticChunks)), "messages": .object(messageCounts),
        ])
        o["stores"] = .array(
            stores.map { s in
                .object([
                    "kind": .string(s.id.kind.description), "application_id": .string(s.id.applicationId),
                    "recording_id": .string(s.id.recordingId),
                    "set_store_info_messages": .uint(UInt64(s.setStoreInfoMessages)),
                    "num_chunks": .uint(UInt64(s.chunks)), "num_rows": .int(s.rows),
                    "num_static_chunks": .uint(UInt64(s.staticChunks)),
                    "compressed_bytes": .uint(s.compressedBytes), "uncompressed_bytes": .uint(s.uncompressedBytes),
                ])
            })
        o["blueprint_activations"] = .array(
            activations.map { b in
                .object([
                    "blueprint_id": b.blueprintId.json, "make_active": .bool(b.makeActive),
                    "make_default": .bool(b.makeDefault),
                ])
            })
        o["bytes"] = .object([
            "consumed": .uint(bytesConsumed), "message_payloads": .uint(payloadBytes),
            "arrow_compressed": .uint(arrowCompressed),
            "arrow_uncompressed": .uint(arrowUncompressed),
        ])
        o["errors"] = .array(errors.map { .object(errorJSON($0)) })
        return o
    }

    var textLines: [String] {
        var lines: [String] = []
        let total = messages.values.reduce(0, +)
        let kinds = [MessageKind.setStoreInfo, .arrowMsg, .blueprintActivationCommand, .end]
            .map { "\($0) \(messages[$0] ?? 0)" }.joined(separator: ", ")
        lines.append("\(file): \(streams.count) stream(s), \(total) messages (\(kinds))")
        lines.append("  chunks: \(chunks) (\(staticChunks) static), \(rows) rows")
        for s in streams {
            var line =
                "  stream @\(s.offset): RRF2 \(s.version), compression \(s.compression), footer \(Stats.footerStatus(s))"
            if let f = s.footer { line += " (crc \(hex32(f.crc)))" }
            lines.append(line)
        }
        for s in stores {
            lines.append(
                "  store \(s.id.kind) app=\(s.id.applicationId) rec=\(s.id.recordingId): \(s.setStoreInfoMessages) SetStoreInfo, "
                    + "\(s.chunks) chunks (\(s.staticChunks) static), \(s.rows) rows, \(s.compressedBytes) B → \(s.uncompressedBytes) B"
            )
        }
        for b in activations {
            lines.append(
                "  blueprint activation \(b.blueprintId): make_active=\(b.makeActive) make_default=\(b.makeDefault)")
        }
        lines.append(
            "  bytes: \(bytesConsumed) decoded, \(payloadBytes) in message payloads, Arrow \(arrowCompressed) B compressed → \(arrowUncompressed) B"
        )
        if errors.isEmpty {
            lines.append("  errors: none")
        } else {
            lines.append("  errors: \(errors.count)")
            for e in errors { lines.append("    at byte \(e.offset): \(e.message)") }
        }
        return lines
    }
}
