import ArrowIPC
import Chunks
@preconcurrency import Glibc
import IngestCore
import Parquet
import Store
import Synchronization

/// Exports stores as a Hive-partitioned dataset that DuckDB, Polars, pyarrow and Spark read directly:
/// `DIR/application_id=A/recording_id=R/part-0.parquet` (or `.arrow`), one file per recording store,
/// each written through a temporary file in its folder and renamed into place.
///
/// ```swift
/// let file = try DatasetExport.write(store, id: storeId, to: "out", options: DatasetExport.Options())
/// ```
public enum DatasetExport {
    /// The file format of the parts.
    public enum Format: String, Hashable, Sendable {
        /// Parquet (``ArrowParquetWriter``).
        case parquet
        /// Arrow IPC file format (``/ArrowIPC/ArrowIPCWriter/file(schema:batches:compression:)``).
        case arrow

        /// The file name extension.
        public var fileExtension: String { rawValue }
    }

    /// What to export and how.
    public struct Options: Hashable, Sendable {
        /// The file format.
        public var format: Format
        /// The index timeline; nil: the store's first timeline by name (the static view when it has none).
        public var timeline: String?
        /// The entities exported (``DataframeQuery/contents``); nil for all.
        public var contents: [EntityPathPattern]?
        /// Latest-at fill of null cells (``DataframeQuery/fillLatestAt``).
        public var fillLatestAt: Bool
        /// Arrow buffer bytes per Parquet row group (an Arrow file is one record batch).
        public var rowGroupBytes: Int
        /// Parquet page options (compression, page size, dictionaries).
        public var parquet: ParquetWriterOptions

        /// Options; the defaults are Parquet with zstd level 1, 128 MiB row groups, the first timeline.
        public init(
            format: Format = .parquet, timeline: String? = nil, contents: [EntityPathPattern]? = nil,
            fillLatestAt: Bool = false, rowGroupBytes: Int = 128 << 20,
            parquet: ParquetWriterOptions = ParquetWriterOptions()
        ) {
            self.format = format
            self.timeline = timeline
            self.contents = contents
            self.fillLatestAt = fillLatestAt
            self.rowGroupBytes = rowGroupBytes
            self.parquet = parquet
        }
    }

    /// One written file.
    public struct WrittenFile: Hashable, Sendable {
        /// The file's path (`DIR/application_id=…/recording_id=…/part-0.parquet`).
        public var path: String
        /// The index timeline (nil: the static view).
        public var timeline: String?
        /// Rows of the dataframe.
        public var rows: Int
        /// Columns of the dataframe (index and component columns).
        public var columns: Int
        /// Row groups (1 for an Arrow file: one record batch).
        public var rowGroups: Int
        /// The file's size.
        public var bytes: Int
    }

    /// Why a store was not exported.
    public struct ExportError: Error, Hashable, Sendable, CustomStringConvertible {
        /// Whether writing failed (an I/O error) rather than the data (a type without a mapping).
        public var isIO: Bool
        /// What happened, naming the file or the column.
        public var message: String

        /// An error.
        public init(isIO: Bool, _ message: String) {
            self.isIO = isIO
            self.message = message
        }

        public var description: String { message }
    }

    /// `key=value` with Hive's escapes (`%XX` for `/`, `=`, `%`, `:`, control characters and the
    /// others Hive escapes), so any id is one folder name that Spark and DuckDB read back as the id.
    public static func partition(_ key: String, _ value: String) -> String {
        var out = key + "="
        for byte in value.utf8 {
            let escaped = byte < 0x20 || byte == 0x7F || Array("\"#%'*/:=?\\{[]^".utf8).contains(byte)
            if escaped {
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
            } else {
                out += String(decoding: [byte], as: UTF8.self)
            }
        }
        return value.isEmpty ? key + "=__HIVE_DEFAULT_PARTITION__" : out
    }

    /// The folder of a store's parts below `directory`.
    public static func folder(_ directory: String, applicationId: String, recordingId: String) -> String {
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        return base + "/" + partition("application_id", applicationId) + "/" + partition("recording_id", recordingId)
    }

    /// The index `options` choose for a store with `timelines`: the named one (nil when the store lacks
    /// it: nothing to export), else the first by name, else the static view.
    public static func index(_ options: Options, timelines: [String]) -> (index: String?, exported: Bool) {
        if let t = options.timeline { return (t, timelines.contains(t)) }
        return (timelines.sorted().first, true)
    }

