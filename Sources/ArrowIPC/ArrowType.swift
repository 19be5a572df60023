/// Time units of Arrow temporal types.
public enum TimeUnit: Int16, Sendable, Hashable {
    case second = 0, millisecond = 1, microsecond = 2, nanosecond = 3

    /// `s`, `ms`, `us`, `ns` as pyarrow prints them.
    public var symbol: String {
        switch self {
        case .second: return "s"
        case .millisecond: return "ms"
        case .microsecond: return "us"
        case .nanosecond: return "ns"
        }
    }
}

/// Units of the Arrow `Interval` type.
public enum IntervalUnit: Int16, Sendable, Hashable {
    case yearMonth = 0, dayTime = 1, monthDayNano = 2
}

/// Dense or sparse union.
public enum UnionMode: Int16, Sendable, Hashable {
    case sparse = 0, dense = 1
}

/// An Arrow logical type, as read from `Schema.fbs`. Nested types carry their child fields.
public indirect enum ArrowType: Sendable, Hashable, CustomStringConvertible {
    case null
    case bool
    /// Integer of 8, 16, 32 or 64 bits.
    case int(bitWidth: Int, signed: Bool)
    case float16, float32, float64
    case decimal(precision: Int, scale: Int, bitWidth: Int)
    case date32, date64
    case time32(TimeUnit), time64(TimeUnit)
    case timestamp(TimeUnit, timezone: String?)
    case duration(TimeUnit)
    case interval(IntervalUnit)
    case binary, largeBinary, utf8, largeUtf8, binaryView, utf8View
    case fixedSizeBinary(Int)
    case list(ArrowField), largeList(ArrowField), listView(ArrowField), largeListView(ArrowField)
    case fixedSizeList(ArrowField, Int)
    case structure([ArrowField])
    /// `entries` is the struct field `entries: struct<key, value>`.
    case map(entries: ArrowField, keysSorted: Bool)
    case union(UnionMode, [ArrowField], typeIds: [Int32])
    /// A type this reader does not decode (e.g. run-end encoded): kept raw with its union tag.
    case unsupported(tag: UInt8, name: String)

    /// The type written exactly as pyarrow prints it, e.g. `list<item: fixed_size_list<item: float not null>[3]>`.
    public var description: String {
        switch self {
        case .null: return "null"
        case .bool: return "bool"
        case .int(let w, let s): return (s ? "int" : "uint") + String(w)
        case .float16: return "halffloat"
        case .float32: return "float"
        case .float64: return "double"
        case .decimal(let p, let s, let w): return "decimal\(w)(\(p), \(s))"
        case .date32: return "date32[day]"
        case .date64: return "date64[ms]"
        case .time32(let u): return "time32[\(u.symbol)]"
        case .time64(let u): return "time64[\(u.symbol)]"
        case .timestamp(let u, let tz):
            if let tz { return "timestamp[\(u.symbol), tz=\(tz)]" }
            return "timestamp[\(u.symbol)]"
        case .duration(let u): return "duration[\(u.symbol)]"
        case .interval(let u):
            switch u {
            case .yearMonth: return "month_interval"
            case .dayTime: return "day_time_interval"
            case .monthDayNano: return "month_day_nano_interval"
            }
        case .binary: return "binary"
        case .largeBinary: return "large_binary"
        case .utf8: return "string"
        case .largeUtf8: return "large_string"
        case .binaryView: return "binary_view"
        case .utf8View: return "string_view"
        case .fixedSizeBinary(let w): return "fixed_size_binary[\(w)]"
        case .list(let f): return "list<\(f.description)>"
        case .largeList(let f): return "large_list<\(f.description)>"
        case .listView(let f): return "list_view<\(f.description)>"
        case .largeListView(let f): return "large_list_view<\(f.description)>"
        case .fixedSizeList(let f, let n): return "fixed_size_list<\(f.description)>[\(n)]"
        case .structure(let fs): return "struct<" + fs.map(\.description).joined(separator: ", ") + ">"
        case .map(let entries, let sorted):
            var s = "map<"
            if case .structure(let kv) = entries.type, kv.count == 2 {
                s += kv[0].typeDescription + ", " + kv[1].typeDescription + (kv[1].nullable ? "" : " not null")
            } else {
                s += entries.typeDescription
            }
            return s + (sorted ? ", keys_sorted>" : ">")
        case .union(let mode, let fs, let ids):
            let parts = fs.enumerated().map { i, f in
                f.description + "=" + String(i < ids.count ? ids[i] : Int32(i))
            }
            return (mode == .dense ? "dense_union<" : "sparse_union<") + parts.joined(separator: ", ") + ">"
        case .unsupported(_, let name): return name
        }
    }

    /// Width in bytes of one value for fixed-width primitive types, nil otherwise.
    public var byteWidth: Int? {
        switch self {
        case .int(let w, _): return w / 8
        case .float16: return 2
        case .float32, .date32, .time32: return 4
        case .float64, .date64, .time64, .timestamp, .duration: return 8
        case .decimal(_, _, let w): return w / 8
        case .interval(let u):
            switch u {
            case .yearMonth: return 4
            case .dayTime: return 8
            case .monthDayNano: return 16
            }
        case .fixedSizeBinary(let w): return w
        default: return nil
        }
    }

    /// The child fields of a nested type (empty for flat types).
    public var children: [ArrowField] {
        switch self {
        case .list(let f), .largeList(let f), .listView(let f), .largeListView(let f), .fixedSizeList(let f, _):
            return [f]
        case .map(let f, _): return [f]
        case .structure(let fs), .union(_, let fs, _): return fs
        default: return []
        }
    }
}

