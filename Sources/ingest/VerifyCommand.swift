import ArgumentParser
import Chunks
import IngestCore
import Ingestion
import RRD

#if canImport(Glibc)
import Glibc
#endif

/// `ingest verify FILE...`: decodes every chunk of every file completely (LZ4, Arrow IPC with all
/// buffers, offsets, type ids, dictionary indices and UTF-8 checked, chunk conventions) and exits 0
/// only when every chunk is sound and the framing has no damage.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Decode and validate every chunk of the given recordings.",
        discussion: """
            With --json, writes one JSON object per chunk in file order: {"chunk_id", "store", "entity_path", \
            "num_rows", "is_static", "timelines": {NAME: {"arrow_type", "min", "max", "sorted"}}, \
            "components": {COLUMN: ARROW_TYPE}}; damage as {"kind": "Error", "offset": N, "error": TEXT}. \
            Chunks are shown as the bytes hold them; --migrated adds the view after the migration of old \
            schemas that replay and query apply (JSON: "migrated": {"entity_path", "components"}). An \
            input that cannot be opened is one line on stderr; the others are still verified. Exit \
            status: 0 when every chunk is sound, 1 damaged, 2 usage error, 3 I/O error ('ingest help').

            Examples:
              ingest verify recording.rrd                  one summary line per file
              ingest verify --json recording.rrd           one JSON object per chunk
              ingest verify --migrated old-0.23.rrd        what migration changes
              ingest verify --timing --repeat 5 big.rrd    decode throughput on stderr
            """
    )

    @Argument(help: "Recordings to verify (.rrd/.rbl, zstd-compressed, or - for stdin).")
    var files: [String]

    @Flag(name: .long, help: "One JSON object per chunk (and per error) instead of a summary.")
    var json = false

    @Flag(
        name: .long,
        help: """
            Also show each chunk after the migration of schemas written by older SDKs (today's column \
            names and entity paths, as replay and query see them); text: one line per chunk it changes.
            """)
    var migrated = false

    @Flag(name: .long, help: "Print decode throughput (MB/s of decompressed Arrow IPC, chunks/s) to stderr.")
    var timing = false

    @Option(name: .customLong("repeat"), help: "Decode each file this many times (with --timing, for stable figures).")
    var repetitions: Int = 1

    /// Parses and validates `args` (the seam the tests use).
    static func arguments(_ args: [String]) throws -> VerifyCommand { try parse(args) }

    func validate() throws {
        if files.isEmpty { throw ValidationError("Give at least one file.") }
        if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("Standard input (-) can be read only once.") }
        if repetitions > 1 && files.contains("-") { throw ValidationError("--repeat cannot re-read standard input.") }
        if repetitions < 1 { throw ValidationError("--repeat must be at least 1.") }
    }

    /// Monotonic seconds.
    private static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    func run() throws {
        var status = IngestExitStatus.success
        var totals = Throughput()
        for path in files {
            for pass in 0..<repetitions {
                var reader: RRDReader
                do {
                    reader = try RRDReader(path: path)
                } catch {
                    // One line, no summary; the other files are still verified.
                    reportUnreadable("verify", error)
                    status.raise(IngestExitStatus.of(error))
                    break
                }
                status.raise(verify(&reader, path: path, quiet: pass > 0, totals: &totals))
            }
        }
        if timing {
            let mb = Double(totals.ipcBytes) / 1e6
            let line =
                "decoded \(totals.chunks) chunk(s), \(String(mb)) MB of Arrow IPC in \(String(totals.seconds)) s: "
                + "\(String(Int(mb / max(totals.seconds, 1e-9)))) MB/s, \(String(Int(Double(totals.chunks) / max(totals.seconds, 1e-9)))) chunks/s\n"
            _ = line.withCString { write(2, $0, strlen($0)) }
        }
        try status.exit()
    }

    /// Decode time and volume, summed over files and passes.
    struct Throughput {
        var chunks = 0
        var ipcBytes = 0
        var seconds = 0.0
    }

    /// Verifies what `reader` reads; returns the exit status it calls for (``IngestExitStatus/success``
    /// when every chunk was sound and the framing had no damage). `quiet` suppresses output (repeat
    /// passes).
    func verify(_ reader: inout RRDReader, path: String, quiet: Bool, totals: inout Throughput) -> IngestExitStatus {
        var chunks = 0
        var rows = 0
        var errors = 0
        var status = IngestExitStatus.success
        func report(_ offset: UInt64, _ text: String) {
            errors += 1
            if quiet { return }
            if json {
                let line: JSONObject = ["kind": "Error", "offset": .uint(offset), "error": .string(text)]
                print(line.serialized())
            } else {
                print("\(path): at byte \(offset): \(text)")
            }
        }
        // An inspector: chunks as the bytes hold them; `--migrated` decodes each again as replay does.
        let decoder = ChunkDecoder(migratesSchemas: false)
        decoder.validateFully = true
        let migrating = migrated ? ChunkDecoder() : nil
        while let event = reader.next() {
            switch event {
            case .message(let framed):
                guard case .arrowMsg(let msg) = framed.message else { continue }
                do {
                    let start = timing ? Self.now() : 0
                    let chunk = try decoder.decode(msg)
                    if timing {
                        totals.seconds += Self.now() - start
                        totals.chunks += 1
                        totals.ipcBytes += Int(msg.uncompressedSize)
                    }
                    chunks += 1
                    if quiet { continue }
                    rows += chunk.numRows
                    let migratedChunk = try migrating?.decode(msg)
                    if json {
                        print(Self.json(chunk, store: msg.storeId, migrated: migratedChunk))
                    } else {
                        for w in chunk.warnings {
                            print("\(path): at byte \(framed.offset): warning: \(chunk.id.description): \(w)")
                        }
                        if let migratedChunk, let change = Self.migrationText(chunk, migratedChunk) {
                            print("\(path): at byte \(framed.offset): \(chunk.id.description) migrated: \(change)")
                        }
                    }
                } catch {
                    let id = msg.chunkId.map { " " + $0.description } ?? ""
                    report(framed.offset, "ArrowMsg\(id): \(error.message)")
                    status.raise(.damagedInput)
                }
            case .error(let e):
                report(e.offset, e.message)
                status.raise(IngestExitStatus.of(e))
            case .streamHeader, .streamFooter:
                break
            }
        }
        if !json && !quiet {
            print(
                "\(path): \(chunks) chunk(s), \(rows) row(s) verified" + (errors == 0 ? ", OK" : ", \(errors) error(s)")
            )
        }
        return status
    }

    /// What the migration changed in a chunk (nil: nothing): `raw → migrated` per entity path and
    /// column, `dropped` for a dropped column, in column order.
    static func migrationText(_ raw: Chunk, _ migrated: Chunk) -> String? {
        var parts: [String] = []
        if raw.entityPath != migrated.entityPath { parts.append("\(raw.entityPath) → \(migrated.entityPath)") }
        var after: [Int: ComponentColumn] = [:]
        for c in migrated.components { after[c.recordBatchColumn] = c }
        for c in raw.components {
            if let m = after[c.recordBatchColumn] {
                if m.name != c.name { parts.append("\(c.name) → \(m.name)") }
                if m.componentType != c.componentType {
                    parts.append("\(m.name) component type \(c.componentType ?? "none") → \(m.componentType ?? "none")")
                }
            } else {
                parts.append("\(c.name) dropped")
            }
        }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    /// The `--json` line of one chunk; `migrated` adds its view after migration.
    static func json(_ chunk: Chunk, store: StoreId, migrated: Chunk? = nil) -> String {
        // Timelines and components mirror the record batch's columns one for one (names not deduplicated).
        var timelines = JSONObject()
        for t in chunk.timelines {
            timelines.append(
                t.name,
                .object([
                    "arrow_type": .string(t.arrowType), "min": t.min.map { .int($0) } ?? .null,
                    "max": t.max.map { .int($0) } ?? .null, "sorted": .bool(t.isSorted),
                ]))
        }
        var components = JSONObject()
        for c in chunk.components { components.append(c.name, .string(c.arrowType)) }
        var line: JSONObject = [
            "chunk_id": .string(chunk.id.description), "store": store.json, "entity_path": .string(chunk.entityPath),
            "num_rows": .int(Int64(chunk.numRows)), "is_static": .bool(chunk.isStatic), "timelines": .object(timelines),
            "components": .object(components),
        ]
        if let migrated {
            var after = JSONObject()
            for c in migrated.components { after.append(c.name, .string(c.arrowType)) }
            line["migrated"] = .object(["entity_path": .string(migrated.entityPath), "components": .object(after)])
        }
        return line.serialized()
    }
}
