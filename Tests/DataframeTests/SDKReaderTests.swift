import ArrowIPC
import Chunks
import Dataframe
import FixtureSupport
import Foundation
import IngestCore
import IngestTestSupport
import Store
import Testing

/// The dataframe view against the Rerun SDK's own reader (`ChunkStore.reader`, rerun-sdk 0.41 with
/// datafusion): for every well-formed fixture, every recording store and every view the script asks
/// for (each timeline, the static view, each timeline with latest-at fill, each timeline over one
/// entity subtree), the same column names, Arrow types and cells.
@Suite("Dataframe view = the SDK's ChunkStore.reader")
struct SDKReaderTests {
    static let python = Python.with(["rerun", "datafusion", "pyarrow"])

    /// The fixtures our reader decodes cleanly.
    static var wellFormed: [String] {
        Fixtures.expectedFiles.filter {
            ($0["expect_valid"] as? Bool) == true && ($0["file"] as! String).hasSuffix(".rrd")
        }
        .map { $0["file"] as! String }
    }

    /// The SDK's views of every well-formed fixture (one script run), keyed by file name.
    nonisolated(unsafe) static let sdkViews: [String: [[String: Any]]] = {
        guard let python else { return [:] }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "sdk_dataframe.py")
        guard let result = try? Python.run(python, [script.path] + wellFormed.map(Fixtures.rrdPath)),
            result.status == 0
        else { return [:] }
        var views: [String: [[String: Any]]] = [:]
        for line in String(decoding: result.stdout, as: UTF8.self).split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                continue
            }
            let file = URL(fileURLWithPath: object["file"] as! String).lastPathComponent
            views[file, default: []].append(object)
        }
        return views
    }()

    /// Our view rendered as the script renders the SDK's: `[[name, type]]` and rows of cells.
    static func rendered(_ frame: Dataframe) throws -> (columns: [[String]], rows: Any) {
        let columns = frame.columns.map { [$0.name, $0.field.type.description] }
        var text = "["
        for r in 0..<frame.rowCount {
            if r > 0 { text += ", " }
            text += "["
            for (k, column) in frame.columns.enumerated() {
                if k > 0 { text += ", " }
                column.array.appendJSON(at: r, to: &text, options: .integers)
            }
            text += "]"
        }
        text += "]"
        return (columns, try JSONSerialization.jsonObject(with: Data(text.utf8)))
    }

    @Test(
        "every view of every recording store matches the SDK cell by cell",
        .enabled(if: python != nil, "no Python with rerun-sdk 0.41, datafusion and pyarrow (set STOREINGEST_PYTHON)"),
        arguments: wellFormed)
    func matchesSDK(file: String) throws {
        let views = try #require(Self.sdkViews[file], "the SDK script printed nothing for \(file)")
        #expect(views.count > 1 || file == "empty_recording.rrd" || views.first?["error"] != nil)
        let (stores, _) = loadStores(paths: [Fixtures.rrdPath(file)])
        for view in views {
            if let error = view["error"] as? String {
                // The SDK refuses the concatenation of two streams (its footer check); nothing to compare.
                #expect(file == "two_recordings_concat.rrd", "the SDK cannot read \(file): \(error)")
                continue
            }
            if let count = view["recordings"] as? Int {
                // A file whose stores hold no chunks has no recording for the SDK (empty_recording.rrd).
                let ours = stores.stores.filter { $0.id.kind == .recording && $0.store.statistics.chunks > 0 }
                #expect(ours.count == count, "\(file): recording stores with data")
                continue
            }
            let recording = view["recording_id"] as! String
            let store = try #require(
                stores.stores.first { $0.id.kind == .recording && $0.id.recordingId == recording }?.store,
                "no store \(recording)")
            let query = DataframeQuery(
                index: view["index"] as? String,
                contents: (view["contents"] as? String).map { [EntityPathPattern($0)] },
                fillLatestAt: view["fill_latest_at"] as! Bool)
            let label =
                "\(file) \(recording) index=\(query.index ?? "static") fill=\(query.fillLatestAt) contents=\(query.contents?.description ?? "all")"
            let frame = try store.dataframe(query)
            let ours = try Self.rendered(frame)
            #expect(ours.columns == view["columns"] as! [[String]], "\(label): columns")
            let expectedRows = view["rows"] as! [Any]
            #expect(frame.rowCount == expectedRows.count, "\(label): rows")
            guard let ourRows = ours.rows as? [Any], ours.columns == view["columns"] as! [[String]] else { continue }
            for (r, (a, b)) in zip(ourRows, expectedRows).enumerated() {
                #expect((a as! NSArray).isEqual(b as! NSArray), "\(label): row \(r)\n ours \(a)\n sdk  \(b)")
            }
        }
    }
}