/// `DictionaryEncoding` of a field: the field's type is the dictionary's value type.
public struct DictionaryEncoding: Sendable, Hashable {
    /// Dictionary id, matching `DictionaryBatch.id`.
    public var id: Int64
    /// The index type (always an integer type).
    public var indexType: ArrowType
    /// Whether the dictionary order is meaningful.
    public var isOrdered: Bool

    /// Creates an encoding.
    public init(id: Int64, indexType: ArrowType, isOrdered: Bool) {
        self.id = id
        self.indexType = indexType
        self.isOrdered = isOrdered
    }
}

/// One field of a schema or a nested type: name, type, nullability, metadata, dictionary encoding.
public struct ArrowField: Sendable, Hashable, CustomStringConvertible {
    /// The field name (`item` for list children).
    public var name: String
    /// The value type (for a dictionary-encoded field: the dictionary's value type).
    public var type: ArrowType
    /// Whether slots may be null.
    public var nullable: Bool
    /// `custom_metadata` pairs in schema order.
    public var metadata: [KeyValue]
    /// Present when the field is dictionary-encoded.
    public var dictionary: DictionaryEncoding?

    /// Creates a field.
    public init(
        name: String, type: ArrowType, nullable: Bool, metadata: [KeyValue] = [], dictionary: DictionaryEncoding? = nil
    ) {
        self.name = name
        self.type = type
        self.nullable = nullable
        self.metadata = metadata
        self.dictionary = dictionary
    }

    /// The value of metadata key `key`, if present.
    public func metadata(_ key: String) -> String? {
        metadata.first { $0.key == key }?.value
    }

    /// The field's type as pyarrow prints it, including dictionary encoding
    /// (`dictionary<values=string, indices=int32, ordered=0>`).
    public var typeDescription: String {
        if let d = dictionary {
            return "dictionary<values=\(type), indices=\(d.indexType), ordered=\(d.isOrdered ? 1 : 0)>"
        }
        return type.description
    }

    /// `name: type` plus ` not null` for non-nullable fields, the form pyarrow uses for nested fields.
    public var description: String {
        name + ": " + typeDescription + (nullable ? "" : " not null")
    }
}

/// A custom metadata entry.
public struct KeyValue: Sendable, Hashable {
    /// The metadata key.
    public var key: String
    /// The metadata value.
    public var value: String
    /// Creates an entry.
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// A decoded Arrow schema.
public struct ArrowSchema: Sendable, Hashable {
    /// Top-level fields, one per record batch column.
    public var fields: [ArrowField]
    /// Schema-level `custom_metadata` (Rerun's chunk metadata lives here).
    public var metadata: [KeyValue]

    /// Creates a schema.
    public init(fields: [ArrowField], metadata: [KeyValue]) {
        self.fields = fields
        self.metadata = metadata
    }

    /// The value of schema metadata key `key`, if present.
    public func metadata(_ key: String) -> String? {
        metadata.first { $0.key == key }?.value
    }
}
