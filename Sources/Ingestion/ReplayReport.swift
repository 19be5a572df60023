import IngestCore
import RRD
import Store

/// How one input of a replay ended.
public struct ReplayFileResult: Sendable, Hashable {
    /// The input.
    public var input: ReplayInput
    /// Stream bytes consumed (decompressed bytes for zstd inputs).
    public var bytesRead: UInt64
    /// Messages read from it.
    public var messages: UInt64
    /// Read retries spent on transient errors.
    public var retries: Int
    /// Errors, in input order: stream and I/O errors from the reader, chunks that did not decode.
    public var errors: [String]
    /// Whether the replay was cancelled before this input was read to its end.
    public var interrupted: Bool
    /// Whether an I/O error ended this input: it could not be opened, or a read failed for good
    /// (after the retries of ``ReplayOptions/retry``). Damage in the bytes (framing, payloads, a
    /// corrupt zstd frame) is not an I/O error.
    public var stoppedByIOError = false

    /// Whether the input failed (any error).
    public var failed: Bool { !errors.isEmpty }
}

/// One store after a replay, or in `ingest serve`'s summary (``init(_:)`` makes it from the store's
/// statistics; both summaries render it alike).
public struct ReplayStoreReport: Sendable, Hashable {
    /// The store.
    public var storeId: StoreId
    /// Distinct chunk ids received (a chunk id seen twice counts once).
    public var chunks: Int
    /// Rows of those chunks.
    public var rows: Int
    /// Approximate bytes held by the store's chunk index.
    public var bytes: Int
    /// Chunks the store holds at the end: ``chunks`` less what compaction merged or the memory budget dropped.
    public var chunksInStore: Int
    /// Chunks received again under an id the store already had (not inserted twice).
    public var duplicates: Int
    /// `ArrowMsg`s of this store that did not decode.
    public var decodeErrors: Int
    /// Messages admitted to the store.
    public var messages: UInt64
}

extension ReplayStoreReport {
    /// The report line of the store `statistics` describe.
    public init(_ statistics: StoreStatistics) {
        self.init(
            storeId: statistics.storeId, chunks: statistics.distinctChunks, rows: statistics.rows,
            bytes: statistics.chunkStore.approximateBytes, chunksInStore: statistics.chunkStore.chunks,
            duplicates: statistics.duplicateChunks, decodeErrors: statistics.decodeErrors,
            messages: statistics.admitted)
    }

    /// The store as a member of a summary's `stores` array: `kind`, `application_id`,
    /// `recording_id`, `chunks`, `rows`, `bytes`, `chunks_in_store`, `duplicates`, `decode_errors`,
    /// `messages`.
    package var json: JSONValue {
        var store = storeId.jsonFields
        store.merge([
            "chunks": .int(Int64(chunks)), "rows": .int(Int64(rows)), "bytes": .int(Int64(bytes)),
            "chunks_in_store": .int(Int64(chunksInStore)), "duplicates": .int(Int64(duplicates)),
            "decode_errors": .int(Int64(decodeErrors)), "messages": .uint(messages),
        ])
        return .object(store)
    }

    /// The stores as a text table (a header line, then one line per store; nothing for no store):
    /// kind, application, recording, chunks, rows, bytes, duplicates, and with `decodeErrorColumn`
    /// the chunks that did not decode.
    package static func table(_ stores: [ReplayStoreReport], decodeErrorColumn: Bool) -> [String] {
        guard !stores.isEmpty else { return [] }
        let header = ["kind", "application", "recording", "chunks", "rows", "bytes", "dups"] + (decodeErrorColumn ? ["bad"] : [])
        var rows = [header]
        for st in stores {
            rows.append(
                [
                    st.storeId.kind.description, st.storeId.applicationId, st.storeId.recordingId, "\(st.chunks)",
                    "\(st.rows)", "\(st.bytes)", "\(st.duplicates)",
                ] + (decodeErrorColumn ? ["\(st.decodeErrors)"] : []))
        }
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        return rows.map { r in
            var line = " "
            for (i, c) in r.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - c.count)
                line += " " + (i < 3 ? c + pad : pad + c)
            }
            return line
        }
    }
}

