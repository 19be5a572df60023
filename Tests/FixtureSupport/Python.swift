import Foundation

/// A Python interpreter for the tests that check our output with the real tools (the Rerun SDK,
/// pyarrow, DuckDB, pyspark): `STOREINGEST_PYTHON`, else the benchmark venv, else `python3`.
public enum Python {
    /// The first candidate that imports every module of `modules`, or nil (the test is then skipped).
    public static func with(_ modules: [String]) -> String? {
        let candidates = [
            ProcessInfo.processInfo.environment["STOREINGEST_PYTHON"], "/work/bench/venv/bin/python",
            "/usr/bin/python3",
        ].compactMap { $0 }
        let probe = modules.map { "import \($0)" }.joined(separator: "; ")
        for c in candidates where FileManager.default.isExecutableFile(atPath: c) {
            if (try? run(c, ["-c", probe]))?.status == 0 { return c }
        }
        return nil
    }

    /// Runs `python args…`, returning its exit status, stdout and stderr.
    public static func run(
        _ python: String, _ arguments: [String], environment: [String: String]? = nil
    ) throws
        -> (status: Int32, stdout: Data, stderr: String)
    {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = arguments
        if let environment {
            p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Drain stderr on its own thread so a chatty child (Spark) never blocks on a full pipe.
        let errBox = ErrorText()
        let reader = Thread { errBox.set(err.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, data, errBox.wait())
    }
}

/// stderr text handed from the draining thread to the caller.
private final class ErrorText: @unchecked Sendable {
    // @unchecked: `data` is written once under `condition` and read after the signal.
    private let condition = NSCondition()
    private var data: Data?

    func set(_ d: Data) {
        condition.lock()
        data = d
        condition.signal()
        condition.unlock()
    }

    func wait() -> String {
        condition.lock()
        while data == nil { condition.wait() }
        let d = data!
        condition.unlock()
        return String(decoding: d, as: UTF8.self)
    }
}
