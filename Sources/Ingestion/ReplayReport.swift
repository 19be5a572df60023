import IngestCore
import RRD

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

    /// Whether the input failed (any error).
    public var failed: Bool { !errors.isEmpty }
}

/// One store after a replay.
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
    /// Total messages read.
    public var messages: UInt64 { messagesByKind.values.reduce(0, +) }
    /// Sum of the stores' distinct chunks.
    public var chunks: Int { stores.reduce(0) { $0 + $1.chunks } }
    /// Sum of the stores' rows.
    public var rows: Int { stores.reduce(0) { $0 + $1.rows } }

    private static let kindOrder = ["SetStoreInfo", "ArrowMsg", "BlueprintActivationCommand", "End"]

    private static func seconds(_ ns: UInt64) -> String {
        let ms = (ns + 500_000) / 1_000_000
        let frac = String(ms % 1000)
        return "\(ms / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
    }

    private func perSecond(_ n: UInt64) -> Double {
        wallNanoseconds == 0 ? 0 : Double(n) * 1e9 / Double(wallNanoseconds)
    }

    private static func fixed(_ x: Double, _ digits: Int = 1) -> String {
        guard x.isFinite else { return "0" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let v = (x * scale).rounded() / scale
        var s = String(v)
        if let dot = s.firstIndex(of: ".") {
            let decimals = s.distance(from: dot, to: s.endIndex) - 1
            if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
        }
        return s
    }

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
        var s = "{\n  \"schema_version\": \(Self.schemaVersion),\n"
        s += "  \"interrupted\": \(interrupted),\n  \"synchronous\": \(synchronous),\n"
        let failed = failedFiles
        s += "  \"files\": {\"attempted\": \(files.count), \"succeeded\": \(files.count - failed.count), "
        s += "\"failed\": \(failed.count)},\n"
        s += "  \"files_failed\": ["
        for (i, f) in failed.enumerated() {
            s += i == 0 ? "\n" : ",\n"
            s += "    {\"file\": \(JSON.quote(f.input.description)), \"error\": \(JSON.quote(f.errors[0])), "
            s += "\"errors\": [" + f.errors.map(JSON.quote).joined(separator: ", ") + "]}"
        }
        s += failed.isEmpty ? "],\n" : "\n  ],\n"
        s += "  \"messages\": {\"total\": \(messages)"
        for k in Self.kindOrder { s += ", \(JSON.quote(k)): \(messagesByKind[k] ?? 0)" }
        s += "},\n  \"chunks\": \(chunks),\n  \"rows\": \(rows),\n  \"stores\": ["
        for (i, st) in stores.enumerated() {
            s += i == 0 ? "\n" : ",\n"
            s += "    {\"kind\": \(JSON.quote(st.storeId.kind.description)), "
            s += "\"application_id\": \(JSON.quote(st.storeId.applicationId)), "
            s += "\"recording_id\": \(JSON.quote(st.storeId.recordingId)), "
            s += "\"chunks\": \(st.chunks), \"rows\": \(st.rows), \"bytes\": \(st.bytes), \"chunks_in_store\": \(st.chunksInStore), "
            s += "\"duplicates\": \(st.duplicates), \"decode_errors\": \(st.decodeErrors), \"messages\": \(st.messages)}"
        }
        s += stores.isEmpty ? "],\n" : "\n  ],\n"
        s += "  \"bytes\": {\"read\": \(bytesRead), \"decompressed\": \(bytesDecompressed)},\n"
        s += "  \"throughput\": {\"messages_per_second\": \(Self.fixed(perSecond(messages))), "
        s += "\"megabytes_per_second\": \(Self.fixed(perSecond(bytesRead) / 1e6, 3))},\n"
        s += "  \"time_seconds\": {\"wall\": \(Self.seconds(wallNanoseconds)), \"read\": \(Self.seconds(readNanoseconds)), "
        s += "\"decode\": \(Self.seconds(decodeNanoseconds)), \"insert\": \(Self.seconds(insertNanoseconds)), \"order_wait\": \(Self.seconds(orderWaitNanoseconds)), "
        s += "\"backpressure_blocked\": \(Self.seconds(blockedNanoseconds))}\n}"
        return s
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
        if !stores.isEmpty {
            let header = ["kind", "application", "recording", "chunks", "rows", "bytes", "dups"]
            var rows = [header]
            for st in stores {
                rows.append([
                    st.storeId.kind.description, st.storeId.applicationId, st.storeId.recordingId, "\(st.chunks)",
                    "\(st.rows)", "\(st.bytes)", "\(st.duplicates)",
                ])
            }
            var widths = header.map(\.count)
            for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
            for r in rows {
                var line = " "
                for (i, c) in r.enumerated() {
                    let pad = String(repeating: " ", count: widths[i] - c.count)
                    line += " " + (i < 3 ? c + pad : pad + c)
                }
                lines.append(line)
            }
        }
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
