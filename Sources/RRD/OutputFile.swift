#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Where an ``RRDWriter`` writes: a file descriptor, written front to back with `write(2)`/`writev(2)`.
///
/// A destination path is written through a temporary file next to it (`.NAME.ingest-PID-N.tmp` in the
/// same folder, so the final `rename(2)` is atomic), renamed into place by ``commit(fsync:)``: the
/// destination is either its old content or the complete new file, never a partial one, and an
/// input that is being read under the same name keeps its bytes (a reader holds the old inode).
/// ``discard()`` (or a writer that is killed) leaves the destination untouched; a killed writer's
/// temporary file holds a prefix of the stream that ends at a message boundary or inside the last
/// message, which RRD readers read up to its last complete message.
final class OutputFile {
    let fd: Int32
    /// The destination path (nil: a descriptor given by the caller, written in place).
    let destination: String?
    /// The temporary file being written (nil for a descriptor).
    let temporary: String?
    private let closesDescriptor: Bool
    private var closed = false

    /// Distinguishes the temporary files of one process.
    private static let counter = Atomic<Int>(0)

    /// Creates the temporary file for `path`.
    /// - Throws: ``RRDError/Code/io``.
    init(path: String) throws(RRDError) {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty else {
            throw RRDError(.io, source: path, offset: 0, "cannot write: the output path names a folder")
        }
        var fd: Int32 = -1
        var tmp = ""
        for _ in 0..<100 {
            let n = Self.counter.add(1, ordering: .relaxed).newValue
            tmp = "\(dir).\(name).ingest-\(getpid())-\(n).tmp"
            repeat { fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666) } while fd < 0 && errno == EINTR
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else {
            throw RRDError(.io, source: path, offset: 0, "cannot create \(tmp): \(String(cString: strerror(errno)))")
        }
        self.fd = fd
        destination = path
        temporary = tmp
        closesDescriptor = true
    }

    /// Writes to `fd` in place (standard output, a pipe, a socket); closes it at the end when
    /// `closesDescriptor`.
    init(fileDescriptor fd: Int32, closesDescriptor: Bool) {
        self.fd = fd
        destination = nil
        temporary = nil
        self.closesDescriptor = closesDescriptor
    }

    deinit { if !closed { discard() } }

    /// The name in errors.
    var name: String { destination ?? "fd \(fd)" }

    /// Writes all of `parts` in order (`writev`, restarted after short writes and `EINTR`).
    func write(_ parts: [UnsafeRawBufferPointer]) throws(RRDError) {
        var iov = parts.filter { $0.count > 0 }.map {
            iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count)
        }
        var first = 0
        while first < iov.count {
            let n = iov.withUnsafeMutableBufferPointer { buf in
                // 1024: IOV_MAX on Linux.
                writev(fd, buf.baseAddress! + first, Int32(Swift.min(buf.count - first, 1024)))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw RRDError(.io, source: name, offset: 0, "write failed: \(String(cString: strerror(errno)))")
            }
            var left = n
            while left > 0 && first < iov.count {
                if left >= iov[first].iov_len {
                    left -= iov[first].iov_len
                    first += 1
                } else {
                    iov[first].iov_base += left
                    iov[first].iov_len -= left
                    left = 0
                }
            }
        }
    }

    /// Makes the file complete: `fsync` when asked, close, and rename the temporary file into place
    /// (then `fsync` the folder, when asked, so the rename itself is durable).
    func commit(fsync sync: Bool) throws(RRDError) {
        guard !closed else { return }
        if sync, fsync(fd) != 0, errno != EINVAL && errno != EROFS {
            let e = errno
            discard()
            throw RRDError(.io, source: name, offset: 0, "fsync failed: \(String(cString: strerror(e)))")
        }
        closed = true
        if closesDescriptor, close(fd) != 0, errno != EINTR {
            let e = errno
            if let temporary { unlink(temporary) }
            throw RRDError(.io, source: name, offset: 0, "close failed: \(String(cString: strerror(e)))")
        }
        guard let temporary, let destination else { return }
        guard rename(temporary, destination) == 0 else {
            let e = errno
            unlink(temporary)
            throw RRDError(
                .io, source: destination, offset: 0, "cannot rename \(temporary) into place: \(String(cString: strerror(e)))")
        }
        if sync {
            let slash = destination.lastIndex(of: "/")
            let dir = slash.map { String(destination[...$0]) } ?? "."
            let d = open(dir, O_RDONLY | O_CLOEXEC)
            if d >= 0 {
                _ = fsync(d)
                close(d)
            }
        }
    }

    /// Closes without publishing: the temporary file is removed (a caller's descriptor is left as it is).
    func discard() {
        guard !closed else { return }
        closed = true
        if closesDescriptor { close(fd) }
        if let temporary { unlink(temporary) }
    }

    /// Whether `fd` is the same file as any of `paths` (a regular file being written in place would
    /// clobber an input still being read).
    static func descriptor(_ fd: Int32, isOneOf paths: [String]) -> String? {
        var out = stat()
        guard fstat(fd, &out) == 0, out.st_mode & S_IFMT == S_IFREG else { return nil }
        for p in paths where p != "-" {
            var st = stat()
            if stat(p, &st) == 0 && st.st_dev == out.st_dev && st.st_ino == out.st_ino { return p }
        }
        return nil
    }
}
