import ArrowIPC
import Chunks
import FixtureSupport
import Foundation
import IngestCore
import RRD
import Testing

extension ChunkView {
    /// The view of a decoded chunk (component descriptors as the chunk reports them).
    init(_ chunk: Chunk) {
        var timelines: [String: [String]] = [:]
        for t in chunk.timelines {
            timelines[t.name] = [t.arrowType, t.min.map { String($0) } ?? "", t.max.map { String($0) } ?? ""]
        }
        self.init(
            id: chunk.id.description, entityPath: chunk.entityPath, numRows: chunk.numRows, isStatic: chunk.isStatic,
            timelines: timelines,
            components: chunk.components.map {
                [$0.name, $0.arrowType, $0.archetype ?? "", $0.component, $0.componentType ?? ""]
            },
            schemaMetadata: Dictionary(chunk.schemaMetadata.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        )
    }
}

/// A 0.23 component column (dotted keys, bare name).
private func dotted(_ name: String, archetype: String?, field: String?, component: String?) -> ArrowField {
    var md: [KeyValue] = []
    if let archetype { md.append(KeyValue(key: "rerun.archetype", value: archetype)) }
    if let field { md.append(KeyValue(key: "rerun.archetype_field", value: field)) }
    if let component { md.append(KeyValue(key: "rerun.component", value: component)) }
    md.append(KeyValue(key: "rerun.kind", value: "data"))
    return ArrowField(
        name: name, type: .list(ArrowField(name: "item", type: .float64, nullable: true)), nullable: true, metadata: md)
}

/// A 0.24+ component column.
private func colon(_ component: String, archetype: String?, type: String?) -> ArrowField {
    var md: [KeyValue] = []
    if let archetype { md.append(KeyValue(key: "rerun:archetype", value: archetype)) }
    md.append(KeyValue(key: "rerun:component", value: component))
    if let type { md.append(KeyValue(key: "rerun:component_type", value: type)) }
    md.append(KeyValue(key: "rerun:kind", value: "data"))
    return ArrowField(
        name: component, type: .list(ArrowField(name: "item", type: .float64, nullable: true)), nullable: true,
        metadata: md)
}

private let v023 = SorbetVersion.dottedKeys
private let v024 = SorbetVersion(0, 1, 1)
private let v028 = SorbetVersion(0, 1, 2)
private let v030 = SorbetVersion(0, 1, 3)

private func migrated(_ f: ArrowField, _ v: SorbetVersion) -> SchemaMigration.Column? {
    SchemaMigration.column(f, version: v, migrating: true)
}

private func rule(_ name: String) -> SchemaMigration.ColumnRule {
    SchemaMigration.columnRules.first { $0.name == name }!
}

@Suite("Schema migration: one test per rule (SchemaMigration)")
struct SchemaMigrationRuleTests {
    @Test("versions: parsed from sorbet:version, ordered, today's is not migrated")
    func versions() {
        #expect(SorbetVersion(parsing: "0.1.3") == SorbetVersion(0, 1, 3))
        #expect(SorbetVersion(parsing: "0.1.4-alpha.1") == SorbetVersion(0, 1, 4))
        #expect(
            SorbetVersion(parsing: "1") == nil && SorbetVersion(parsing: "0.1.") == nil
                && SorbetVersion(parsing: "a.b.c") == nil)
        #expect(SorbetVersion(parsing: "0.300.1") == nil)
        #expect(SorbetVersion.dottedKeys < v024 && v024 < v028 && v028 < v030 && v030 < .current)
        #expect(!SchemaMigration.applies(to: .current) && !SchemaMigration.applies(to: SorbetVersion(0, 2, 0)))
        #expect(!SchemaMigration.applies(to: nil))
        #expect(SchemaMigration.applies(to: v023) && SchemaMigration.applies(to: v030))
    }

