import ArrowIPC
import FixtureSupport
import Foundation
import IngestCore
import Testing

/// One entry of `Fixtures/arrow/TYPES.json`.
struct GoldenType: Sendable, CustomStringConvertible {
    var name: String
    var typeString: String
    /// The expected values as JSON text (re-serialised from TYPES.json).
    var valuesJSON: String
    var files: [String]
    var description: String { name }

    static let all: [GoldenType] = {
        let data = try! Data(contentsOf: Fixtures.arrow.appendingPathComponent("TYPES.json"))
        let list = try! JSONSerialization.jsonObject(with: data) as! [[String: Any]]
        return list.map { e in
            let values = try! JSONSerialization.data(withJSONObject: e["values"]!, options: [.fragmentsAllowed])
            return GoldenType(
                name: e["name"] as! String, typeString: e["type_string"] as! String,
                valuesJSON: String(decoding: values, as: UTF8.self), files: e["files"] as! [String])
        }
    }()

    static var allFiles: [(GoldenType, String)] { all.flatMap { t in t.files.map { (t, $0) } } }
}

func goldenBytes(_ file: String) throws -> [UInt8] {
    try Fixtures.bytes(Fixtures.arrow.appendingPathComponent(file))
}

/// Parses JSON text into a Foundation object for a semantic comparison.
func parseJSON(_ text: String) throws -> NSObject {
    try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) as! NSObject
}

@Suite("Arrow golden streams (pyarrow, TYPES.json)")
struct GoldenStreamTests {
    @Test("TYPES.json lists every golden file")
    func typesCoverFiles() throws {
        #expect(GoldenType.all.count >= 39)
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: Fixtures.arrow.path).filter {
            $0.hasSuffix(".arrows")
        }
        #expect(Set(onDisk) == Set(GoldenType.allFiles.map(\.1)))
    }

    @Test("type string and values match pyarrow", arguments: GoldenType.allFiles)
    func golden(_ type: GoldenType, _ file: String) throws {
        let batch = try ArrowStreamReader().read(ByteStorage(copying: try goldenBytes(file)), validateFully: true)
        #expect(batch.length == 3)
        try #require(batch.columns.count == 1)
        #expect(batch.schema.fields[0].name == "col")
        #expect(batch.schema.fields[0].typeDescription == type.typeString)
        let col = batch.columns[0]
        var text = "["
        for i in 0..<col.length {
            if i > 0 { text += ", " }
            col.appendJSON(at: i, to: &text, options: .integers)
        }
        text += "]"
        #expect(try parseJSON(text) == parseJSON(type.valuesJSON), "\(file): got \(text), expected \(type.valuesJSON)")
        #expect(batch.warnings.isEmpty)
    }

    @Test("compressed and uncompressed goldens decode to the same JSON", arguments: GoldenType.all)
    func compressionAgrees(_ type: GoldenType) throws {
        var renderings: [String] = []
        for file in type.files {
            let batch = try ArrowStreamReader().read(ByteStorage(copying: try goldenBytes(file)))
            renderings.append((0..<3).map { batch.columns[0].jsonValue(at: $0) }.joined(separator: "|"))
        }
        #expect(Set(renderings).count == 1, "\(renderings)")
    }
}
