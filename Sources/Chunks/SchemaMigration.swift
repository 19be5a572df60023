import ArrowIPC
import IngestCore

/// What becomes of chunks written by older SDKs: the column names, descriptors, entity paths and
/// schema metadata the 0.41 reader gives them (`rerun.chunk.RrdReader(path).stream()` of
/// rerun-sdk 0.41 migrates every chunk it loads). The rules are data (``columnRules``,
/// ``entityPathRules``), each applying to chunks whose ``SorbetVersion`` is older than the version
/// that introduced it; a new rule is one more entry.
///
/// A migrated chunk keeps its rows, ids, timelines and static flag; its component columns are those
/// the rules keep, ordered by name (as 0.41 orders them).
///
/// ``ChunkDecoder`` applies the migration by default (``ChunkDecoder/migratesSchemas``), once per
/// schema (the result is cached with the schema's column layout): chunks of today's version cost
/// nothing. The raw view (names as the bytes hold them) is what `ingest print` and `ingest verify`
/// show.
///
/// Besides the rules, chunks written by rerun-sdk 0.23 (``SorbetVersion/dottedKeys``) get today's
/// column descriptor first (``descriptor(ofDottedField:)``): their metadata keys are spelled
/// `rerun.` instead of `rerun:`, their columns are named by the bare component (`Scalar`), and the
/// archetype field is a key of its own. The name becomes `<Archetype short name>:<field>` (`Scalar`
/// of `rerun.archetypes.Scalars`, field `scalars` → `Scalars:scalars`).
///
/// ```swift
/// let field: ArrowField = …                                   // a 0.23 column named "Scalar"
/// let column = SchemaMigration.column(field, version: .dottedKeys, migrating: true)
/// // column?.name == "Scalars:scalars", column?.componentType == "rerun.components.Scalar"
/// ```
public enum SchemaMigration {
    /// A component column's descriptor: what the migration reads and rewrites.
    public struct Column: Hashable, Sendable {
        /// The column name (after migration: the component, as 0.41 names its columns).
        public var name: String
        /// `rerun:archetype` (fully qualified), absent for AnyValues and indicators.
        public var archetype: String?
        /// `rerun:component`: `Archetype:field`, a plain name (AnyValues) or an indicator's component.
        public var component: String
        /// `rerun:component_type` (fully qualified), absent for custom data.
        public var componentType: String?

        /// A descriptor from its parts.
        public init(name: String, archetype: String?, component: String, componentType: String?) {
            self.name = name
            self.archetype = archetype
            self.component = component
            self.componentType = componentType
        }

        /// The part of ``component`` after its last `:` (the archetype field), or nil.
        public var field: String? {
            guard let colon = component.lastIndex(of: ":") else { return nil }
            return String(component[component.index(after: colon)...])
        }
    }

    /// Which columns a rule applies to: every given property must match (nil: any).
    public struct Match: Sendable {
        /// The fully qualified archetype.
        public var archetype: String?
        /// The archetype field (the part of the component after `:`).
        public var field: String?
        /// The whole component (`Transform3D:axis_length`).
        public var component: String?
        /// The component type.
        public var componentType: String?
        /// A prefix and a suffix the component must both have (`rerun.components.` … `Indicator`).
        public var componentAffixes: (prefix: String, suffix: String)?

        /// A match on the given properties.
        public init(
            archetype: String? = nil, field: String? = nil, component: String? = nil, componentType: String? = nil,
            componentAffixes: (prefix: String, suffix: String)? = nil
        ) {
            self.archetype = archetype
            self.field = field
            self.component = component
            self.componentType = componentType
            self.componentAffixes = componentAffixes
        }

        func matches(_ c: Column) -> Bool {
            if let archetype, c.archetype != archetype { return false }
            if let field, c.field != field { return false }
            if let component, c.component != component { return false }
            if let componentType, c.componentType != componentType { return false }
            if let (prefix, suffix) = componentAffixes,
                !(c.component.hasPrefix(prefix) && c.component.hasSuffix(suffix))
            {
                return false
            }
            return true
        }
    }

