import Foundation

/// One recording of the compatibility corpus: `Fixtures/rrd/compat/<version>/<file>`.
public struct CompatCase: Sendable, Hashable, CustomStringConvertible {
    /// The SDK version folder (`0.23.4`).
    public var version: String
    /// The file name (`scalars.rrd`).
    public var file: String

    public init(version: String, file: String) {
        self.version = version
        self.file = file
    }

    public var description: String { "\(version)/\(file)" }

    /// The file's path.
    public var path: String { CompatFixtures.root.appendingPathComponent(version).appendingPathComponent(file).path }

    /// Its `files[]` entry in the version's `EXPECTED.json` (ground truth from the bytes and that SDK's tools).
    public var expected: [String: Any] { CompatFixtures.entry(self) }

    /// Its entry in `MIGRATED.json` (what rerun-sdk 0.41 gives after migration).
    public var migrated: [String: Any] {
        ((CompatFixtures.migrated["versions"] as! [String: Any])[version] as! [String: Any])[file] as! [String: Any]
    }

    /// Whether the file holds one more message than its `EXPECTED.json` describes: an empty End
    /// (16 zero bytes) after `size_bytes`. The 0.23 … 0.27 SDKs append it to `blueprint.rbl` when
    /// the process exits, after the generator had taken its ground truth (whose `sha256` is that of
    /// the bytes before it); the SDKs' own tools were run on the whole file.
    public var hasTrailingEnd: Bool {
        let size = expected["size_bytes"] as! Int
        guard let bytes = FileManager.default.contents(atPath: path), bytes.count == size + 16 else { return false }
        return bytes[size...].allSatisfy { $0 == 0 }
    }

    /// Its header version is below 0.28: the generations whose End has no stream footer.
    public var isFooterless: Bool { CompatFixtures.versionKey(version).lexicographicallyPrecedes([0, 28]) }
}

/// The compatibility corpus `Fixtures/rrd/compat`: recordings of rerun-sdk 0.23 … 0.40 with their
/// ground truth (`<version>/EXPECTED.json`: raw; `MIGRATED.json`: rerun-sdk 0.41's migrated view;
/// `QUERIES.json`: answers of rerun-sdk 0.41 to questions with today's names). Every version folder
/// found is walked: adding a version adds its cases.
public enum CompatFixtures {
    /// `<repo>/Fixtures/rrd/compat`, or the folder named by the environment variable
    /// `INGEST_COMPAT_CORPUS`: a corpus made the same way from other SDK versions
    /// (`Fixtures/rrd/compat/check_holdouts.sh`).
    public static var root: URL {
        if let other = ProcessInfo.processInfo.environment["INGEST_COMPAT_CORPUS"], !other.isEmpty {
            return URL(fileURLWithPath: other)
        }
        return Fixtures.rrd.appendingPathComponent("compat")
    }

    /// `0.23.4` → `[0, 23, 4]`.
    public static func versionKey(_ v: String) -> [Int] { v.split(separator: ".").map { Int($0) ?? 0 } }

    /// The version folders, oldest first.
    public static let versions: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.filter { $0.first?.isNumber == true }.sorted {
            versionKey($0).lexicographicallyPrecedes(versionKey($1))
        }
    }()

    nonisolated(unsafe) private static let expectedByVersion: [String: [String: Any]] = {
        var out: [String: [String: Any]] = [:]
        for v in versions { out[v] = json(root.appendingPathComponent(v).appendingPathComponent("EXPECTED.json")) }
        return out
    }()

    /// `MIGRATED.json`.
    nonisolated(unsafe) public static let migrated: [String: Any] = json(root.appendingPathComponent("MIGRATED.json"))

    /// `QUERIES.json`.
    nonisolated(unsafe) public static let queries: [String: Any] = json(root.appendingPathComponent("QUERIES.json"))

    /// The questions of `QUERIES.json`.
    public static var questions: [[String: Any]] { queries["questions"] as! [[String: Any]] }

    /// 0.41's view of each stream of a concatenation (`QUERIES.json` `streams`): per stream, its stores.
    public static func streamViews(_ c: CompatCase) -> [[[String: Any]]]? {
        ((queries["streams"] as? [String: Any])?[c.version] as? [String: Any])?[c.file] as? [[[String: Any]]]
    }

    /// A version's `EXPECTED.json`.
    public static func expected(_ version: String) -> [String: Any] { expectedByVersion[version]! }

    /// Every recording of every version (files the SDK could not write, such as `no_footer.rrd`
    /// before 0.32, are listed without streams and left out).
    public static let cases: [CompatCase] = versions.flatMap { v in
        (expectedByVersion[v]!["files"] as! [[String: Any]]).filter { $0["streams"] != nil }
            .map { CompatCase(version: v, file: $0["file"] as! String) }
    }

    static func entry(_ c: CompatCase) -> [String: Any] {
        (expected(c.version)["files"] as! [[String: Any]]).first { ($0["file"] as! String) == c.file }!
    }

    private static func json(_ url: URL) -> [String: Any] {
        let data = try! Data(contentsOf: url)
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }
}

