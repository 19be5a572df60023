@_spi(Testing) import ArrowIPC
import FuzzSupport
import IngestCore

/// The Arrow IPC reader: one stream, read twice by the same reader (the second read hits the schema
/// cache), the second time with full validation; every value of an accepted batch is rendered as JSON.
///
/// Differential checks on the quick paths: the first read goes through the schema's load plan where
/// its types allow, so a reader without plans (the general loader) must accept and reject the same
/// stream and build the same arrays; and a read that compacts the batch into an arena (what a store's
/// decoder does with small payloads) must give the same arrays as one over the stream.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzArrowIPC(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: data, count: size))
    let reader = ArrowStreamReader()
    reader.maxDecompressedBodySize = 1 << 24
    let first = try? reader.read(ByteStorage(copying: bytes))
    let second = try? reader.read(ByteStorage(copying: bytes), validateFully: true)
    if second != nil && first == nil {
        fatalError("full validation accepted a stream that structural validation rejected")
    }
    let general = ArrowStreamReader()
    general.maxDecompressedBodySize = 1 << 24
    general.usesLoadPlans = false
    let unplanned = try? general.read(ByteStorage(copying: bytes))
    if (unplanned == nil) != (first == nil) {
        fatalError("the load plan and the general loader disagree: \(first == nil ? "plan rejects" : "plan accepts")")
    }
    let compacting = ArrowStreamReader()
    compacting.maxDecompressedBodySize = 1 << 24
    let compacted = try? compacting.read(ByteStorage(copying: bytes), compactingInto: SlabArena(.chunkBodies)) { _, _ in }
    if (compacted == nil) != (first == nil) {
        fatalError("the compacting read and the plain read disagree on accepting the stream")
    }
    if let first, let unplanned, let compacted {
        let expected = describe(unplanned)
        if describe(first) != expected { fatalError("the load plan built other arrays than the general loader") }
        if describe(compacted) != expected { fatalError("the compacted batch differs from the plain one") }
    }
    if let batch = second ?? first {
        render(batch)
        for column in batch.columns { touchBytes(column) }
    }
    return 0
}

/// Reads the bytes of the valid slots of binary-like arrays (dictionary-encoded ones through their
/// dictionary), recursively and bounded.
private func touchBytes(_ a: ArrowArray) {
    switch a.type {
    case .binary, .utf8, .largeBinary, .largeUtf8, .binaryView, .utf8View, .fixedSizeBinary:
        for i in 0..<min(a.length, 4096) where !a.isNull(i) { _ = a.withUnsafeBytes(at: i) { $0.count } }
    default: break
    }
    for c in a.children { touchBytes(c) }
}

/// The batch's shape and (bounded) contents, for comparing two reads of one stream: per array its
/// type, length and null count, then for its first slots whether each is null and its value range
/// (list and binary offsets; a dictionary index), and the JSON of leaf values. Nested values are compared through their
/// children rather than rendered whole (one nested value can span a whole child array).
private func describe(_ batch: ArrowRecordBatch) -> String {
    var out = "\(batch.length) rows, \(batch.warnings)"
    var budget = 4096
    func visit(_ a: ArrowArray) {
        out += "[\(a.type) n=\(a.length) nulls=\(a.nullCount) ("
        for i in 0..<a.length {
            budget -= 1
            if budget < 0 || out.utf8.count > 1 << 20 { break }
            if a.isNull(i) {
                out += "null"
            } else if a.dictionaryIndexType != nil {
                out += "#\(a.dictionaryIndex(at: i))"
            } else {
                out += "\(a.valueRange(at: i))"
            }
            if a.children.isEmpty && !a.isNull(i) {
                out += "="
                a.appendJSON(at: i, to: &out)
            }
            out += ","
        }
        out += ")"
        for c in a.children { visit(c) }
        out += "]"
    }
    for c in batch.columns { visit(c) }
    return out
}

/// Touches every value through the public accessors, bounded so one input stays fast: at most 4096
/// values and 8 MiB of rendered text. A column whose arrays hold more than 4096 slots in all is
/// rendered array by array (leaf values only): one nested value can span a whole child array of
/// millions of slots (a list of nulls needs no buffer), and rendering it over and over only
/// measures the machine.
private func render(_ batch: ArrowRecordBatch) {
    var out = ""
    var budget = 4096
    var text = 8 << 20
    func values(_ a: ArrowArray) {
        for i in 0..<a.length {
            budget -= 1
            if budget < 0 || text < 0 { return }
            out.removeAll(keepingCapacity: true)
            a.appendJSON(at: i, to: &out)
            text -= out.utf8.count
        }
    }
    func slots(_ a: ArrowArray) -> Int { a.children.reduce(a.length) { $0 + slots($1) } }
    func leaves(_ a: ArrowArray) {
        if a.children.isEmpty { values(a) } else { for c in a.children { leaves(c) } }
    }
    for column in batch.columns {
        if slots(column) <= 4096 { values(column) } else { leaves(column) }
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