    /// What a rule does with a matching column.
    public enum Rewrite: Sendable {
        /// The column is dropped (its chunk keeps its rows, ids and other columns).
        case drop
        /// The given properties are replaced; a new archetype or field renames the component (and
        /// the column) to `<archetype short name>:<field>`.
        case set(archetype: String? = nil, field: String? = nil, componentType: String? = nil)
    }

    /// Where a rule comes from.
    public enum Evidence: String, Sendable {
        /// Seen in the compatibility corpus (`Fixtures/rrd/compat`, `MIGRATED.json`): 0.41's reader
        /// does it to the files of that SDK.
        case corpus
        /// In the migration table of the reference reader; no corpus file has such a column.
        case referenceReader = "reference reader"
    }

    /// One rename or drop of component columns.
    public struct ColumnRule: Sendable {
        /// A short name (README table, test names).
        public var name: String
        /// Applies to chunks of a version older than this one.
        public var before: SorbetVersion
        /// Which columns it applies to.
        public var match: Match
        /// What it does to them.
        public var rewrite: Rewrite
        /// Where the rule comes from.
        public var evidence: Evidence
    }

    /// One rename of an entity path.
    public struct EntityPathRule: Sendable {
        /// A short name (README table, test names).
        public var name: String
        /// Applies to chunks of a version older than this one.
        public var before: SorbetVersion
        /// The escaped entity path it renames (matched exactly, not as a prefix).
        public var from: String
        /// The escaped entity path such chunks get instead.
        public var to: String
        /// Where the rule comes from.
        public var evidence: Evidence
    }

    /// Every column rule, applied in this order (a column renamed by one rule is matched by the later
    /// ones under its new name).
    public static let columnRules: [ColumnRule] = [
        // 0.0.x → 0.1.x: rerun-sdk 0.23.
        ColumnRule(
            name: "indicator columns are dropped", before: SorbetVersion(0, 1, 1),
            match: Match(componentAffixes: ("rerun.components.", "Indicator")), rewrite: .drop, evidence: .corpus),
        ColumnRule(
            name: "RecordingProperties becomes RecordingInfo", before: SorbetVersion(0, 1, 0),
            match: Match(archetype: "rerun.archetypes.RecordingProperties"),
            rewrite: .set(archetype: "rerun.archetypes.RecordingInfo"), evidence: .corpus),
        ColumnRule(
            name: "the deprecated Scalar archetype becomes Scalars", before: SorbetVersion(0, 1, 0),
            match: Match(archetype: "rerun.archetypes.Scalar", field: "scalar"),
            rewrite: .set(archetype: "rerun.archetypes.Scalars", field: "scalars"), evidence: .corpus),
        // 0.1.1 → 0.1.2: rerun-sdk 0.24 – 0.27 (and 0.23).
        ColumnRule(
            name: "Transform3D:axis_length becomes TransformAxes3D:axis_length", before: SorbetVersion(0, 1, 2),
            match: Match(component: "Transform3D:axis_length"),
            rewrite: .set(archetype: "rerun.archetypes.TransformAxes3D"), evidence: .corpus),
        ColumnRule(
            name: "PoseTranslation3D becomes Translation3D", before: SorbetVersion(0, 1, 2),
            match: Match(componentType: "rerun.components.PoseTranslation3D"),
            rewrite: .set(componentType: "rerun.components.Translation3D"), evidence: .corpus),
        ColumnRule(
            name: "PoseRotationAxisAngle becomes RotationAxisAngle", before: SorbetVersion(0, 1, 2),
            match: Match(componentType: "rerun.components.PoseRotationAxisAngle"),
            rewrite: .set(componentType: "rerun.components.RotationAxisAngle"), evidence: .referenceReader),
        ColumnRule(
            name: "PoseRotationQuat becomes RotationQuat", before: SorbetVersion(0, 1, 2),
            match: Match(componentType: "rerun.components.PoseRotationQuat"),
            rewrite: .set(componentType: "rerun.components.RotationQuat"), evidence: .referenceReader),
        ColumnRule(
            name: "PoseScale3D becomes Scale3D", before: SorbetVersion(0, 1, 2),
            match: Match(componentType: "rerun.components.PoseScale3D"),
            rewrite: .set(componentType: "rerun.components.Scale3D"), evidence: .referenceReader),
        ColumnRule(
            name: "PoseTransformMat3x3 becomes TransformMat3x3", before: SorbetVersion(0, 1, 2),
            match: Match(componentType: "rerun.components.PoseTransformMat3x3"),
            rewrite: .set(componentType: "rerun.components.TransformMat3x3"), evidence: .referenceReader),
        ColumnRule(
            name: "CoordinateFrame:frame_id becomes CoordinateFrame:frame", before: SorbetVersion(0, 1, 2),
            match: Match(component: "CoordinateFrame:frame_id"), rewrite: .set(field: "frame"),
            evidence: .referenceReader),
        // 0.1.2 → 0.1.3: rerun-sdk 0.28.
        ColumnRule(
            name: "SeriesVisible becomes Visible", before: SorbetVersion(0, 1, 3),
            match: Match(componentType: "rerun.components.SeriesVisible"),
            rewrite: .set(componentType: "rerun.components.Visible"), evidence: .referenceReader),
    ]

