import CZstd
import Foundation

extension Fixtures {
    /// `bytes` zstd-compressed (level 3) in `frames` concatenated frames (a zstd stream may hold many).
    public static func zstdCompressed(_ bytes: [UInt8], frames: Int = 1) -> [UInt8] {
        var out: [UInt8] = []
        let step = max(1, (bytes.count + frames - 1) / frames)
        var start = 0
        repeat {
            let part = Array(bytes[start..<min(bytes.count, start + step)])
            let bound = ZSTD_compressBound(part.count)
            var buffer = [UInt8](repeating: 0, count: bound)
            let n = buffer.withUnsafeMutableBytes { dst in
                part.withUnsafeBytes { src in ZSTD_compress(dst.baseAddress, bound, src.baseAddress, src.count, 3) }
            }
            precondition(ZSTD_isError(n) == 0, "ZSTD_compress failed")
            out += buffer[..<n]
            start += step
        } while start < bytes.count
        return out
    }

    /// Writes a zstd-compressed copy of the RRD fixture `name` (in `frames` frames) to a new temporary
    /// file named `<name>.zst` (unique per call: tests run in parallel) and returns its path.
    public static func zstdCopy(_ name: String, frames: Int = 2) throws -> String {
        let bytes = try Fixtures.bytes(rrd.appendingPathComponent(name))
        let dir = NSTemporaryDirectory() + "zstd-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/" + name + ".zst"
        try Data(zstdCompressed(bytes, frames: frames)).write(to: URL(fileURLWithPath: path))
        return path
    }
}
