@preconcurrency import Glibc
import Synchronization

/// A joinable, named OS thread (a thin pthread wrapper: the engine needs `join`, which
/// `Foundation.Thread` lacks, and this module keeps Foundation out). The synchronous build
/// starts none; test support uses it for producer threads.
package final class WorkerThread: @unchecked Sendable {
    // @unchecked: `handle` is written once before `init` returns and only read afterwards.
    // Whoever owns the thread joins or detaches it once (a store's ``WorkerState`` says who).
    private var handle = pthread_t()

    /// Numbers worker threads: `ingest-w-<n>`.
    private static let counter = Atomic<Int>(0)

    /// The next worker name (15 bytes at most, Linux's limit for thread names).
    package static func nextName() -> String {
        let n = counter.add(1, ordering: .relaxed).newValue % 1_000_000
        return "ingest-w-\(n)"
    }

    private final class Start {
        let name: String
        let body: () -> Void
        package init(name: String, body: @escaping () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Starts a thread named `name` (truncated to 15 bytes) that runs `body`.
    package init(name: String, body: @escaping @Sendable () -> Void) {
        let start = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        let rc = pthread_create(
            &handle, nil,
            { arg in
                let start = Unmanaged<Start>.fromOpaque(arg!).takeRetainedValue()
                WorkerThread.setCurrentName(start.name)
                start.body()
                return nil
            }, start)
        precondition(rc == 0, "pthread_create failed: \(rc)")
    }

    /// `pthread_setname_np`, looked up at run time: Glibc declares it only under `_GNU_SOURCE`,
    /// which the Swift Glibc module does not define.
    private typealias SetName = @convention(c) (pthread_t, UnsafePointer<CChar>) -> Int32
    private static let setName: SetName? = {
        guard let sym = dlsym(nil, "pthread_setname_np") else { return nil }
        return unsafeBitCast(sym, to: SetName.self)
    }()

    /// Names the calling thread (Linux keeps 15 bytes: longer names are cut at a UTF-8 boundary).
    static func setCurrentName(_ name: String) {
        var bytes = Array(name.utf8.prefix(15))
        while String(validating: bytes, as: UTF8.self) == nil { bytes.removeLast() }
        bytes.append(0)
        bytes.withUnsafeBufferPointer { buf in
            buf.withMemoryRebound(to: CChar.self) { _ = setName?(pthread_self(), $0.baseAddress!) }
        }
    }

    /// Whether the calling thread is this one (a worker must never join itself).
    package var isCurrent: Bool { pthread_equal(pthread_self(), handle) != 0 }

    /// Lets the thread end on its own (its resources are freed when it returns). Call once,
    /// instead of ``join()``.
    package func detach() {
        let rc = pthread_detach(handle)
        precondition(rc == 0, "pthread_detach failed: \(rc)")
    }

    /// Waits for the thread to end. Call once, never from the thread itself.
    package func join() {
        let rc = pthread_join(handle, nil)
        precondition(rc == 0, "pthread_join failed: \(rc)")
    }
}
