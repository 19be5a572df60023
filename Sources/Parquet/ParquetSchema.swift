/// Parquet's physical types: how a leaf column's values are stored.
public enum ParquetPhysicalType: Int32, Hashable, Sendable {
    case boolean = 0
    case int32 = 1
    case int64 = 2
    case float = 4
    case double = 5
    case byteArray = 6
    case fixedLenByteArray = 7
}

/// How often a node occurs in its parent: exactly once, at most once (nullable), any number of times.
public enum ParquetRepetition: Int32, Hashable, Sendable {
    case required = 0
    case optional = 1
    case repeated = 2
}

/// Time units of the time and timestamp logical types.
public enum ParquetTimeUnit: Hashable, Sendable {
    case milliseconds, microseconds, nanoseconds
}

/// Parquet's logical types: how readers interpret a physical type (or a group).
public enum ParquetLogicalType: Hashable, Sendable {
    case string
    case map
    case list
    case decimal(scale: Int32, precision: Int32)
    case date
    case time(adjustedToUTC: Bool, unit: ParquetTimeUnit)
    case timestamp(adjustedToUTC: Bool, unit: ParquetTimeUnit)
    case integer(bitWidth: Int8, signed: Bool)
    /// Every value is null (Arrow's null type).
    case unknown
    case json
    case uuid
    case float16
}

/// One node of a Parquet schema: a leaf column or a group of nodes.
public struct ParquetSchemaNode: Hashable, Sendable {
    /// A leaf's storage, or a group's children.
    public enum Kind: Hashable, Sendable {
        /// A column of values; `typeLength` is the byte width of a fixed-length byte array.
        case leaf(ParquetPhysicalType, typeLength: Int32?)
        case group([ParquetSchemaNode])
    }

    public var name: String
    public var repetition: ParquetRepetition
    public var kind: Kind
    public var logicalType: ParquetLogicalType?

    public init(name: String, repetition: ParquetRepetition, kind: Kind, logicalType: ParquetLogicalType? = nil) {
        self.name = name
        self.repetition = repetition
        self.kind = kind
        self.logicalType = logicalType
    }

    /// A leaf column.
    public static func leaf(
        _ name: String, _ type: ParquetPhysicalType, _ repetition: ParquetRepetition = .optional,
        logical: ParquetLogicalType? = nil, typeLength: Int32? = nil
    ) -> ParquetSchemaNode {
        ParquetSchemaNode(name: name, repetition: repetition, kind: .leaf(type, typeLength: typeLength), logicalType: logical)
    }

    /// A group of nodes.
    public static func group(
        _ name: String, _ repetition: ParquetRepetition = .optional, logical: ParquetLogicalType? = nil,
        _ children: [ParquetSchemaNode]
    ) -> ParquetSchemaNode {
        ParquetSchemaNode(name: name, repetition: repetition, kind: .group(children), logicalType: logical)
    }

    /// The three-level list every current reader expects: `<repetition> group name (LIST) { repeated
    /// group list { element } }`, `element` named `element`.
    public static func list(_ name: String, _ repetition: ParquetRepetition = .optional, element: ParquetSchemaNode)
        -> ParquetSchemaNode
    {
        var element = element
        element.name = "element"
        return .group(name, repetition, logical: .list, [.group("list", .repeated, [element])])
    }
}

/// A leaf column as the writer sees it: its path from the root and its maximum levels.
public struct ParquetColumnDescriptor: Hashable, Sendable {
    /// Names from the top-level field to the leaf (`["positions", "list", "element", "list", "element"]`).
    public var path: [String]
    public var physicalType: ParquetPhysicalType
    public var typeLength: Int32?
    public var logicalType: ParquetLogicalType?
    /// The number of optional or repeated nodes on the path: the definition level of a present value.
    public var maxDefinitionLevel: Int
    /// The number of repeated nodes on the path.
    public var maxRepetitionLevel: Int
}

/// A file's schema: its top-level fields; the leaves in depth-first order are the file's columns.
public struct ParquetSchema: Hashable, Sendable {
    public var fields: [ParquetSchemaNode]

    public init(fields: [ParquetSchemaNode]) {
        self.fields = fields
    }

    /// The leaf columns in depth-first order, as the column chunks of every row group are ordered.
    public var columns: [ParquetColumnDescriptor] {
        var result: [ParquetColumnDescriptor] = []
        func visit(_ node: ParquetSchemaNode, path: [String], def: Int, rep: Int) {
            let def = def + (node.repetition == .required ? 0 : 1)
            let rep = rep + (node.repetition == .repeated ? 1 : 0)
            let path = path + [node.name]
            switch node.kind {
            case .leaf(let type, let length):
                result.append(
                    ParquetColumnDescriptor(
                        path: path, physicalType: type, typeLength: length, logicalType: node.logicalType,
                        maxDefinitionLevel: def, maxRepetitionLevel: rep))
            case .group(let children):
                for child in children { visit(child, path: path, def: def, rep: rep) }
            }
        }
        for field in fields { visit(field, path: [], def: 0, rep: 0) }
        return result
    }
}
