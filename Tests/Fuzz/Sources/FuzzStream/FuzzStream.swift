#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import IngestCore
import Ingestion
import RRD
import FuzzSupport

/// Stream layer: framing, protobuf messages, stream footers, then each ArrowMsg's LZ4 payload and IPC framing.
///
/// Invariant checked besides "no crash": decoding the bytes in one piece and in small pieces gives the same events.
///
/// With `FUZZ_WRITE_SEEDS=<dir>` set, running it over recordings (`FuzzStream a.rrd b.rrd`) also writes the
/// derived seeds of the other targets: `<dir>/FuzzCompression`, `<dir>/FuzzArrowIPC`, `<dir>/FuzzIngest`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStream(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    // Keep single executions fast: lengths above 16 MiB are rejected before anything is allocated.
    let options = ReaderOptions(maxMessageSize: 1 << 24)
    let whole = decode(bytes, piece: size, options: options)
    let pieces = decode(bytes, piece: 7, options: options)
    if whole != pieces {
        fatalError("piecewise decoding differs: \(whole.count) events in one piece, \(pieces.count) in pieces of 7")
    }
    for event in whole {
        guard case .message(let framed) = event, case .arrowMsg(let msg) = framed.message else { continue }
        _ = try? msg.checkedIPCPayload(source: "fuzz", offset: framed.offset, maxSize: 1 << 24)
    }
    if let dir = getenv("FUZZ_WRITE_SEEDS") {
        writeSeeds(from: bytes, events: whole, to: String(cString: dir))
    }
    return 0
}

private func decode(_ bytes: UnsafeRawBufferPointer, piece: Int, options: ReaderOptions) -> [StreamEvent] {
    var decoder = StreamDecoder(source: "fuzz", options: options)
    var events: [StreamEvent] = []
    var i = 0
    while i < bytes.count {
        let end = Swift.min(bytes.count, i + Swift.max(piece, 1))
        decoder.feed(UnsafeRawBufferPointer(rebasing: bytes[i..<end])) { events.append($0) }
        i = end
    }
    decoder.finish { events.append($0) }
    return events
}

// MARK: - seeds for the other targets

nonisolated(unsafe) private var seedCounter = 0

private func writeSeeds(from bytes: UnsafeRawBufferPointer, events: [StreamEvent], to dir: String) {
    var streamHeader: [UInt8] = []
    var storeInfo: [UInt8] = []
    func raw(_ m: FramedMessage) -> [UInt8] {
        let start = Int(m.offset)
        return Array(bytes[start..<(start + 16 + Int(m.length))])
    }
    for event in events {
        switch event {
        case .streamHeader(_, let offset):
            streamHeader = Array(bytes[Int(offset)..<(Int(offset) + 12)])
        case .message(let m):
            if case .setStoreInfo = m.message {
                storeInfo = raw(m)
                continue
            }
            guard !streamHeader.isEmpty else { continue }
            seedCounter += 1
            // One-message recording for the ingest target.
            write(streamHeader + storeInfo + raw(m), to: "\(dir)/FuzzIngest/msg-\(seedCounter)")
            guard case .arrowMsg(let msg) = m.message, seedCounter % 4 == 0 || msg.payload.count < 2048 else {
                continue
            }
            let payload = msg.payload.withUnsafeBytes { Array($0) }
            if msg.compression.rawValue == 2, msg.uncompressedSize < 1 << 24 {
                let size = msg.uncompressedSize
                let prefix: [UInt8] = [0, UInt8(size & 0xFF), UInt8((size >> 8) & 0xFF), UInt8(size >> 16)]
                write(prefix + payload, to: "\(dir)/FuzzCompression/lz4-\(seedCounter)")
                var viaMsg = prefix
                viaMsg[0] = 1
                write(viaMsg + payload, to: "\(dir)/FuzzCompression/msg-\(seedCounter)")
            }
            if let ipc = try? msg.decompressedPayload(maxSize: 1 << 24) {
                write(ipc.withUnsafeBytes { Array($0) }, to: "\(dir)/FuzzArrowIPC/chunk-\(seedCounter)")
            }
        default:
            continue
        }
    }
}

private func write(_ bytes: [UInt8], to path: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { fatalError("cannot create \(path): errno \(errno)") }
    defer { close(fd) }
    bytes.withUnsafeBytes { b in
        var done = 0
        while done < b.count {
            let n = Glibc.write(fd, b.baseAddress! + done, b.count - done)
            guard n > 0 else { fatalError("cannot write \(path): errno \(errno)") }
            done += n
        }
    }
}

/// The entry point SwiftPM's link expects (see ``runLibFuzzer(_:_:_:)``).
@_cdecl("FuzzStream_main")
public func fuzzStreamMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, size in
        guard let data else { return 0 }
        return fuzzStream(data, size)
    }
}
