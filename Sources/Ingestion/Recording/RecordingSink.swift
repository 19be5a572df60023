import Chunks
import IngestCore
import RRD

/// Saves what a pipeline ingested as a recording: give it every output item (``IngestOutput``) as
/// it is drained, then ``finish()``. Store infos, chunks and blueprint activations are written in the
/// order they come (per store: admission order); errors are not (nothing was ingested), and a store
/// whose first item is a chunk gets a `SetStoreInfo` with just its id first, so every store the file
/// holds is announced.
///
/// ```swift
/// let sink = try RecordingSink(path: "saved.rrd")
/// let pipeline = ReplayPipeline(inputs: [.file("in.rrd")])
/// _ = pipeline.run(onOutput: { db, item in sink.write(item, store: db.storeId) })
/// try sink.finish()                     // End with the footer manifests; renamed into place
/// ```
///
/// Chunks are written from their decoded form (``RecordingWriter/write(_:store:droppingTimelines:bodyCompression:)``),
/// so what is saved is what the stores received, in our encoding. Writing never throws from
/// ``write(_:store:)``: the first I/O error stops the saving and ``finish()`` throws it (the
/// destination keeps its old content). Safe to call from several threads (one lock around the writer).
public final class RecordingSink: @unchecked Sendable {
    // @unchecked: every mutable field is inside `state`, reached only with its lock held.
    private struct State {
        let writer: RecordingWriter
        var announced = Set<StoreId>()
        var failure: RRDError?
        var finished = false
    }
    private let state: Locked<State>

    /// A sink writing to `path` (through a temporary file renamed into place by ``finish()``).
    /// - Throws: ``/RRD/RRDError/Code/io`` when the temporary file cannot be created.
    public init(path: String, options: RRDWriter.Options = RRDWriter.Options()) throws(RRDError) {
        state = Locked(State(writer: try RecordingWriter(path: path, options: options)))
    }

    /// A sink writing to `writer` (which it finishes).
    public init(writer: RecordingWriter) {
        state = Locked(State(writer: writer))
    }

    /// Writes what `item` (an output of store `store`) ingested.
    public func write(_ item: IngestOutput, store: StoreId) {
        state.withLock { s in
            guard s.failure == nil, !s.finished else { return }
            do throws(RRDError) {
                switch item.event {
                case .storeInfo(let info):
                    s.announced.insert(info.info.storeId)
                    try s.writer.write(info)
                case .chunk(let chunk):
                    if s.announced.insert(store).inserted {
                        try s.writer.write(SetStoreInfo(rowId: nil, info: StoreInfo(storeId: store)))
                    }
                    try s.writer.write(chunk, store: store)
                case .activation(let command):
                    try s.writer.write(command)
                case .error:
                    break
                }
            } catch {
                s.failure = error
            }
        }
    }

    /// Chunks written so far.
    public var chunksWritten: Int { state.withLock { $0.writer.chunksWritten } }

    /// Bytes of the stream so far.
    public var bytesWritten: UInt64 { state.withLock { $0.writer.bytesWritten } }

    /// Writes the End message with the footer manifests and makes the file complete.
    /// - Throws: the first error writing met (``/RRD/RRDError/Code/io``, or ``/RRD/RRDError/Code/badPayload``
    ///   for a chunk the Arrow writer cannot encode); the destination then keeps its old content.
    public func finish() throws(RRDError) {
        let failure: RRDError? = state.withLock { s in
            guard !s.finished else { return nil }
            s.finished = true
            if let f = s.failure {
                s.writer.discard()
                return f
            }
            do throws(RRDError) {
                try s.writer.finish()
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    /// Stops without publishing anything.
    public func discard() {
        state.withLock { s in
            guard !s.finished else { return }
            s.finished = true
            s.writer.discard()
        }
    }
}
