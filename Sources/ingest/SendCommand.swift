import ArgumentParser
import IngestCore
import RRD

#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if LIVE_SERVER
import IngestServer
#endif

/// `ingest send`: streams recordings to a message proxy (`ingest serve`, `rerun --serve-grpc`, a
/// viewer) over gRPC as the Rerun SDK streams them: one `WriteMessages` call per store, each
/// request a `LogMsg` around a message's payload as the file frames it.
struct SendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Stream recordings to a gRPC proxy (ingest serve, rerun --serve-grpc) as the Rerun SDK does.",
        discussion: """
            Each store of each FILE is one WriteMessages call on a connection of its own, as the SDK \
            makes one per recording stream; the calls run at once, each sending its store's messages \
            in file order, their payloads as the file holds them (no re-encoding; End messages and \
            footers stay behind). A plain file is mapped, a compressed one or stdin read into memory \
            first. Prints one line per call and a total (msg/s, MB/s from the first request to the \
            last answer), or one JSON document with --json. Exit status: 0 when every call was \
            accepted, 1 when a file was damaged (its readable messages were still sent), 2 usage \
            error (a bad --to URL), 3 I/O error: a file could not be opened or read, or a call \
            failed (nothing listening, an error status) ('ingest help'). Needs a build with the \
            LiveServer package trait.

            Examples:
              ingest send recording.rrd                 to 127.0.0.1:9876 (SDK default)
              ingest send a.rrd b.rrd.zst --to rerun+http://10.0.0.5:9876/proxy
              ingest send --json big.rrd --to rerun+http://[::1]:9000/proxy
            """
    )

    @Argument(help: "Recordings to send (.rrd, .rbl, zstd-compressed .zst); '-' reads stdin.")
    var files: [String]

    @Flag(name: .long, help: "Print the figures as one JSON document (with schema_version).")
    var json = false

    @Option(name: .long, help: "Largest message payload accepted, in bytes.")
    var maxMessageSize: UInt64 = 1 << 30

    @Option(name: .long, help: "Where to send: rerun+http://HOST:PORT/proxy, as rr.connect_grpc takes it.")
    var to = "rerun+http://127.0.0.1:9876/proxy"

    @Flag(name: .shortAndLong, help: "No line per call (the total, or the JSON, only).")
    var quiet = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("Give at least one FILE ('-' for stdin).") }
        if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("stdin ('-') can be read only once.") }
        #if LIVE_SERVER
        do {
            _ = try ProxyURL(parsing: to)
        } catch {
            throw ValidationError("--to: \(error.message)")
        }
        #endif
    }

    func run() throws {
        #if LIVE_SERVER
        let url = try ProxyURL(parsing: to)
        var status = IngestExitStatus.success
        var streams: [(file: String, stream: ProxyStream)] = []
        for path in files {
            let bytes: ByteSlice
            do {
                bytes = try RecordingBytes.load(path: path)
            } catch {
                printError("ingest send: \(path): \(error)")
                status.raise(.ioError)
                continue
            }
            let (split, errors) = ProxyStream.split(bytes, source: path, options: ReaderOptions(maxMessageSize: maxMessageSize))
            for e in errors {
                printError("ingest send: \(e)")
                status.raise(.damagedInput)
            }
            streams += split.map { (path, $0) }
        }
        let sender = ProxySender(url: url, maxMessageSize: Int(clamping: maxMessageSize) + 64)
        let batch = streams.map(\.stream)
        let reports = try blockingWait { await sender.send(batch) }
        var lines: [String] = []
        for (report, (file, _)) in zip(reports, streams) {
            if let failure = report.failure {
                printError("ingest send: \(file): store \(report.storeId.description): \(failure)")
                status.raise(.ioError)
            }
            if !quiet && !json {
                let seconds = Double(report.endedUnixNanoseconds &- report.firstSendUnixNanoseconds) / 1e9
                lines.append(
                    "\(file): \(report.storeId.description): \(report.messages) messages, \(report.bytes) bytes in "
                        + "\(JSONText.fixed(seconds, digits: 3)) s" + (report.failure == nil ? "" : " (failed)"))
            }
        }
        let total = SendTotals(reports)
        if json {
            print(total.json(url: url, reports: reports, files: streams.map(\.file)))
        } else {
            for line in lines { print(line) }
            print(total.text(url: url))
        }
        try status.exit()
        #else
        printError(
            "ingest send: this build has no gRPC client; build with the LiveServer trait "
                + "(swift build --traits LiveServer) to get it.")
        throw ExitCode(IngestExitStatus.usage.rawValue)
        #endif
    }
}

#if LIVE_SERVER
/// The figures of a whole `ingest send`: from the first request of any call to the last answer.
struct SendTotals {
    var calls: Int
    var failed: Int
    var messages: Int
    var bytes: Int
    var first: UInt64
    var last: UInt64

