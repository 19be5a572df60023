#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Private anonymous mappings: the memory of arena slabs and of large allocations.
///
/// A mapping rather than the heap: no allocator heap grows and trims page by page in between, and a
/// whole slab goes back to the system (or to a recycling pool) at once.
enum PageMapping {
    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// `n` rounded up to a multiple of `to` (a power of two or not).
    @inline(__always)
    static func roundUp(_ n: Int, _ to: Int) -> Int { (n + to - 1) / to * to }

    /// A private anonymous mapping of `length` bytes (a multiple of the page size), or `nil` if
    /// `mmap` fails.
    ///
    /// No `madvise(MADV_HUGEPAGE)`: on the VMs this was measured on, first-touching 1 GB of fresh
    /// transparent huge pages took 2.3–2.7 s after the machine had been idle a few seconds (the host
    /// must back the memory again) against 0.36–0.40 s with 4 KiB pages (0.05 s only when huge pages
    /// freed just before are reused), so huge pages are left to the system's policy.
    static func map(_ length: Int) -> UnsafeMutableRawPointer? {
        let raw = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let raw, raw != MAP_FAILED else { return nil }
        return raw
    }

    /// Returns a mapping made by ``map(_:)`` to the system.
    static func unmap(_ mapping: UnsafeMutableRawPointer, _ length: Int) {
        munmap(mapping, length)
    }
}
