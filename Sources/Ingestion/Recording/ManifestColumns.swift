import ArrowIPC
import Chunks
import IngestCore

/// The column naming rules of Rerun's RRD manifests and dataframe schemas (rrd-format.md §11).
enum ManifestNaming {
    /// `rerun.archetypes.Points3D` → `Points3D` (also `rerun.blueprint.archetypes.` and `rerun.` prefixes).
    static func archetypeShortName(_ archetype: String) -> String {
        for prefix in ["rerun.archetypes.", "rerun.blueprint.archetypes.", "rerun."] where archetype.hasPrefix(prefix) {
            return String(archetype.dropFirst(prefix.count))
        }
        return archetype
    }

    /// The component with its archetype's short name stripped (`Points3D:positions` → `positions`),
    /// or the whole component when it does not start with it.
    static func archetypeFieldName(_ d: ChunkSummary.Descriptor) -> String {
        if let a = d.archetype {
            let prefix = archetypeShortName(a) + ":"
            if d.component.hasPrefix(prefix) { return String(d.component.dropFirst(prefix.count)) }
        }
        return d.component
    }

    /// A manifest column name: the non-empty parts among `prefix` (a timeline), the archetype's short
    /// name, the field name and `suffix`, joined by `:`, with `,` ` ` `-` `.` `\` replaced by `_` and
    /// leading underscores removed.
    static func manifestColumn(prefix: String?, descriptor: ChunkSummary.Descriptor?, suffix: String) -> String {
        var parts: [String] = []
        if let prefix { parts.append(prefix) }
        if let d = descriptor {
            if let a = d.archetype { parts.append(archetypeShortName(a)) }
            parts.append(archetypeFieldName(d))
        }
        parts.append(suffix)
        let joined = parts.filter { !$0.isEmpty }.joined(separator: ":")
        var out = String.UnicodeScalarView()
        for u in joined.unicodeScalars {
            switch u {
            case ",", " ", "-", ".", "\\": out.append("_")
            default: out.append(u)
            }
        }
        return String(String(out).drop { $0 == "_" })
    }

    /// A dataframe column name: `ENTITY:COMPONENT`, with `/__properties` spelled `property`
    /// (`/__properties/calibration` → `property:calibration:fy`).
    static func dataframeColumn(entityPath: String, component: String) -> String {
        if entityPath == "/__properties" { return "property:" + component }
        if entityPath.hasPrefix("/__properties/") { return "property:" + entityPath.dropFirst(14) + ":" + component }
        return entityPath + ":" + component
    }
}

/// One column of a store's union ("Sorbet") schema, as a footer manifest's `sorbet_schema` holds it.
struct SorbetColumn: Hashable, Sendable {
    enum Kind: Hashable, Sendable {
        case rowId
        case index(name: String)
        case component(entityPath: String, ChunkSummary.Descriptor)
    }
    var kind: Kind
    var type: ArrowType
    /// Any chunk of the column is static.
    var isStatic = false
    /// Every chunk of the column is semantically empty.
    var isSemanticallyEmpty = false

    /// The field as the manifest writes it.
    var field: ArrowField {
        switch kind {
        case .rowId:
            return ArrowField(
                name: "rerun.controls.RowId", type: .fixedSizeBinary(16), nullable: false,
                metadata: [
                    KeyValue(key: "ARROW:extension:metadata", value: #"{"namespace":"row"}"#),
                    KeyValue(key: "ARROW:extension:name", value: "rerun.datatypes.TUID"),
                    KeyValue(key: "rerun:kind", value: "control"),
                ])
        case .index(let name):
            return ArrowField(
                name: name, type: type, nullable: true,
                metadata: [KeyValue(key: "rerun:index_name", value: name), KeyValue(key: "rerun:kind", value: "index")])
        case .component(let entity, let d):
            var md: [KeyValue] = []
            if let a = d.archetype { md.append(KeyValue(key: "rerun:archetype", value: a)) }
            md.append(KeyValue(key: "rerun:component", value: d.component))
            if let t = d.componentType { md.append(KeyValue(key: "rerun:component_type", value: t)) }
            md.append(KeyValue(key: "rerun:entity_path", value: entity))
            if isSemanticallyEmpty { md.append(KeyValue(key: "rerun:is_semantically_empty", value: "true")) }
            if isStatic { md.append(KeyValue(key: "rerun:is_static", value: "true")) }
            if d.archetype == "rerun.archetypes.Clear" { md.append(KeyValue(key: "rerun:is_tombstone", value: "true")) }
            md.append(KeyValue(key: "rerun:kind", value: "data"))
            return ArrowField(
                name: ManifestNaming.dataframeColumn(entityPath: entity, component: d.component), type: type,
                nullable: true, metadata: md)
        }
    }

    /// Reads a column back from a manifest's schema field (nil for a field of another kind).
    init?(field f: ArrowField) {
        switch f.metadata("rerun:kind") {
        case "control":
            kind = .rowId
        case "index":
            kind = .index(name: f.metadata("rerun:index_name") ?? f.name)
        case "data", nil:
            guard let component = f.metadata("rerun:component") else { return nil }
            kind = .component(
                entityPath: f.metadata("rerun:entity_path") ?? "/",
                ChunkSummary.Descriptor(
                    archetype: f.metadata("rerun:archetype"), component: component,
                    componentType: f.metadata("rerun:component_type")))
            isStatic = f.metadata("rerun:is_static") == "true"
            isSemanticallyEmpty = f.metadata("rerun:is_semantically_empty") == "true"
        default:
            return nil
        }
        type = f.type
    }

    init(kind: Kind, type: ArrowType, isStatic: Bool = false, isSemanticallyEmpty: Bool = false) {
        self.kind = kind
        self.type = type
        self.isStatic = isStatic
        self.isSemanticallyEmpty = isSemanticallyEmpty
    }

    /// The order of the written schema: row id, indexes by name, components by entity then descriptor.
    static func precedes(_ a: Kind, _ b: Kind) -> Bool {
        switch (a, b) {
        case (.rowId, .rowId): return false
        case (.rowId, _): return true
        case (_, .rowId): return false
        case (.index(let x), .index(let y)): return x < y
        case (.index, .component): return true
        case (.component, .index): return false
        case (.component(let e, let d), .component(let f, let g)): return e != f ? e < f : d < g
        }
    }
}

/// What a store's manifest must hold beyond its rows: the schema columns and manifest columns an
/// input's manifest had (so that a column whose chunks are all null somewhere is kept as Rerun keeps it).
struct ManifestHints: Sendable {
    var sorbet: [SorbetColumn] = []
    /// Timeline-level columns (`T:start`/`T:end`) with their types.
    var timelines: [String: ArrowType] = [:]
    /// Descriptors with a `:has_static_data` column.
    var staticDescriptors: Set<ChunkSummary.Descriptor> = []
    /// `T:DESCRIPTOR:start|end|num_rows` columns, with the timeline's type.
    var temporal: [TemporalKey: ArrowType] = [:]
}

/// A per-timeline, per-component manifest column key.
struct TemporalKey: Hashable, Sendable, Comparable {
    var timeline: String
    var descriptor: ChunkSummary.Descriptor

    static func < (a: TemporalKey, b: TemporalKey) -> Bool {
        a.timeline != b.timeline ? a.timeline < b.timeline : a.descriptor < b.descriptor
    }
}
