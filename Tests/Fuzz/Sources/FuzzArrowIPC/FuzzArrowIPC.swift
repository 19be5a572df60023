import ArrowIPC
import FuzzSupport

/// The Arrow IPC reader: one stream, read twice by the same reader (the second read hits the schema
/// cache), the second time with full validation; every value of an accepted batch is rendered as JSON.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzArrowIPC(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: data, count: size))
    let reader = ArrowStreamReader()
    reader.maxDecompressedBodySize = 1 << 24
    let first = try? reader.read(ArrowStorage(copying: bytes))
    let second = try? reader.read(ArrowStorage(copying: bytes), validateFully: true)
    if second != nil && first == nil {
        fatalError("full validation accepted a stream that structural validation rejected")
    }
    if let batch = second ?? first {
        render(batch)
    }
    return 0
}

/// Touches every value through the public accessors, bounded so one input stays fast.
private func render(_ batch: ArrowRecordBatch) {
    var out = ""
    var budget = 4096
    for column in batch.columns {
        for i in 0..<column.length {
            budget -= 1
            if budget < 0 { return }
            out.removeAll(keepingCapacity: true)
            column.appendJSON(at: i, to: &out)
        }
    }
}

/// The entry point SwiftPM's link expects (see ``runLibFuzzer(_:_:_:)``).
@_cdecl("FuzzArrowIPC_main")
public func fuzzArrowIPCMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, size in
        guard let data else { return 0 }
        return fuzzArrowIPC(data, size)
    }
}