/// A chunk as the compat ground truth describes it, to compare with a decoded chunk: everything
/// `EXPECTED.json` / `MIGRATED.json` / `QUERIES.json` give per chunk, as plain strings.
public struct ChunkView: Hashable, Sendable, CustomStringConvertible {
    public var id: String
    public var entityPath: String
    public var numRows: Int
    public var isStatic: Bool
    /// Timeline name → [Arrow type, min, max].
    public var timelines: [String: [String]]
    /// Component columns in order: [name, Arrow type, archetype, component, component type] ("" for none).
    public var components: [[String]]
    /// Schema-level metadata (nil: not compared).
    public var schemaMetadata: [String: String]?

    public init(
        id: String, entityPath: String, numRows: Int, isStatic: Bool, timelines: [String: [String]],
        components: [[String]], schemaMetadata: [String: String]?
    ) {
        self.id = id
        self.entityPath = entityPath
        self.numRows = numRows
        self.isStatic = isStatic
        self.timelines = timelines
        self.components = components
        self.schemaMetadata = schemaMetadata
    }

    public var description: String {
        "\(id) \(entityPath) rows=\(numRows) static=\(isStatic) timelines=\(timelines) components=\(components)"
            + (schemaMetadata.map { " metadata=\($0)" } ?? "")
    }
}

extension CompatFixtures {
    /// `kind:application_id:recording_id` of a store object.
    public static func storeKey(_ s: [String: Any]) -> String {
        "\(s["kind"] as! String):\(s["application_id"] as! String):\(s["recording_id"] as! String)"
    }

    private static func string(_ any: Any?) -> String {
        switch any {
        case let n as NSNumber: return n.stringValue
        case let s as String: return s
        default: return ""
        }
    }

    private static func timelines(_ any: Any?) -> [String: [String]] {
        var out: [String: [String]] = [:]
        for (name, t) in (any as? [String: [String: Any]]) ?? [:] {
            out[name] = [string(t["arrow_type"] ?? t["type"]), string(t["min"]), string(t["max"])]
        }
        return out
    }

    /// The raw descriptor of a column from its metadata (what our raw view reports: `rerun:` keys,
    /// or 0.23's `rerun.archetype` and `rerun.component` as the type).
    private static func rawDescriptor(_ name: String, _ md: [String: String]) -> [String] {
        let archetype = md["rerun:archetype"] ?? md["rerun.archetype"] ?? ""
        if let component = md["rerun:component"] {
            return [archetype, component, md["rerun:component_type"] ?? ""]
        }
        let legacy = md["rerun.component"] ?? ""
        return [archetype, name, legacy == name ? "" : legacy]
    }

    /// The view of every chunk of a file as its bytes hold it (`EXPECTED.json` `chunks`), by store key.
    public static func rawView(_ c: CompatCase) -> [String: [ChunkView]] {
        let stores = c.expected["stores"] as! [[String: Any]]
        var out: [String: [ChunkView]] = [:]
        for ch in c.expected["chunks"] as! [[String: Any]] {
            let short = ch["store"] as! String  // kind:recording_id
            let store = stores.first { "\($0["kind"] as! String):\($0["recording_id"] as! String)" == short }!
            var components: [[String]] = []
            for col in ch["columns"] as! [[String: Any]] where col["kind"] as? String == "data" {
                let name = col["name"] as! String
                components.append(
                    [name, col["arrow_type"] as! String] + rawDescriptor(name, col["metadata"] as! [String: String]))
            }
            out[storeKey(store), default: []].append(
                ChunkView(
                    id: ch["chunk_id"] as! String, entityPath: ch["entity_path"] as! String,
                    numRows: ch["num_rows"] as! Int, isStatic: ch["is_static"] as! Bool,
                    timelines: timelines(ch["timelines"]), components: components,
                    schemaMetadata: ch["schema_metadata"] as? [String: String]))
        }
        return out
    }