    /// Writes `store` (the store `id`) as its part file below `directory`; `parallelFor` shreds and
    /// encodes a row group's columns at once (``ArrowParquetWriter/parallelFor``).
    /// - Returns: nil when the store lacks `options.timeline`.
    public static func write(
        _ store: ChunkStore<Chunk>, id: StoreId, to directory: String, options: Options,
        parallelFor: ParquetParallelFor? = nil
    ) throws(ExportError) -> WrittenFile? {
        let timelines = store.timelines().map(\.name)
        let (index, exported) = self.index(options, timelines: timelines)
        guard exported else { return nil }
        let frame: Dataframe
        do {
            frame = try store.dataframe(
                DataframeQuery(index: index, contents: options.contents, fillLatestAt: options.fillLatestAt))
        } catch {
            throw ExportError(isIO: false, "\(id): \(error)")
        }
        let folder = self.folder(directory, applicationId: id.applicationId, recordingId: id.recordingId)
        if let error = makeDirectories(folder) { throw ExportError(isIO: true, error) }
        let path = folder + "/part-0." + options.format.fileExtension
        let groups = frame.rowGroups(bytes: options.rowGroupBytes)
        let sink: AtomicFileSink
        do { sink = try AtomicFileSink(path: path) } catch { throw ExportError(isIO: true, error.message) }
        do throws(ParquetError) {
            switch options.format {
            case .parquet:
                try frame.writeParquet(
                    to: sink, options: options.parquet, rowGroupBytes: options.rowGroupBytes,
                    keyValueMetadata: [
                        ("rerun:application_id", id.applicationId), ("rerun:recording_id", id.recordingId),
                        ("rerun:index", index ?? ""),
                    ], parallelFor: parallelFor)
            case .arrow:
                // One record batch: the dataframe's arrays as they are (no copy into slices).
                let bytes: [UInt8]
                do {
                    bytes = try ArrowIPCWriter.file(
                        schema: frame.schema, batches: [(columns: frame.columns.map(\.array), length: frame.rowCount)])
                } catch {
                    throw ParquetError(.unsupported, "\(id): \(error)")
                }
                try sink.write(bytes)
            }
            try sink.commit()
        } catch {
            sink.discard()
            throw ExportError(isIO: error.code == .io, "\(path): \(error.message)")
        }
        return WrittenFile(
            path: path, timeline: index, rows: frame.rowCount, columns: frame.columns.count,
            rowGroups: options.format == .parquet ? groups.count : 1,
            bytes: sink.bytesWritten)
    }

    /// `mkdir -p`; nil on success, else the error.
    static func makeDirectories(_ path: String) -> String? {
        var prefix = ""
        for part in path.split(separator: "/", omittingEmptySubsequences: false) {
            prefix += (prefix.isEmpty && path.hasPrefix("/") ? "" : (prefix.isEmpty ? "" : "/")) + part
            if part.isEmpty { prefix = prefix.isEmpty ? "/" : prefix; continue }
            if mkdir(prefix, 0o777) != 0 && errno != EEXIST {
                return "cannot create \(prefix): \(String(cString: strerror(errno)))"
            }
        }
        return nil
    }
}

/// A ``ParquetSink`` writing a file through a temporary file in the same folder (`.NAME.export-PID-N.tmp`),
/// renamed into place by ``commit()``: readers see the old file or the complete new one.
final class AtomicFileSink: ParquetSink {
    let path: String
    let temporary: String
    private var fd: Int32
    private(set) var bytesWritten = 0
    private var buffer: [UInt8] = []
    /// Distinguishes the temporary files of one process.
    private static let counter = Atomic<Int>(0)

    init(path: String) throws(ParquetError) {
        self.path = path
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let n = Self.counter.add(1, ordering: .relaxed).newValue
        temporary = "\(dir).\(name).export-\(getpid())-\(n).tmp"
        fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
        guard fd >= 0 else {
            throw ParquetError(.io, "cannot create \(temporary): \(String(cString: strerror(errno)))")
        }
    }

    deinit { if fd >= 0 { discard() } }

    func write(_ bytes: [UInt8]) throws(ParquetError) {
        // Small pieces (page headers) are gathered so that the file gets few large writes.
        buffer += bytes
        if buffer.count >= 1 << 20 { try flush() }
    }

    private func flush() throws(ParquetError) {
        var done = 0
        while done < buffer.count {
            let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ParquetError(.io, "cannot write \(temporary): \(String(cString: strerror(errno)))")
            }
            done += n
        }
        bytesWritten += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }

    func commit() throws(ParquetError) {
        try flush()
        guard close(fd) == 0 else {
            fd = -1
            throw ParquetError(.io, "cannot close \(temporary): \(String(cString: strerror(errno)))")
        }
        fd = -1
        guard rename(temporary, path) == 0 else {
            let message = String(cString: strerror(errno))
            unlink(temporary)
            throw ParquetError(.io, "cannot rename \(temporary) to \(path): \(message)")
        }
    }

    func discard() {
        if fd >= 0 { close(fd) }
        fd = -1
        unlink(temporary)
    }
}
