import ArrowIPC
import IngestCore

/// What an RRD footer manifest records about one chunk (rrd-format.md §11): its id, entity, rows,
/// static flag, per timeline its time range, and per component its descriptor, Arrow type, whether its
/// column is semantically empty, and per timeline the range and count of the rows that hold it.
///
/// Built from a decoded chunk (``init(_:droppingTimelines:)``) or read back from a manifest; two
/// summaries of the same chunk are equal either way.
public struct ChunkSummary: Sendable, Hashable {
    /// One timeline: its name, Arrow type (`int64`, `timestamp(ns)`, `duration(ns)`) and range.
    public struct TimelineRange: Sendable, Hashable {
        /// The timeline's name (`log_time`, `frame_nr`, …).
        public var name: String
        /// The Arrow type of its time column.
        public var type: ArrowType
        /// Smallest and largest time; nil for a chunk without rows.
        public var range: ClosedRange<Int64>?

        /// A timeline entry with the given fields.
        public init(name: String, type: ArrowType, range: ClosedRange<Int64>?) {
            self.name = name
            self.type = type
            self.range = range
        }
    }

    /// A component column: `rerun:archetype`, `rerun:component`, `rerun:component_type`.
    public struct Descriptor: Sendable, Hashable, Comparable {
        /// `rerun:archetype` (`rerun.archetypes.Points3D`), `nil` for a column outside an archetype.
        public var archetype: String?
        /// `rerun:component` (`Points3D:positions`): what identifies the column within its chunk.
        public var component: String
        /// `rerun:component_type` (`rerun.components.Position3D`), `nil` when the column has none.
        public var componentType: String?

        /// A descriptor with the given fields.
        public init(archetype: String?, component: String, componentType: String?) {
            self.archetype = archetype
            self.component = component
            self.componentType = componentType
        }

        /// Rerun's order of component descriptors: archetype (none first), component, component type.
        public static func < (a: Descriptor, b: Descriptor) -> Bool {
            switch (a.archetype, b.archetype) {
            case (nil, .some): return true
            case (.some, nil): return false
            case (let x?, let y?) where x != y: return x < y
            default: break
            }
            if a.component != b.component { return a.component < b.component }
            switch (a.componentType, b.componentType) {
            case (nil, .some): return true
            case (.some, nil): return false
            case (let x?, let y?): return x < y
            default: return false
            }
        }
    }

    /// A component's rows on one timeline: their time range (nil when none) and count.
    public struct ComponentRange: Sendable, Hashable {
        /// Smallest and largest time, on this timeline, of the rows where the component is not null;
        /// nil when no row holds it.
        public var range: ClosedRange<Int64>?
        /// How many rows hold the component (a non-null cell); the same on every timeline.
        public var rows: Int

        /// A range with the given fields.
        public init(range: ClosedRange<Int64>?, rows: Int) {
            self.range = range
            self.rows = rows
        }
    }

    /// One component column.
    public struct Component: Sendable, Hashable {
        /// Which component the column holds.
        public var descriptor: Descriptor
        /// The column's Arrow type (a list).
        public var type: ArrowType
        /// Whether no row holds an instance (Rerun's "semantically empty": the list's values are empty).
        public var isSemanticallyEmpty: Bool
        /// One per ``ChunkSummary/timelines`` entry (empty for a static chunk).
        public var perTimeline: [ComponentRange]

        /// A component entry with the given fields.
        public init(descriptor: Descriptor, type: ArrowType, isSemanticallyEmpty: Bool, perTimeline: [ComponentRange]) {
            self.descriptor = descriptor
            self.type = type
            self.isSemanticallyEmpty = isSemanticallyEmpty
            self.perTimeline = perTimeline
        }
    }

    /// The chunk's id.
    public var chunkId: ChunkId
    /// The escaped entity path (`rerun:entity_path`).
    public var entityPath: String
    /// Whether the chunk has no timelines (its data is static: valid at every time).
    public var isStatic: Bool
    /// The chunk's row count.
    public var numRows: Int
    /// The chunk's timelines, in the chunk's column order (empty for a static chunk).
    public var timelines: [TimelineRange]
    /// The chunk's component columns, in the chunk's column order.
    public var components: [Component]

    /// A summary with the given fields, taken as they are (a manifest read back builds one so).
    public init(
        chunkId: ChunkId, entityPath: String, isStatic: Bool, numRows: Int, timelines: [TimelineRange],
        components: [Component]
    ) {
        self.chunkId = chunkId
        self.entityPath = entityPath
        self.isStatic = isStatic
        self.numRows = numRows
        self.timelines = timelines
        self.components = components
    }

    /// The summary of `chunk` (as written with `droppingTimelines` left out: a chunk left without
    /// timelines is static).
    /// - Complexity: O(rows × (timelines + components)) for temporal chunks.
    public init(_ chunk: Chunk, droppingTimelines dropped: Set<String> = []) {
        let keptTimelines = (0..<chunk.timelineCount).filter { !dropped.contains(chunk.timelineName(at: $0)) }
        let timelines = keptTimelines.map { chunk.timeline(at: $0) }
        let isStatic = timelines.isEmpty
        var components: [Component] = []
        components.reserveCapacity(chunk.componentCount)
        for k in 0..<chunk.componentCount {
            let c = chunk.component(at: k)
            var perTimeline: [ComponentRange] = []
            if !isStatic {
                // One pass over the rows: the times of rows that hold the component, per timeline.
                var lo = [Int64](repeating: .max, count: timelines.count)
                var hi = [Int64](repeating: .min, count: timelines.count)
                var count = 0
                for row in 0..<chunk.numRows where !chunk.isNull(component: k, row: row) {
                    count += 1
                    for (i, t) in keptTimelines.enumerated() {
                        let v = chunk.time(timeline: t, row: row)
                        if v < lo[i] { lo[i] = v }
                        if v > hi[i] { hi[i] = v }
                    }
                }
                perTimeline = timelines.indices.map { i in
                    ComponentRange(range: count > 0 ? lo[i]...hi[i] : nil, rows: count)
                }
            }
            let empty: Bool
            switch c.column.type {
            case .list, .largeList, .listView, .largeListView, .map, .fixedSizeList:
                empty = c.column.children.first.map { $0.length == 0 } ?? true
            default:
                empty = c.column.length == 0
            }
            components.append(
                Component(
                    descriptor: Descriptor(archetype: c.archetype, component: c.component, componentType: c.componentType),
                    type: c.column.type, isSemanticallyEmpty: empty || chunk.numRows == 0, perTimeline: perTimeline))
        }
        self.init(
            chunkId: chunk.id, entityPath: chunk.entityPath, isStatic: isStatic, numRows: chunk.numRows,
            timelines: timelines.map { TimelineRange(name: $0.name, type: $0.column.type, range: $0.range) },
            components: components)
    }
}
