import ArgumentParser
import Chunks
import IngestCore
import Ingestion
import RRD

/// `ingest print FILE...`: one line per stream header, message, stream footer and error.
struct PrintCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "print",
        abstract: "List every message of recordings: offset, kind, store, chunk id, sizes.",
        discussion: """
            Every ArrowMsg payload is decompressed (checking its declared size) and its Arrow IPC framing \
            is walked; damage is reported as an Error line at the message's offset and reading continues \
            with the next message. An input that cannot be opened is one line on stderr; the others are \
            still read. Exit status: 0 clean, 1 damaged, 2 usage error, 3 I/O error ('ingest help').

            Examples:
              ingest print recording.rrd            one line per header, message, footer
              ingest print -v recording.rrd         also decode each chunk
              ingest print --json a.rrd b.rrd.zst   JSON lines, each with its "file"
              cat recording.rrd | ingest print -    standard input
            """
    )

    @OptionGroup var input: InputOptions

    @Flag(
        name: [.customShort("v"), .long],
        help: """
            Also decode each chunk and show its entity path, row count, timelines with their ranges and \
            components with their Arrow types (JSON: "entity_path", "num_rows", "timelines", "components").
            """)
    var verbose = false

    mutating func run() throws {
        var out = OutputBuffer()
        var status = IngestExitStatus.success
        for path in input.files {
            var reader: RRDReader
            do {
                reader = try RRDReader(path: path, options: input.readerOptions)
            } catch {
                out.flush()
                reportUnreadable("print", error)
                status.raise(IngestExitStatus.of(error))
                continue
            }
            let tag = input.files.count > 1 ? path : nil
            let result = Self.lines(
                reader: &reader, path: path, json: input.json, verbose: verbose, file: tag,
                options: input.readerOptions
            ) { out.line($0) }
            if result != .success {
                out.flush()
                let what = result == .ioError ? "an I/O error stopped reading" : "damaged input"
                printError("ingest print: \(path): \(what) (see the Error lines)")
            }
            status.raise(result)
        }
        out.flush()
        try status.exit()
    }

    /// Produces the output lines for one input; returns the exit status it calls for: damage
    /// (``IngestExitStatus/damagedInput``) or an I/O error (``IngestExitStatus/ioError``). An input that cannot
    /// be opened gives no lines, only one line on stderr (`ingest print: PATH: cannot open: …`).
    ///
    /// - Parameter file: added as a `"file"` key (JSON) or a prefix (text) when several inputs are listed.
    @discardableResult
    static func lines(
        path: String, json: Bool, verbose: Bool = false, file: String? = nil, options: ReaderOptions = .init(),
        _ emit: (String) -> Void
    ) -> IngestExitStatus {
        var reader: RRDReader
        do {
            reader = try RRDReader(path: path, options: options)
        } catch {
            reportUnreadable("print", error)
            return IngestExitStatus.of(error)
        }
        return lines(reader: &reader, path: path, json: json, verbose: verbose, file: file, options: options, emit)
    }

    /// The lines of what `reader` reads (see ``lines(path:json:verbose:file:options:_:)``; `run()`
    /// and tests with a source of their own use it).
    static func lines(
        reader: inout RRDReader, path: String, json: Bool, verbose: Bool = false, file: String? = nil,
        options: ReaderOptions = .init(), _ emit: (String) -> Void
    ) -> IngestExitStatus {
        // An inspector: the chunk as the bytes hold it (no migration of old schemas).
        let decoder = verbose ? ChunkDecoder(migratesSchemas: false) : nil
        var chunkDamaged = false
        var status = scanInput(&reader, path: path, options: options) { event, check in
            var chunkLines: [String] = []
            var objects = objects(event, check)
            // -v: the chunk behind an intact payload, decoded completely (a decode error is damage too).
            if let decoder, case .message(let m) = event, case .arrowMsg(let a) = m.message, case .ok? = check {
                do {
                    let chunk = try decoder.decode(a)
                    chunkLines = chunk.summaryLines().map { "            " + $0 }
                    objects[0].merge(chunkJSON(chunk))
                } catch {
                    chunkDamaged = true
                    objects.append(
                        errorJSON(RRDError(.badPayload, source: path, offset: m.offset, "chunk: \(error)")))
                }
            }
            for (i, var object) in objects.enumerated() {
                if json {
                    if let file { object["file"] = .string(file) }
                    emit(object.serialized())
                } else {
                    emit((file.map { $0 + ": " } ?? "") + text(object))
                    if i == 0 { chunkLines.forEach(emit) }
                }
            }
        }.status
        if chunkDamaged { status.raise(.damagedInput) }
        return status
    }

    /// The `-v` fields of a decoded chunk.
    static func chunkJSON(_ chunk: Chunk) -> JSONObject {
        var timelines: JSONObject = [:]
        for t in chunk.timelines {
            var o: JSONObject = ["arrow_type": .string(t.arrowType), "sorted": .bool(t.isSorted)]
            o["min"] = t.range.map { .int($0.lowerBound) } ?? .null
            o["max"] = t.range.map { .int($0.upperBound) } ?? .null
            timelines[t.name] = .object(o)
        }
        var components: JSONObject = [:]
        for c in chunk.components { components[c.name] = .string(c.arrowType) }
        return [
            "entity_path": .string(chunk.entityPath), "num_rows": .int(Int64(chunk.numRows)),
            "timelines": .object(timelines),
            "components": .object(components),
        ]
    }

    /// The JSON objects for one event (an ArrowMsg with a damaged payload gives two: the message and the error).
    static func objects(_ event: StreamEvent, _ check: PayloadCheck?) -> [JSONObject] {
        switch event {
        case .streamHeader(let h, let offset):
            return [
                [
                    "offset": .uint(offset), "kind": "StreamHeader", "version": .string(h.versionString),
                    "compression": .string(h.compressionName),
                ]
            ]
        case .message(let m):
            var o: JSONObject = [
                "offset": .uint(m.offset), "kind": .string(m.message.kind.description), "len": .uint(m.length),
            ]
            switch m.message {
            case .setStoreInfo(let s):
                o["store"] = s.info.storeId.json
            case .arrowMsg(let a):
                // Legacy messages lack the chunk id and is-static fields: the payload's schema gives them.
                var chunkId = a.chunkId
                var isStatic = a.isStatic
                if case .ok(_, _, let id, let s)? = check {
                    chunkId = id
                    isStatic = s
                }
                o["chunk_id"] = .string(chunkId?.description)
                o["store"] = a.storeId.json
                o["compression"] = .string(a.compression.jsonName)
                o["payload_len"] = .uint(UInt64(a.payload.count))
                o["uncompressed_size"] = .uint(a.uncompressedSize)
                if let isStatic { o["is_static"] = .bool(isStatic) }
                if case .ok(_, let rows, _, _)? = check { o["rows"] = .int(rows) }
            case .blueprintActivationCommand(let b):
                o["store"] = b.blueprintId.json
                o["make_active"] = .bool(b.makeActive)
                o["make_default"] = .bool(b.makeDefault)
            case .end:
                break
            }
            if case .damaged(let e)? = check { return [o, errorJSON(e)] }
            return [o]
        case .streamFooter(let f, let offset):
            return [
                [
                    "offset": .uint(offset), "kind": "StreamFooter", "rrd_footer_start": .uint(f.rrdFooterStart),
                    "rrd_footer_len": .uint(f.rrdFooterLength), "crc": .uint(UInt64(f.crc)), "crc_ok": .bool(f.crcOK),
                ]
            ]
        case .error(let e):
            return [errorJSON(e)]
        }
    }

    /// The human-readable line: offset, kind, then the remaining fields.
    static func text(_ o: JSONObject) -> String {
        var offset = ""
        if case .uint(let n)? = o["offset"] { offset = String(n) }
        var kind = ""
        if case .string(let k)? = o["kind"] { kind = k }
        var line =
            String(repeating: " ", count: Swift.max(0, 10 - offset.count)) + offset + "  "
            + kind.padding(to: 27)
        switch kind {
        case "Error":
            if case .string(let e)? = o["error"] { line += e }
        case "ArrowMsg":
            line += storeText(o["store"]) + "  "
            if case .string(let c)? = o["chunk_id"] { line += c } else { line += "chunk_?" }
            if case .uint(let p)? = o["payload_len"], case .uint(let u)? = o["uncompressed_size"],
                case .string(let c)? = o["compression"]
            {
                line += "  \(p) B → \(u) B (\(c))"
            }
            if case .int(let r)? = o["rows"] { line += ", \(r) rows" }
        case "SetStoreInfo":
            line += storeText(o["store"]) + "  \(lenText(o))"
        case "BlueprintActivationCommand":
            line += storeText(o["store"])
            if case .bool(let a)? = o["make_active"], case .bool(let d)? = o["make_default"] {
                line += "  make_active=\(a) make_default=\(d)"
            }
        case "End":
            line += lenText(o)
        case "StreamHeader":
            if case .string(let v)? = o["version"], case .string(let c)? = o["compression"] {
                line += "RRF2 \(v), compression \(c)"
            }
        case "StreamFooter":
            if case .bool(let ok)? = o["crc_ok"], case .uint(let crc)? = o["crc"] {
                line += "crc " + hex32(UInt32(crc)) + (ok ? " ok" : " MISMATCH")
            }
        default:
            break
        }
        return line
    }

    private static func storeText(_ v: JSONValue?) -> String {
        guard case .object(let s)? = v else { return "-" }
        var parts: [String] = []
        for k in ["kind", "application_id", "recording_id"] {
            if case .string(let x)? = s[k] { parts.append(x) }
        }
        return parts.joined(separator: ":")
    }

    private static func lenText(_ o: JSONObject) -> String {
        if case .uint(let n)? = o["len"] { return "\(n) B" }
        return ""
    }
}

/// `0x` + 8 hex digits.
func hex32(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: Swift.max(0, 8 - s.count)) + s
}

extension String {
    /// Pads with spaces to `width` characters (never truncates).
    func padding(to width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