    @Test("0.23 descriptor: <Archetype>:<field>, typed by rerun.component; AnyValues keep their name")
    func dottedDescriptor() throws {
        let c = try #require(
            migrated(
                dotted(
                    "Position3D", archetype: "rerun.archetypes.Points3D", field: "positions",
                    component: "rerun.components.Position3D"), v023))
        #expect(
            c
                == .init(
                    name: "Points3D:positions", archetype: "rerun.archetypes.Points3D", component: "Points3D:positions",
                    componentType: "rerun.components.Position3D"))
        let bp = try #require(
            migrated(
                dotted(
                    "RootContainer", archetype: "rerun.blueprint.archetypes.ViewportBlueprint", field: "root_container",
                    component: "rerun.blueprint.components.RootContainer"), v023))
        #expect(bp.name == "ViewportBlueprint:root_container")
        let any = try #require(
            migrated(dotted("confidence", archetype: nil, field: nil, component: "confidence"), v023))
        #expect(any == .init(name: "confidence", archetype: nil, component: "confidence", componentType: nil))
        let fieldOnly = try #require(
            migrated(dotted("X", archetype: nil, field: "speed", component: "rerun.components.Speed"), v023))
        #expect(
            fieldOnly
                == .init(name: "speed", archetype: nil, component: "speed", componentType: "rerun.components.Speed"))
        let archetypeOnly = try #require(
            migrated(dotted("X", archetype: "MyArch", field: nil, component: "rerun.components.Speed"), v023))
        #expect(archetypeOnly.name == "rerun.components.Speed" && archetypeOnly.archetype == "MyArch")
        // Raw, the bytes' names stay and rerun.component is read as the type.
        let raw = SchemaMigration.column(
            dotted(
                "Position3D", archetype: "rerun.archetypes.Points3D", field: "positions",
                component: "rerun.components.Position3D"), version: v023, migrating: false)
        #expect(
            raw
                == .init(
                    name: "Position3D", archetype: "rerun.archetypes.Points3D", component: "Position3D",
                    componentType: "rerun.components.Position3D"))
    }

    @Test("rule: indicator columns are dropped; blueprint indicators stay, named by their component")
    func indicators() throws {
        let r = rule("indicator columns are dropped")
        #expect(r.before == SorbetVersion(0, 1, 1) && r.evidence == .corpus)
        #expect(
            migrated(
                dotted(
                    "Points3DIndicator", archetype: nil, field: nil, component: "rerun.components.Points3DIndicator"),
                v023) == nil)
        // Without rerun.component, a short indicator name is qualified (and dropped).
        #expect(migrated(dotted("ScalarsIndicator", archetype: nil, field: nil, component: nil), v023) == nil)
        let bp = try #require(
            migrated(
                dotted(
                    "ViewBlueprintIndicator", archetype: nil, field: nil,
                    component: "rerun.blueprint.components.ViewBlueprintIndicator"), v023))
        #expect(
            bp
                == .init(
                    name: "rerun.blueprint.components.ViewBlueprintIndicator", archetype: nil,
                    component: "rerun.blueprint.components.ViewBlueprintIndicator", componentType: nil))
        // From 0.1.1 on an indicator-like component is data like any other.
        #expect(migrated(colon("rerun.components.FooIndicator", archetype: nil, type: nil), v024) != nil)
    }

    @Test("rule: RecordingProperties becomes RecordingInfo (0.23)")
    func recordingInfo() throws {
        let c = try #require(
            migrated(
                dotted(
                    "Timestamp", archetype: "rerun.archetypes.RecordingProperties", field: "start_time",
                    component: "rerun.components.Timestamp"), v023))
        #expect(
            c
                == .init(
                    name: "RecordingInfo:start_time", archetype: "rerun.archetypes.RecordingInfo",
                    component: "RecordingInfo:start_time", componentType: "rerun.components.Timestamp"))
        #expect(
            migrated(
                colon("RecordingProperties:name", archetype: "rerun.archetypes.RecordingProperties", type: nil), v024)?
                .name == "RecordingProperties:name")
    }

    @Test("rule: the deprecated Scalar archetype becomes Scalars (0.23)")
    func scalar() throws {
        let c = try #require(
            migrated(
                dotted(
                    "Scalar", archetype: "rerun.archetypes.Scalar", field: "scalar",
                    component: "rerun.components.Scalar"), v023))
        #expect(
            c
                == .init(
                    name: "Scalars:scalars", archetype: "rerun.archetypes.Scalars", component: "Scalars:scalars",
                    componentType: "rerun.components.Scalar"))
        let plural = try #require(
            migrated(
                dotted(
                    "Scalar", archetype: "rerun.archetypes.Scalars", field: "scalars",
                    component: "rerun.components.Scalar"), v023))
        #expect(plural.name == "Scalars:scalars")
    }

    @Test("rule: Transform3D:axis_length becomes TransformAxes3D:axis_length (before 0.1.2)")
    func axisLength() throws {
        let f = colon(
            "Transform3D:axis_length", archetype: "rerun.archetypes.Transform3D", type: "rerun.components.AxisLength")
        let c = try #require(migrated(f, v024))
        #expect(
            c
                == .init(
                    name: "TransformAxes3D:axis_length", archetype: "rerun.archetypes.TransformAxes3D",
                    component: "TransformAxes3D:axis_length", componentType: "rerun.components.AxisLength"))
        #expect(
            migrated(
                dotted(
                    "AxisLength", archetype: "rerun.archetypes.Transform3D", field: "axis_length",
                    component: "rerun.components.AxisLength"), v023)?.name == "TransformAxes3D:axis_length")
        #expect(migrated(f, v028)?.name == "Transform3D:axis_length", "0.1.2 on: not renamed")
    }

    @Test(
        "rules: Pose* component types become the plain transform components (before 0.1.2)",
        arguments: [
            ("PoseTranslation3D", "Translation3D"), ("PoseRotationAxisAngle", "RotationAxisAngle"),
            ("PoseRotationQuat", "RotationQuat"),
            ("PoseScale3D", "Scale3D"), ("PoseTransformMat3x3", "TransformMat3x3"),
        ])
    func pose(old: String, new: String) throws {
        #expect(rule("\(old) becomes \(new)").before == SorbetVersion(0, 1, 2))
        let f = colon(
            "InstancePoses3D:x", archetype: "rerun.archetypes.InstancePoses3D", type: "rerun.components.\(old)")
        let c = try #require(migrated(f, v024))
        #expect(c.componentType == "rerun.components.\(new)" && c.name == "InstancePoses3D:x")
        #expect(migrated(f, v028)?.componentType == "rerun.components.\(old)")
    }

    @Test("rule: CoordinateFrame:frame_id becomes CoordinateFrame:frame (before 0.1.2)")
    func coordinateFrame() throws {
        let f = colon(
            "CoordinateFrame:frame_id", archetype: "rerun.archetypes.CoordinateFrame",
            type: "rerun.components.TransformFrameId")
        #expect(migrated(f, v024)?.name == "CoordinateFrame:frame")
        #expect(migrated(f, v028)?.name == "CoordinateFrame:frame_id")
    }

    @Test("rule: SeriesVisible becomes Visible (before 0.1.3)")
    func seriesVisible() throws {
        let f = colon(
            "SeriesLines:visible_series", archetype: "rerun.archetypes.SeriesLines",
            type: "rerun.components.SeriesVisible")
        #expect(migrated(f, v028)?.componentType == "rerun.components.Visible")
        #expect(migrated(f, v030)?.componentType == "rerun.components.SeriesVisible")
        #expect(
            SchemaMigration.column(f, version: v028, migrating: false)?.componentType
                == "rerun.components.SeriesVisible")
    }

    @Test("rule: recording properties move from /__properties/recording to /__properties (0.23)")
    func propertiesPath() {
        #expect(SchemaMigration.entityPath("/__properties/recording", version: v023) == "/__properties")
        #expect(SchemaMigration.entityPath("/__properties/calibration", version: v023) == "/__properties/calibration")
        #expect(SchemaMigration.entityPath("/__properties/recording", version: v024) == "/__properties/recording")
    }

    @Test("schema metadata: colon keys, no version or heap size, today's sorbet:version, migrated path")
    func schemaMetadata() {
        let raw = [
            KeyValue(key: "rerun.entity_path", value: "/__properties/recording"),
            KeyValue(key: "rerun.heap_size_bytes", value: "440"),
            KeyValue(key: "rerun.id", value: "chunk_X"), KeyValue(key: "rerun.version", value: "1"),
        ]
        #expect(
            SchemaMigration.schemaMetadata(raw, version: v023) == [
                KeyValue(key: "rerun:entity_path", value: "/__properties"), KeyValue(key: "rerun:id", value: "chunk_X"),
                KeyValue(key: "sorbet:version", value: "0.1.4"),
            ])
        let g1 = [
            KeyValue(key: "rerun:entity_path", value: "/a"), KeyValue(key: "rerun:heap_size_bytes", value: "9"),
            KeyValue(key: "rerun:id", value: "chunk_Y"), KeyValue(key: "sorbet:version", value: "0.1.1"),
        ]
        #expect(
            SchemaMigration.schemaMetadata(g1, version: v024) == [
                KeyValue(key: "rerun:entity_path", value: "/a"), KeyValue(key: "rerun:id", value: "chunk_Y"),
                KeyValue(key: "sorbet:version", value: "0.1.4"),
            ])
    }

    @Test("no other column changes: names, archetypes and types of today's columns are kept by every rule")
    func untouched() {
        for v in [v023, v024, v028, v030] {
            let f = colon(
                "Points3D:positions", archetype: "rerun.archetypes.Points3D", type: "rerun.components.Position3D")
            #expect(migrated(f, v) == SchemaMigration.column(f, version: v, migrating: false))
        }
    }
}

