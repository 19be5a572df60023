import ArrowIPC

/// One component (data) column of a chunk: a `List<T>` per row, read in the chunk's RowId order.
///
/// A null cell means "not logged in this row"; an empty list means "logged with zero instances".
///
/// A self-contained value (it holds its column): ``Chunk/components`` builds one per component on
/// each access, from the chunk's shared column layout.
public struct ComponentColumn: Sendable {
    /// The column name (`Points3D:positions`, or a plain name for AnyValues): the record batch's, or,
    /// for a chunk migrated from an older SDK's schema, today's (``SchemaMigration``; 0.23's
    /// `Position3D` is `Points3D:positions`).
    public let name: String
    /// `rerun:archetype` (`rerun.archetypes.Points3D`; 0.23: `rerun.archetype`), absent for AnyValues.
    public let archetype: String?
    /// `rerun:component` (`Points3D:positions`), the column name when missing (as in 0.23's raw columns).
    public let component: String
    /// `rerun:component_type` (`rerun.components.Position3D`; 0.23 raw: `rerun.component`, which held
    /// the type then), absent for custom data.
    public let componentType: String?
    /// The Arrow type as pyarrow prints it (`list<item: fixed_size_list<item: float not null>[3]>`).
    public let arrowType: String
    /// The raw list column (physical row order).
    public let column: ArrowArray
    /// The column's index in the chunk's record batch (``Chunk/recordBatch``): which raw column a
    /// migrated component is (``SchemaMigration`` renames and drops columns, it never moves one).
    public let recordBatchColumn: Int
    @usableFromInline let rowOrder: [Int32]?

    init(
        name: String, archetype: String?, component: String, componentType: String?, arrowType: String,
        column: consuming ArrowArray, recordBatchColumn: Int, rowOrder: [Int32]?
    ) {
        self.recordBatchColumn = recordBatchColumn
        // `consuming`: the caller's copy of the column moves in (a copy retains several objects).
        self.name = name
        self.archetype = archetype
        self.component = component
        self.componentType = componentType
        self.arrowType = arrowType
        self.column = column
        self.rowOrder = rowOrder
    }

    /// The physical row of row `row` (RowId order).
    @inlinable
    public func physicalRow(_ row: Int) -> Int { rowOrder.map { Int($0[row]) } ?? row }

    /// Whether the cell of `row` is null (component not logged in that row).
    @inlinable
    public func isNull(_ row: Int) -> Bool { column.isNull(physicalRow(row)) }

    /// Number of instances in the cell of `row` (0 for a null cell).
    @inlinable
    public func instanceCount(_ row: Int) -> Int {
        let p = physicalRow(row)
        return column.isNull(p) ? 0 : column.valueRange(at: p).count
    }

    /// The item array (the list's child) and the range of items belonging to `row`.
    public func instances(_ row: Int) -> (items: ArrowArray, range: Range<Int>) {
        (column.children[0], column.valueRange(at: physicalRow(row)))
    }

    /// The cell of `row` as JSON text, as pyarrow's `to_pylist()` renders it (see
    /// ``/ArrowIPC/ArrowArray/jsonValue(at:options:)``); `null` for a null cell.
    public func jsonValue(at row: Int, options: JSONRenderOptions = .python) -> String {
        column.jsonValue(at: physicalRow(row), options: options)
    }
}
