@_spi(Testing) import ArrowIPC
import FixtureSupport
import Foundation
import IngestCore
import Testing

/// The inputs kept in `Fixtures/fuzz/FuzzArrowIPC/`, replayed with the checks of the `FuzzArrowIPC` harness.
@Suite("Fuzz regression inputs: Arrow IPC reader")
struct ArrowFuzzRegressionTests {
    static var inputs: [String] {
        let dir = Fixtures.root.appendingPathComponent("fuzz/FuzzArrowIPC").path
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted().map { "\(dir)/\($0)" }
    }

    @Test("read cold and cached, structurally and fully validated; every accepted value renders", arguments: inputs)
    func replay(path: String) throws {
        let bytes = try Fixtures.bytes(URL(fileURLWithPath: path))
        let reader = ArrowStreamReader()
        reader.maxDecompressedBodySize = 1 << 24
        let first = Result { () throws(ArrowError) in try reader.read(ByteStorage(copying: bytes)) }
        let second = Result { () throws(ArrowError) in try reader.read(ByteStorage(copying: bytes), validateFully: true) }
        if case .success = second, case .failure(let e) = first {
            Issue.record("full validation accepted what structural validation rejected: \(e)")
        }
        // The harness's differential checks: the general loader (no load plan) and a compacting read
        // accept and reject the same stream as the first read and give the same values.
        let general = ArrowStreamReader()
        general.maxDecompressedBodySize = 1 << 24
        general.usesLoadPlans = false
        let unplanned = Result { () throws(ArrowError) in try general.read(ByteStorage(copying: bytes)) }
        let compacting = ArrowStreamReader()
        compacting.maxDecompressedBodySize = 1 << 24
        let compacted = Result { () throws(ArrowError) in
            try compacting.read(ByteStorage(copying: bytes), compactingInto: SlabArena(.chunkBodies)) { _, _ in }
        }
        if case .success(let a) = first, case .success(let b) = unplanned, case .success(let c) = compacted {
            #expect(Self.render(a) == Self.render(b), "load plan vs general loader")
            #expect(Self.render(a) == Self.render(c), "compacted vs plain")
        } else {
            #expect((try? first.get()) == nil && (try? unplanned.get()) == nil && (try? compacted.get()) == nil)
        }
        for result in [first, second] {
            switch result {
            case .success(let batch):
                _ = Self.render(batch)
                for column in batch.columns { Self.touchBytes(column) }
            case .failure(let e):
                #expect(!e.message.isEmpty)
            }
        }
    }

    static func render(_ batch: ArrowRecordBatch) -> String {
        var out = ""
        for column in batch.columns {
            for i in 0..<Swift.min(column.length, 4096) { column.appendJSON(at: i, to: &out) }
        }
        return out
    }

    /// Reads the bytes of every valid slot of binary-like arrays (dictionary-encoded ones through
    /// their dictionary), recursively.
    static func touchBytes(_ a: ArrowArray) {
        switch a.type {
        case .binary, .utf8, .largeBinary, .largeUtf8, .binaryView, .utf8View, .fixedSizeBinary:
            for i in 0..<Swift.min(a.length, 4096) where !a.isNull(i) { _ = a.bytes(at: i) }
        default: break
        }
        for c in a.children { touchBytes(c) }
    }
}
