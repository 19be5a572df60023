import ArrowIPC
import Chunks

/// A store's dataframe: index columns (one per timeline of the store, sorted by name), then one column
/// per `/entity:Component` (sorted by entity path, then component name), every column ``rowCount`` long.
///
/// The columns are Arrow arrays built in memory (copies of the chunks' cells), so a dataframe outlives
/// the store it was read from.
public struct Dataframe: Sendable {
    /// The columns, in order.
    public var columns: [DataframeColumn]
    /// The number of rows.
    public var rowCount: Int

    /// A dataframe of `columns`, each `rowCount` long.
    public init(columns: [DataframeColumn], rowCount: Int) {
        self.columns = columns
        self.rowCount = rowCount
    }

    /// The columns' fields, in order, as an Arrow schema (no schema metadata).
    public var schema: ArrowSchema { ArrowSchema(fields: columns.map(\.field), metadata: []) }

    /// The column named `name`.
    public func column(named name: String) -> DataframeColumn? { columns.first { $0.name == name } }
}

/// One column of a ``Dataframe``.
public struct DataframeColumn: Sendable {
    /// What a column holds.
    public enum Kind: Hashable, Sendable {
        /// A timeline's values (`int64`, `timestamp[ns]` or `duration[ns]`).
        case index(timeline: String, kind: TimelineKind)
        /// One component of one entity (a list per row, null where not logged).
        case component(entityPath: String, component: String)
    }

    /// The column name: the timeline's, or `/entity:Component` (`/world/points:Points3D:positions`).
    public var name: String { field.name }
    /// The Arrow field: name, type (as the chunks store it), always nullable, and Rerun's field metadata
    /// (`rerun:kind`, `rerun:entity_path`, `rerun:component`, …).
    public var field: ArrowField
    /// What the column holds.
    public var kind: Kind
    /// The values, one slot per row.
    public var array: ArrowArray

    /// A column.
    public init(field: ArrowField, kind: Kind, array: ArrowArray) {
        self.field = field
        self.kind = kind
        self.array = array
    }
}

/// Why a dataframe could not be built.
public struct DataframeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The reason, with the column it concerns.
    public var message: String

    /// An error saying `message`.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}