    init(_ reports: [ProxySender.CallReport]) {
        calls = reports.count
        failed = reports.filter { $0.failure != nil }.count
        messages = reports.reduce(0) { $0 + $1.messages }
        bytes = reports.reduce(0) { $0 + $1.bytes }
        first = reports.map(\.firstSendUnixNanoseconds).min() ?? 0
        last = reports.map(\.endedUnixNanoseconds).max() ?? 0
    }

    var seconds: Double { Double(last &- first) / 1e9 }
    private func perSecond(_ n: Int) -> Double { seconds > 0 ? Double(n) / seconds : 0 }

    func text(url: ProxyURL) -> String {
        "sent \(messages) messages (\(bytes) bytes) in \(calls) calls to \(url) in "
            + "\(JSONText.fixed(seconds, digits: 3)) s: \(JSONText.fixed(perSecond(messages), digits: 1)) msg/s, "
            + "\(JSONText.fixed(perSecond(bytes) / 1e6, digits: 3)) MB/s" + (failed > 0 ? "; \(failed) calls failed" : "")
    }

    /// `{"schema_version": 1, "url", "calls", "failed", "messages", "bytes", "seconds",
    ///   "first_send_unix_ns", "last_answer_unix_ns", "messages_per_second", "megabytes_per_second",
    ///   "streams": [{"file", "kind", "application_id", "recording_id", "messages", "bytes",
    ///                "first_send_unix_ns", "ended_unix_ns", "error"}...]}`
    func json(url: ProxyURL, reports: [ProxySender.CallReport], files: [String]) -> String {
        let document: JSONObject = [
            "schema_version": .int(1),
            "url": .string(url.description),
            "calls": .int(Int64(calls)),
            "failed": .int(Int64(failed)),
            "messages": .int(Int64(messages)),
            "bytes": .int(Int64(bytes)),
            "seconds": .fixed(seconds, digits: 6),
            "first_send_unix_ns": .uint(first),
            "last_answer_unix_ns": .uint(last),
            "messages_per_second": .fixed(perSecond(messages), digits: 1),
            "megabytes_per_second": .fixed(perSecond(bytes) / 1e6, digits: 3),
            "streams": .array(
                zip(reports, files).map { report, file in
                    .object([
                        "file": .string(file),
                        "kind": .string(report.storeId.kind == .recording ? "recording" : "blueprint"),
                        "application_id": .string(report.storeId.applicationId),
                        "recording_id": .string(report.storeId.recordingId),
                        "messages": .int(Int64(report.messages)),
                        "bytes": .int(Int64(report.bytes)),
                        "first_send_unix_ns": .uint(report.firstSendUnixNanoseconds),
                        "ended_unix_ns": .uint(report.endedUnixNanoseconds),
                        "error": report.failure.map { .string($0) } ?? .null,
                    ])
                }),
        ]
        return document.serialized(.document)
    }
}
#endif

/// A whole recording in memory, for sending: a plain file is mapped (read-only, its pages shared
/// with the page cache); a zstd-compressed one, or stdin, is read (and decompressed) into one buffer.
enum RecordingBytes {
    /// The mapping of a file, unmapped when the last slice of it goes.
    final class Mapping: @unchecked Sendable {
        // @unchecked: the mapping is read-only and never changes while this lives.
        let base: UnsafeMutableRawPointer
        let count: Int
        init(base: UnsafeMutableRawPointer, count: Int) {
            self.base = base
            self.count = count
        }
        deinit { munmap(base, count) }
    }

    static func load(path: String) throws -> ByteSlice {
        if path != "-", let mapped = try map(path) { return mapped }
        let source = try ByteSources.open(path: path)
        var pieces: [[UInt8]] = []
        var total = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        func drain() throws {
            while true {
                let n = try source.read(into: buffer)
                if n == 0 { return }
                pieces.append(Array(buffer[0..<n]))
                total += n
            }
        }
        try drain()
        if try source.finishInput() { try drain() }
        let storage = ByteStorage(count: total, alignment: 16) { dst in
            var at = 0
            for p in pieces {
                p.withUnsafeBytes { (dst.baseAddress! + at).copyMemory(from: $0.baseAddress!, byteCount: p.count) }
                at += p.count
            }
        }
        return ByteSlice(storage)
    }

    /// A mapping of `path` when it is a regular, non-empty, uncompressed file; nil otherwise.
    private static func map(_ path: String) throws -> ByteSlice? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ByteSourceError(errno: errno, "cannot open \(path)") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size >= 4 else { return nil }
        let count = Int(st.st_size)
        guard let base = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else { return nil }
        let magic = base.loadUnaligned(as: UInt32.self)
        if magic == 0xFD2F_B528 {  // zstd: read through the decompressing source
            munmap(base, count)
            return nil
        }
        madvise(base, count, MADV_SEQUENTIAL)
        let mapping = Mapping(base: base, count: count)
        return ByteSlice(
            ByteStorage(unsafeBorrowing: UnsafeRawBufferPointer(start: base, count: count), owner: mapping))
    }
}
