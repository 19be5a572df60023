#if LIVE_SERVER
import IngestCore
import IngestServer
import Ingestion
import RRD

/// `ingest serve --save FILE`: writes every message the server receives to one recording, as it came
/// (an `ArrowMsg`'s payload is not encoded again), through the RRD writer, which adds each store's
/// footer manifest, so the file is a complete 0.41 recording.
///
/// It is the server's message tap: calls write from their reading threads, one at a time (a lock),
/// before each message is submitted, so per call the file keeps the order the client sent; a store
/// fed by one call at a time (an SDK recording stream) has its messages in the order its outputs
/// have. Writing shares the reading thread's time with the submit: a slow disk holds the clients
/// back as a full store queue does, nothing piles up in memory.
final class ServeRecorder: Sendable {
    private struct State {
        var writer: RecordingWriter?
        var messages = 0
        var skipped = 0
        var failure: String?
    }

    let path: String
    private let state: Locked<State>

    /// Opens the writer (a temporary file beside `path`, renamed into place by ``finish()``).
    /// - Throws: ``RRD/RRDError`` when the file cannot be created.
    init(path: String) throws(RRDError) {
        self.path = path
        state = Locked(State(writer: try RecordingWriter(path: path)))
    }

    /// Writes `message`; an `ArrowMsg` whose payload does not decode is left out (counted), and the
    /// first I/O error stops the recording (the file is not published).
    func record(_ message: Message) {
        state.withLock { s in
            guard let writer = s.writer else { return }
            do throws(RRDError) {
                try writer.write(message)
                s.messages += 1
            } catch where error.code == .badPayload {
                s.skipped += 1
            } catch {
                s.failure = "\(error)"
                writer.discard()
                s.writer = nil
            }
        }
    }

    /// Ends the recording (End with the footer manifests, stream footer, rename into place) and says
    /// what was written. Call once, after the server stopped.
    func finish() -> ServeReport.Saved {
        state.withLock { s in
            var chunks = 0
            var rows = 0
            var bytes: UInt64 = 0
            if let writer = s.writer {
                chunks = writer.chunksWritten
                rows = writer.rowsWritten
                do throws(RRDError) {
                    try writer.finish()
                    bytes = writer.bytesWritten
                } catch {
                    s.failure = "\(error)"
                }
                s.writer = nil
            }
            return ServeReport.Saved(
                path: path, messages: s.messages, chunks: chunks, rows: rows, bytes: bytes, skipped: s.skipped,
                failure: s.failure)
        }
    }
}
#endif