    /// Every entity path rule.
    public static let entityPathRules: [EntityPathRule] = [
        EntityPathRule(
            name: "recording properties move to /__properties", before: SorbetVersion(0, 1, 0),
            from: "/__properties/recording", to: "/__properties", evidence: .corpus)
    ]

    /// Whether chunks of `version` are migrated at all (nil, an unknown version: no).
    public static func applies(to version: SorbetVersion?) -> Bool {
        guard let version else { return false }
        return version < SorbetVersion.current
    }

    /// The descriptor of a component column, raw (`migrating` false, or a version that is not
    /// migrated: what the bytes say) or migrated to today's schema (nil: the column is dropped).
    ///
    /// Raw, the descriptor takes `rerun:archetype`, `rerun:component` and `rerun:component_type`,
    /// or for a 0.23 column `rerun.archetype` and, as its type, `rerun.component` (which held the
    /// component type then); the component is the column name where no key gives it.
    public static func column(_ field: ArrowField, version: SorbetVersion?, migrating: Bool) -> Column? {
        guard migrating, let version, applies(to: version) else { return rawColumn(field) }
        var c =
            version < SorbetVersion(0, 1, 0) && field.metadata("rerun:component") == nil
            ? descriptor(ofDottedField: field) : rawColumn(field)
        for rule in columnRules where version < rule.before && rule.match.matches(c) {
            switch rule.rewrite {
            case .drop:
                return nil
            case .set(let archetype, let field, let componentType):
                if let componentType { c.componentType = componentType }
                if archetype != nil || field != nil {
                    let newArchetype = archetype ?? c.archetype
                    if let newArchetype, let f = field ?? c.field {
                        c.component = shortName(newArchetype) + ":" + f
                    }
                    c.archetype = newArchetype
                }
            }
        }
        // 0.41 names a migrated chunk's columns after their component.
        c.name = c.component
        return c
    }

    /// The raw descriptor (see ``column(_:version:migrating:)``).
    static func rawColumn(_ f: ArrowField) -> Column {
        let archetype = f.metadata("rerun:archetype") ?? f.metadata("rerun.archetype")
        if let component = f.metadata("rerun:component") {
            return Column(
                name: f.name, archetype: archetype, component: component,
                componentType: f.metadata("rerun:component_type"))
        }
        let legacyType = f.metadata("rerun.component")
        return Column(
            name: f.name, archetype: archetype, component: f.name,
            componentType: legacyType == f.name ? nil : legacyType)
    }

    /// Today's descriptor of a column written by rerun-sdk 0.23 (`rerun.` keys, bare names).
    ///
    /// - An indicator (a name ending in `Indicator`): the component is its `rerun.component`
    ///   (`rerun.components.ScalarsIndicator`), or the name made fully qualified; no archetype, no type.
    /// - With `rerun.archetype` and `rerun.archetype_field`: `<short archetype>:<field>`, typed by
    ///   `rerun.component`.
    /// - With the field alone: the field, typed by `rerun.component`; with the archetype alone: the
    ///   component type as the component; with neither (AnyValues): `rerun.component` (the name).
    public static func descriptor(ofDottedField f: ArrowField) -> Column {
        let component = f.metadata("rerun.component")
        if f.name.hasSuffix("Indicator") {
            let c = component ?? (f.name.hasPrefix("rerun.") ? f.name : "rerun.components." + f.name)
            return Column(name: c, archetype: nil, component: c, componentType: nil)
        }
        guard let component else { return Column(name: f.name, archetype: nil, component: f.name, componentType: nil) }
        let c: Column
        switch (f.metadata("rerun.archetype"), f.metadata("rerun.archetype_field")) {
        case (nil, nil):
            c = Column(name: component, archetype: nil, component: component, componentType: nil)
        case (nil, let field?):
            c = Column(name: field, archetype: nil, component: field, componentType: component)
        case (let archetype?, nil):
            c = Column(name: component, archetype: archetype, component: component, componentType: component)
        case (let archetype?, let field?):
            let name = shortName(archetype) + ":" + field
            c = Column(name: name, archetype: archetype, component: name, componentType: component)
        }
        return c
    }

