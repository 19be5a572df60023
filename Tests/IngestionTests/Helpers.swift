import IngestTestSupport
import Ingestion
import RRD

/// Generous deadline for conditions that normally hold within microseconds (CI machines are slow
/// and shared; a deadline only bounds a failing test).
let deadline: Duration = .seconds(20)

/// A short pause used only to show that a blocked thread stays blocked.
func pauseToShowBlocking() {
    _ = waitUntil(timeout: .milliseconds(50)) { false }
}

typealias M = SyntheticMessages

/// Flushes `db` (with a deadline) and polls every ready output.
func flushAndCollect(_ db: EntityDb) -> [IngestOutput] {
    let flushed = db.flush(timeout: deadline)
    precondition(flushed, "flush did not finish in time")
    var out: [IngestOutput] = []
    while let item = db.poll() { out.append(item) }
    return out
}

/// A short name for what an output was, for comparing sequences of kinds.
enum Kind: Equatable, CustomStringConvertible {
    case info, chunkOrDecodeError, activation, error

    var description: String {
        switch self {
        case .info: return "info"
        case .chunkOrDecodeError: return "chunk"
        case .activation: return "activation"
        case .error: return "error"
        }
    }

    /// What an admitted message should come out as (an `ArrowMsg` may decode or not).
    init(input: Message) {
        switch input {
        case .setStoreInfo: self = .info
        case .arrowMsg: self = .chunkOrDecodeError
        case .blueprintActivationCommand: self = .activation
        case .end: self = .error
        }
    }

    /// What an output was (a decode error counts as the `ArrowMsg` it came from).
    init(output: IngestOutput) {
        switch output.event {
        case .storeInfo: self = .info
        case .chunk: self = .chunkOrDecodeError
        case .activation: self = .activation
        case .error(let e): self = e.code == .decode ? .chunkOrDecodeError : .error
        }
    }
}

/// Runs `body` and returns the `IngestError` it threw, or `nil` (also for other errors).
func ingestError(_ body: () throws -> Void) -> IngestError? {
    do {
        try body()
        return nil
    } catch let error as IngestError {
        return error
    } catch {
        return nil
    }
}
