import ArrowIPC
import Chunks
import Ingestion
import IngestCore
import RRD
import FuzzSupport

/// The whole ingest path of the messages in one input: RRD framing → protobuf → StoreHub routing →
/// (synchronous build) LZ4 → Arrow IPC → chunk → chunk store; then every output is drained and every
/// chunk cell rendered. Seeds are one-message recordings (stream header, SetStoreInfo, one other message).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIngest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // The package depends on StoreIngest with the SynchronousIngestion trait: no worker thread per input.
    precondition(StoreHub.isSynchronous, "FuzzIngest must be built with the SynchronousIngestion trait")
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    var decoder = StreamDecoder(source: "fuzz", options: ReaderOptions(maxMessageSize: 1 << 24))
    var messages: [FramedMessage] = []
    decoder.feed(bytes) { if case .message(let m) = $0 { messages.append(m) } }
    decoder.finish { if case .message(let m) = $0 { messages.append(m) } }
    let hub = StoreHub()
    for message in messages {
        do { try hub.submit(message, source: "fuzz") } catch { fatalError("submit refused: \(error)") }
    }
    hub.flush()
    var out = ""
    var budget = 4096
    hub.drain { _, item in
        guard let chunk = item.chunk else { return }
        _ = chunk.summaryLines()
        for component in chunk.components {
            for row in 0..<chunk.numRows {
                budget -= 1
                if budget < 0 { return }
                out.removeAll(keepingCapacity: true)
                component.column.appendJSON(at: component.physicalRow(row), to: &out)
            }
        }
    }
    hub.shutdown(drain: false)
    return 0
}

/// The entry point SwiftPM's link expects (see ``runLibFuzzer(_:_:_:)``).
@_cdecl("FuzzIngest_main")
public func fuzzIngestMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, size in
        guard let data else { return 0 }
        return fuzzIngest(data, size)
    }
}