/// The chunk decoder over the compatibility corpus: raw view = the bytes (EXPECTED.json), migrated
/// view = rerun-sdk 0.41's (MIGRATED.json).
@Suite("Old recordings: the chunk decoder, raw and migrated (Fixtures/rrd/compat)")
struct CompatChunkDecoderTests {
    /// Every chunk of the file, by store key (legacy ids resolved by the reader).
    static func decode(_ c: CompatCase, migrating: Bool, validate: Bool = true) throws -> [String: [ChunkView]] {
        var reader = try RRDReader(path: c.path)
        let decoder = ChunkDecoder(migratesSchemas: migrating)
        decoder.validateFully = validate
        var out: [String: [ChunkView]] = [:]
        while let event = reader.next() {
            guard case .message(let m) = event, case .arrowMsg(let msg) = m.message else { continue }
            let chunk = try decoder.decode(msg)
            #expect(chunk.warnings.isEmpty, "\(c) \(chunk.id): \(chunk.warnings)")
            out[msg.storeId.description, default: []].append(ChunkView(chunk))
        }
        return out
    }

    static func compare(_ ours: [String: [ChunkView]], _ theirs: [String: [ChunkView]], _ c: CompatCase) {
        #expect(Set(ours.keys) == Set(theirs.keys), "\(c): stores")
        for (key, want) in theirs {
            let got = ours[key] ?? []
            #expect(got.count == want.count, "\(c) \(key): \(got.count) chunks, want \(want.count)")
            // 0.41's store hands chunks out in its own order: compare by id.
            let byId = Dictionary(got.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            for w in want {
                #expect(byId[w.id] == w, "\(c) \(key)\n got  \(byId[w.id].map(\.description) ?? "nothing")\n want \(w)")
            }
        }
    }

    @Test(
        "raw: every chunk as the bytes hold it (names, types, descriptors, entity paths, schema metadata)",
        arguments: CompatFixtures.cases)
    func raw(c: CompatCase) throws {
        Self.compare(try Self.decode(c, migrating: false), CompatFixtures.rawView(c), c)
    }

    @Test("migrated (the default): every chunk as rerun-sdk 0.41's RrdReader gives it", arguments: CompatFixtures.cases)
    func migrated(c: CompatCase) throws {
        Self.compare(try Self.decode(c, migrating: true), CompatFixtures.migratedView(c), c)
    }

    @Test("one decoder fed every version's chunks in turn gives each its own version's migration")
    func mixedVersions() throws {
        // Schemas that differ only in metadata values (`sorbet:version` among them) share a schema id:
        // the decoder's layouts are per (schema, version).
        let file = "scalars.rrd"
        var queues: [[(CompatCase, ArrowMsg)]] = []
        for v in CompatFixtures.versions {
            let c = CompatCase(version: v, file: file)
            var reader = try RRDReader(path: c.path)
            var list: [(CompatCase, ArrowMsg)] = []
            while let e = reader.next() {
                if case .message(let m) = e, case .arrowMsg(let a) = m.message { list.append((c, a)) }
            }
            queues.append(list)
        }
        let decoder = ChunkDecoder()
        #expect(decoder.migratesSchemas)
        var got: [CompatCase: [String: [ChunkView]]] = [:]
        var k = 0
        while queues.contains(where: { k < $0.count }) {
            for q in queues where k < q.count {
                let (c, msg) = q[k]
                got[c, default: [:]][msg.storeId.description, default: []].append(ChunkView(try decoder.decode(msg)))
            }
            k += 1
        }
        for (c, views) in got { Self.compare(views, CompatFixtures.migratedView(c), c) }
        #expect(got.count == CompatFixtures.versions.count)
    }

    @Test("today's chunks (0.41 fixtures) are the same with and without migration")
    func todayUnchanged() throws {
        for name in ["points3d.rrd", "recording_with_blueprint.rrd", "transforms.rrd"] {
            var reader = try RRDReader(path: Fixtures.rrdPath(name))
            let on = ChunkDecoder()
            let off = ChunkDecoder(migratesSchemas: false)
            while let e = reader.next() {
                guard case .message(let m) = e, case .arrowMsg(let a) = m.message else { continue }
                let x = try on.decode(a)
                let y = try off.decode(a)
                #expect(ChunkView(x) == ChunkView(y), "\(name) \(x.id)")
                #expect(x.schemaMetadata == y.schemaMetadata)
            }
        }
    }
}