    /// `rerun.archetypes.Points3D` → `Points3D` (also `rerun.blueprint.archetypes.`); other names as they are.
    static func shortName(_ archetype: String) -> String {
        for prefix in ["rerun.archetypes.", "rerun.blueprint.archetypes."] where archetype.hasPrefix(prefix) {
            return String(archetype.dropFirst(prefix.count))
        }
        return archetype
    }

    /// The entity path of a chunk of `version` after migration.
    public static func entityPath(_ path: String, version: SorbetVersion) -> String {
        for rule in entityPathRules where version < rule.before && path == rule.from { return rule.to }
        return path
    }

    /// Whether any entity path rule applies to chunks of `version` (the decoder checks paths only then).
    static func renamesEntityPaths(_ version: SorbetVersion) -> Bool {
        entityPathRules.contains { version < $0.before }
    }

    /// The schema-level metadata of a chunk of `version` after migration: `rerun.` keys spelled
    /// `rerun:`, `rerun.version` and `heap_size_bytes` gone, the entity path migrated and
    /// `sorbet:version` today's (``SorbetVersion/current``); other entries kept, in order.
    public static func schemaMetadata(_ raw: [KeyValue], version: SorbetVersion) -> [KeyValue] {
        var out: [KeyValue] = []
        var hasVersion = false
        for kv in raw {
            var key = kv.key
            if key == "rerun.version" || key == "rerun.heap_size_bytes" || key == "rerun:heap_size_bytes" { continue }
            if key.hasPrefix("rerun.") { key = "rerun:" + key.dropFirst("rerun.".count) }
            var value = kv.value
            if key == "rerun:entity_path" { value = entityPath(value, version: version) }
            if key == "sorbet:version" {
                guard !hasVersion else { continue }
                hasVersion = true
                value = SorbetVersion.current.description
            }
            guard !out.contains(where: { $0.key == key }) else { continue }
            out.append(KeyValue(key: key, value: value))
        }
        if !hasVersion { out.append(KeyValue(key: "sorbet:version", value: SorbetVersion.current.description)) }
        return out
    }
}

extension ChunkDecoder {
    /// The chunk id and static flag a chunk's schema alone tells (no record batch decoded): the id
    /// from `rerun:id` (0.23: `rerun.id`), static when no column is an index (time) column. For
    /// `ArrowMsg`s that lack the fields (0.23 has neither, 0.24 no `is_static`): the same values the
    /// decoded chunk has.
    ///
    /// - Parameter ipc: the uncompressed Arrow IPC stream.
    /// - Returns: the id (nil when the schema has none, or not a TUID) and whether the chunk is static.
    /// - Throws: ``ChunkError`` when the stream does not begin with a valid schema message.
    public static func identity(ofIPC ipc: UnsafeRawBufferPointer) throws(ChunkError) -> (id: ChunkId?, isStatic: Bool)
    {
        let schema: ArrowSchema
        do {
            schema = try IPCFraming.schema(ipc)
        } catch {
            throw ChunkError("Arrow IPC: \(error.description)")
        }
        let id = (schema.metadata("rerun:id") ?? schema.metadata("rerun.id")).flatMap { parseTuid($0) }.map {
            ChunkId($0)
        }
        let isStatic = !schema.fields.contains {
            let kind = $0.metadata("rerun:kind") ?? $0.metadata("rerun.kind")
            return kind == "index" || kind == "time"
        }
        return (id, isStatic)
    }
}
