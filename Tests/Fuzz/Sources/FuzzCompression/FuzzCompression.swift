#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import IngestCore
import RRD
import FuzzSupport

/// The compression wrappers. The first input byte picks the mode (`scripts/fuzz.sh` writes seeds with it):
/// - 0: ``LZ4Block/decompress(_:into:)`` into a buffer whose size is the next 3 bytes (little-endian);
/// - 1: ``ArrowMsg/decompressedPayload(maxSize:source:offset:)`` with that declared size, capped at 1 MiB;
/// - 2: the zstd input path of ``RRDReader`` over the rest of the input (held in a memfd), every event read.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCompression(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 4 else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let declared = Int(bytes[1]) | Int(bytes[2]) << 8 | Int(bytes[3]) << 16
    let rest = UnsafeRawBufferPointer(rebasing: bytes[4...])
    switch bytes[0] % 3 {
    case 0:
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: declared, alignment: 1)
        defer { out.deallocate() }
        if let n = LZ4Block.decompress(rest, into: out), n != declared {
            fatalError("LZ4Block.decompress reported \(n) bytes for a \(declared)-byte buffer")
        }
    case 1:
        let msg = ArrowMsg(
            storeId: StoreId(kind: .recording, applicationId: "a", recordingId: "r"), compression: PayloadCompression(rawValue: 2),
            uncompressedSize: UInt64(declared), encoding: 1, payload: ByteSlice(copying: Array(rest)), chunkId: nil,
            isStatic: nil)
        if let out = try? msg.decompressedPayload(maxSize: 1 << 20), out.count != declared {
            fatalError("decompressedPayload gave \(out.count) bytes, \(declared) declared")
        }
    default:
        readZstd(rest)
    }
    return 0
}

/// Reads `bytes` as a (normally zstd-compressed) RRD file through `/proc/self/fd` of an unlinked file in /dev/shm.
private func readZstd(_ bytes: UnsafeRawBufferPointer) {
    var template = Array("/dev/shm/fuzz-zstd-XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard fd >= 0 else { fatalError("mkstemp failed: errno \(errno)") }
    template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
    defer { close(fd) }
    var written = 0
    while written < bytes.count {
        let n = write(fd, bytes.baseAddress! + written, bytes.count - written)
        guard n > 0 else { fatalError("write to memfd failed: errno \(errno)") }
        written += n
    }
    let options = ReaderOptions(maxMessageSize: 1 << 24, readBlockSize: 4096)
    guard var reader = try? RRDReader(path: "/proc/self/fd/\(fd)", options: options) else { return }
    var events = 0
    while reader.next() != nil {
        events += 1
        if events > 1_000_000 { fatalError("RRDReader produced more than a million events") }
    }
}

/// The entry point SwiftPM's link expects (see ``runLibFuzzer(_:_:_:)``).
@_cdecl("FuzzCompression_main")
public func fuzzCompressionMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, size in
        guard let data else { return 0 }
        return fuzzCompression(data, size)
    }
}