/// Everything a ``ReplayPipeline`` run did. ``json`` and ``text`` render it.
public struct ReplayReport: Sendable {
    /// The version of ``json``'s layout (bumped when a key changes meaning or goes away).
    public static let schemaVersion = 1

    /// Every input, in the order given.
    public var files: [ReplayFileResult]
    /// Messages read, by kind name (`SetStoreInfo`, `ArrowMsg`, `BlueprintActivationCommand`, `End`).
    public var messagesByKind: [String: UInt64]
    /// Every store, in first-seen order.
    public var stores: [ReplayStoreReport]
    /// Stream bytes read (decompressed for zstd inputs).
    public var bytesRead: UInt64
    /// Uncompressed Arrow payload bytes of the `ArrowMsg`s read.
    public var bytesDecompressed: UInt64
    /// Wall time of the whole run.
    public var wallNanoseconds: UInt64
    /// Time reader threads spent reading and framing, summed over threads (includes waits for growing files).
    public var readNanoseconds: UInt64
    /// Time the stores' workers spent decoding chunks (decompression, Arrow, chunk build), summed over workers.
    public var decodeNanoseconds: UInt64
    /// Time the stores' workers spent inserting chunks into the chunk stores, summed over workers.
    public var insertNanoseconds: UInt64
    /// Time readers spent waiting for an earlier file to finish with a shared store.
    public var orderWaitNanoseconds: UInt64
    /// Time producers spent blocked on full input queues (backpressure), summed over stores.
    public var blockedNanoseconds: UInt64
    /// Whether the run was cancelled.
    public var interrupted: Bool
    /// Whether the synchronous build ran it.
    public var synchronous: Bool

    /// Inputs that failed.
    public var failedFiles: [ReplayFileResult] { files.filter(\.failed) }
    /// Whether any input failed.
    public var hasFailures: Bool { files.contains(where: \.failed) }
    /// Whether an I/O error ended any input (``ReplayFileResult/stoppedByIOError``).
    public var hasIOErrors: Bool { files.contains(where: \.stoppedByIOError) }
    /// Total messages read.
    public var messages: UInt64 { messagesByKind.values.reduce(0, +) }
    /// Sum of the stores' distinct chunks.
    public var chunks: Int { stores.reduce(0) { $0 + $1.chunks } }
    /// Sum of the stores' rows.
    public var rows: Int { stores.reduce(0) { $0 + $1.rows } }

    private static let kindOrder = ["SetStoreInfo", "ArrowMsg", "BlueprintActivationCommand", "End"]

    /// Whole milliseconds of `ns`, rounded half up.
    private static func milliseconds(_ ns: UInt64) -> UInt64 { (ns + 500_000) / 1_000_000 }

    /// `ns` as seconds with three decimals (`1.234`).
    private static func seconds(_ ns: UInt64) -> String { JSONText.fixed(Double(milliseconds(ns)) / 1000, digits: 3) }

    /// `ns` as a JSON number of seconds with three decimals (the text of ``seconds(_:)``).
    private static func secondsJSON(_ ns: UInt64) -> JSONValue { .fixed(Double(milliseconds(ns)) / 1000, digits: 3) }

    private func perSecond(_ n: UInt64) -> Double {
        wallNanoseconds == 0 ? 0 : Double(n) * 1e9 / Double(wallNanoseconds)
    }

    private static func fixed(_ x: Double, _ digits: Int = 1) -> String { JSONText.fixed(x, digits: digits) }