    /// 0.41's view of a file after migration, by store key: `MIGRATED.json`'s `rrd_reader` (columns
    /// spelled out, or "same names and types as the raw chunk" with `migration.metadata_changes`
    /// applied to the raw descriptors), or for a concatenation, which 0.41 reads only in part,
    /// `QUERIES.json`'s view of each of its streams read alone.
    public static func migratedView(_ c: CompatCase) -> [String: [ChunkView]] {
        var out: [String: [ChunkView]] = [:]
        if let streams = streamViews(c) {
            for stores in streams {
                for s in stores {
                    for ch in s["chunks"] as! [[String: Any]] {
                        var components: [[String]] = []
                        for col in ch["columns"] as! [[Any]] {
                            let md = col[2] as! [String: String]
                            guard md["rerun:kind"] == "data" else { continue }
                            components.append(
                                [
                                    col[0] as! String, col[1] as! String, md["rerun:archetype"] ?? "",
                                    md["rerun:component"] ?? (col[0] as! String), md["rerun:component_type"] ?? "",
                                ])
                        }
                        out[storeKey(s), default: []].append(view(ch, components))
                    }
                }
            }
            return out
        }
        let entry = c.migrated
        let changes = ((entry["migration"] as! [String: Any])["metadata_changes"] as? [String: Any]) ?? [:]
        let raw = Dictionary(
            (c.expected["chunks"] as! [[String: Any]]).map { ($0["chunk_id"] as! String, $0) },
            uniquingKeysWith: { a, _ in a })
        for s in (entry["rrd_reader"] as! [String: Any])["stores"] as! [[String: Any]] {
            for ch in s["chunks"] as! [[String: Any]] {
                var components: [[String]] = []
                if let cols = ch["columns"] as? [[Any]] {
                    for col in cols {
                        guard let md = col[2] as? [String: String], md["rerun:kind"] == "data" else { continue }
                        components.append(
                            [
                                col[0] as! String, col[1] as! String, md["rerun:archetype"] ?? "",
                                md["rerun:component"] ?? (col[0] as! String), md["rerun:component_type"] ?? "",
                            ])
                    }
                } else {
                    // Same names and types as the raw chunk: its descriptors with 0.41's metadata changes.
                    let r = raw[ch["chunk_id"] as! String]!
                    for col in r["columns"] as! [[String: Any]] where col["kind"] as? String == "data" {
                        let name = col["name"] as! String
                        var md = col["metadata"] as! [String: String]
                        let key =
                            "\(name) | archetype=\(md["rerun:archetype"] ?? md["rerun.archetype"] ?? "-") | field=\(md["rerun:archetype_field"] ?? md["rerun.archetype_field"] ?? "-") | component=\(md["rerun:component"] ?? md["rerun.component"] ?? "-")"
                        for (k, change) in (changes[key] as? [String: [Any]]) ?? [:] {
                            if let new = change[1] as? String { md[k] = new } else { md[k] = nil }
                        }
                        components.append(
                            [
                                name, col["arrow_type"] as! String, md["rerun:archetype"] ?? "",
                                md["rerun:component"] ?? name,
                                md["rerun:component_type"] ?? "",
                            ])
                    }
                }
                out[storeKey(s), default: []].append(view(ch, components))
            }
        }
        return out
    }

    private static func view(_ ch: [String: Any], _ components: [[String]]) -> ChunkView {
        ChunkView(
            id: ch["chunk_id"] as! String, entityPath: ch["entity_path"] as! String, numRows: ch["num_rows"] as! Int,
            isStatic: ch["is_static"] as! Bool, timelines: timelines(ch["timelines"]), components: components,
            schemaMetadata: ch["schema_metadata"] as? [String: String])
    }

    /// Whether 0.41's view of the file is complete (all its stores): false for the concatenations that
    /// 0.41 reads in part, where ``migratedView(_:)`` takes the streams read alone instead.
    public static func migratedViewIsWhole(_ c: CompatCase) -> Bool { streamViews(c) == nil }
}
