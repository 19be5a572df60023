import ArgumentParser
import ArrowIPC
import IngestCore
import Ingestion
import RRD

#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Options shared by the commands that read recordings.
struct InputOptions: ParsableArguments {
    @Argument(help: "Recordings to read (.rrd, .rbl, zstd-compressed .zst); '-' reads stdin.")
    var files: [String]

    @Flag(name: .long, help: "Machine-readable output: one JSON object per line.")
    var json = false

    @Option(name: .long, help: "Largest message payload accepted, in bytes.")
    var maxMessageSize: UInt64 = 1 << 30

    func validate() throws {
        if files.isEmpty { throw ValidationError("Give at least one FILE ('-' for stdin).") }
        if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("stdin ('-') can be read only once.") }
    }

    var readerOptions: ReaderOptions { ReaderOptions(maxMessageSize: maxMessageSize) }
}

/// The result of decompressing an `ArrowMsg` and walking its Arrow IPC framing.
enum PayloadCheck {
    /// `chunkId` and `isStatic`: the message's, or derived from the payload's schema where the
    /// message lacks them (`ArrowMsg.identity(ipc:)`).
    case ok(uncompressedBytes: Int, rows: Int64, chunkId: ChunkId?, isStatic: Bool?)
    case damaged(RRDError)
}

/// Reads one input and reports every event in order; each `ArrowMsg` comes with the check of its
/// payload (what `print` and `stats` both need). An input that cannot be opened is reported as
/// an error at offset 0.
///
/// - Returns: whether anything was damaged, and how many bytes were read up to the end of the
///   last complete unit (stream header, message or footer).
@discardableResult
func scanInput(
    _ path: String, options: ReaderOptions, _ body: (StreamEvent, PayloadCheck?) -> Void
) -> (damaged: Bool, bytesConsumed: UInt64) {
    var damaged = false
    var reader: RRDReader
    do {
        reader = try RRDReader(path: path, options: options)
    } catch {
        body(.error(error), nil)
        return (true, 0)
    }
    while let event = reader.next() {
        switch event {
        case .message(let m):
            if case .arrowMsg(let a) = m.message {
                do {
                    let (ipc, entries) = try a.checkedIPCPayload(
                        source: path, offset: m.offset, maxSize: options.maxMessageSize << 1)
                    let (id, isStatic) = a.identity(ipc: ipc)
                    body(
                        event,
                        .ok(
                            uncompressedBytes: ipc.count, rows: entries.last?.rowCount ?? 0, chunkId: id,
                            isStatic: isStatic))
                } catch {
                    damaged = true
                    body(event, .damaged(error))
                }
            } else {
                body(event, nil)
            }
        case .error:
            damaged = true
            body(event, nil)
        case .streamHeader(let h, let offset) where h.isNewerThanKnown:
            printError(
                "warning: \(path): the stream at byte \(offset) was written by Rerun \(h.versionString), newer than "
                    + "\(RRDVersion.newestKnown); reading it anyway")
            body(event, nil)
        default:
            body(event, nil)
        }
    }
    return (damaged, reader.bytesConsumed)
}

/// Buffered standard output (one `fwrite` per 64 KiB rather than one per line).
struct OutputBuffer {
    private var buffer = ""

    mutating func line(_ s: String) {
        buffer += s
        buffer += "\n"
        if buffer.utf8.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        guard !buffer.isEmpty else { return }
        var s = buffer
        s.withUTF8 { _ = fwrite($0.baseAddress, 1, $0.count, stdout) }
        fflush(stdout)
        buffer = ""
    }
}

/// Writes `text` to standard error.
func printError(_ text: String) {
    var s = text + "\n"
    s.withUTF8 { _ = fwrite($0.baseAddress, 1, $0.count, stderr) }
}

extension StoreId {
    /// `{"kind": ..., "application_id": ..., "recording_id": ...}`.
    var json: JSONValue { .object(jsonFields) }
}

extension PayloadCompression {
    /// `lz4` or `none` (the names of `EXPECTED.json`), `unknown(N)` otherwise.
    var jsonName: String {
        switch rawValue {
        case 0, 1: return "none"
        case 2: return "lz4"
        default: return "unknown(\(rawValue))"
        }
    }
}

extension StreamHeader {
    /// `lz4` or `off`.
    var compressionName: String { compression == 1 ? "lz4" : "off" }
}

/// The JSON line for damage: `{"offset": N, "kind": "Error", "error": "...", "code": "..."}`.
func errorJSON(_ e: RRDError) -> JSONObject {
    ["offset": .uint(e.offset), "kind": "Error", "error": .string(e.message), "code": .string(e.code.description)]
}
