import ArrowIPC
import Chunks
import FixtureSupport
import Foundation
import IngestCore
import RRD
import Testing

/// Every answer in `QUERIES.json` names the winning row's RowId and the cell value pyarrow rendered:
/// find that row in the decoded chunks and render the same cell.
@Suite("Cell rendering against QUERIES.json")
struct QueryValueTests {
    struct Answer: Sendable, CustomStringConvertible {
        var id: String
        var file: String
        var entity: String
        var component: String
        var rowId: String
        var valueJSON: String
        var description: String { id }
    }

    static let answers: [Answer] = {
        let data = try! Data(contentsOf: Fixtures.rrd.appendingPathComponent("QUERIES.json"))
        let all = try! JSONSerialization.jsonObject(with: data) as! [[String: Any]]
        var out: [Answer] = []
        for q in all {
            // Range answers are lists of rows; latest-at and static answers are one object.
            let rows = (q["expected"] as? [[String: Any]]) ?? [q["expected"] as! [String: Any]]
            for (k, row) in rows.enumerated() {
                guard row["found"] as? Bool ?? true, let rowId = row["row_id"] as? String, let value = row["value"]
                else {
                    continue
                }
                let text = try! JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed])
                out.append(
                    Answer(
                        id: "\(q["id"]!)#\(k)", file: q["file"] as! String, entity: q["entity"] as! String,
                        component: q["component"] as! String, rowId: rowId,
                        valueJSON: String(decoding: text, as: UTF8.self)))
            }
        }
        return out
    }()

    @Test("QUERIES.json has answers with values")
    func haveAnswers() {
        #expect(Self.answers.count > 200)
    }

    @Test("the winning row's cell renders as pyarrow's to_pylist value")
    func cells() throws {
        var files: [String: [Chunk]] = [:]
        for answer in Self.answers {
            if files[answer.file] == nil { files[answer.file] = try DecodedFile(answer.file).chunks }
            let rowId = try #require(RowId(parsing: answer.rowId))
            var rendered: String?
            for chunk in files[answer.file]! where chunk.entityPath == answer.entity {
                guard let column = chunk.component(named: answer.component),
                    let row = chunk.rowIds.firstIndex(of: rowId), !column.isNull(row)
                else { continue }
                rendered = column.jsonValue(at: row)
            }
            let text = try #require(rendered, "\(answer): row \(answer.rowId) not found")
            let mismatch = matchesExpected(
                try parseJSONValue(text), try parseJSONValue(answer.valueJSON), path: answer.id)
            #expect(mismatch == nil, "\(mismatch ?? "")")
        }
    }
}