    /// One JSON document (schema in the README, `schema_version` ``schemaVersion``):
    /// ```
    /// {"schema_version": 1, "interrupted": false, "synchronous": false,
    ///  "files": {"attempted": N, "succeeded": N, "failed": N},
    ///  "files_failed": [{"file": "...", "error": "first error"}...],
    ///  "messages": {"total": N, "SetStoreInfo": N, "ArrowMsg": N, "BlueprintActivationCommand": N, "End": N},
    ///  "chunks": N, "rows": N,
    ///  "stores": [{"kind", "application_id", "recording_id", "chunks", "rows", "bytes", "chunks_in_store", "duplicates",
    ///              "decode_errors", "messages"}...],
    ///  "bytes": {"read": N, "decompressed": N},
    ///  "throughput": {"messages_per_second": X, "megabytes_per_second": X},
    ///  "time_seconds": {"wall": X, "read": X, "decode": X, "insert": X, "order_wait": X, "backpressure_blocked": X}}
    /// ```
    public var json: String {
        let failed = failedFiles
        var messages: JSONObject = ["total": .uint(self.messages)]
        for k in Self.kindOrder { messages[k] = .uint(messagesByKind[k] ?? 0) }
        let document: JSONObject = [
            "schema_version": .int(Int64(Self.schemaVersion)),
            "interrupted": .bool(interrupted),
            "synchronous": .bool(synchronous),
            "files": .object([
                "attempted": .int(Int64(files.count)), "succeeded": .int(Int64(files.count - failed.count)),
                "failed": .int(Int64(failed.count)),
            ]),
            "files_failed": .array(
                failed.map { f in
                    .object([
                        "file": .string(f.input.description), "error": .string(f.errors[0]),
                        "errors": .array(f.errors.map { .string($0) }),
                    ])
                }),
            "messages": .object(messages),
            "chunks": .int(Int64(chunks)),
            "rows": .int(Int64(rows)),
            "stores": .array(stores.map(\.json)),
            "bytes": .object(["read": .uint(bytesRead), "decompressed": .uint(bytesDecompressed)]),
            "throughput": .object([
                "messages_per_second": .fixed(perSecond(self.messages), digits: 1),
                "megabytes_per_second": .fixed(perSecond(bytesRead) / 1e6, digits: 3),
            ]),
            "time_seconds": .object([
                "wall": Self.secondsJSON(wallNanoseconds), "read": Self.secondsJSON(readNanoseconds),
                "decode": Self.secondsJSON(decodeNanoseconds), "insert": Self.secondsJSON(insertNanoseconds),
                "order_wait": Self.secondsJSON(orderWaitNanoseconds),
                "backpressure_blocked": Self.secondsJSON(blockedNanoseconds),
            ]),
        ]
        return document.serialized(.document)
    }

    /// A human-readable summary (several lines, no trailing newline).
    public var text: String {
        var lines: [String] = []
        let failed = failedFiles
        lines.append(
            "files: \(files.count) attempted, \(files.count - failed.count) succeeded, \(failed.count) failed"
                + (interrupted ? " (interrupted)" : ""))
        for f in failed {
            lines.append("  FAILED \(f.input)")
            for e in f.errors { lines.append("    \(e)") }
        }
        let kinds = Self.kindOrder.map { "\(messagesByKind[$0] ?? 0) \($0)" }.joined(separator: ", ")
        lines.append("messages: \(messages) (\(kinds))")
        lines.append("chunks: \(chunks), rows: \(rows), stores: \(stores.count)")
        lines += ReplayStoreReport.table(stores, decodeErrorColumn: false)
        lines.append(
            "bytes: \(bytesRead) read, \(bytesDecompressed) decompressed; "
                + "\(Self.fixed(perSecond(messages))) msg/s, \(Self.fixed(perSecond(bytesRead) / 1e6, 3)) MB/s")
        lines.append(
            "time: wall \(Self.seconds(wallNanoseconds)) s, read \(Self.seconds(readNanoseconds)) s, decode \(Self.seconds(decodeNanoseconds)) s, "
                + "insert \(Self.seconds(insertNanoseconds)) s, order wait \(Self.seconds(orderWaitNanoseconds)) s, "
                + "blocked on backpressure \(Self.seconds(blockedNanoseconds)) s"
                + (synchronous ? " (synchronous build)" : ""))
        return lines.joined(separator: "\n")
    }
}
