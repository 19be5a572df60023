/// Time units of Arrow temporal types.
public enum TimeUnit: Int16, Sendable, Hashable {
    /// Seconds (`Schema.fbs` value 0).
    case second = 0
    /// Milliseconds (value 1).
    case millisecond = 1
    /// Microseconds (value 2).
    case microsecond = 2
    /// Nanoseconds (value 3): the unit of Rerun's `log_time` timeline.
    case nanosecond = 3

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
    /// A number of months: one `Int32` (value 0).
    case yearMonth = 0
    /// Days and milliseconds: two `Int32`s (value 1).
    case dayTime = 1
    /// Months, days and nanoseconds: `Int32`, `Int32`, `Int64` (value 2).
    case monthDayNano = 2
}

/// Dense or sparse union.
public enum UnionMode: Int16, Sendable, Hashable {
    /// Every child array has the union's length; the type-id buffer picks the child per slot
    /// (value 0).
    case sparse = 0
    /// Children are packed; an `Int32` offsets buffer gives each slot's index in its child
    /// (value 1).
    case dense = 1
}

/// An Arrow logical type, as read from `Schema.fbs`. Nested types carry their child fields.
public indirect enum ArrowType: Sendable, Hashable, CustomStringConvertible {
    /// Every value is null; the array has no buffers.
    case null
    /// Booleans, one bit per value.
    case bool
    /// Integer of 8, 16, 32 or 64 bits.
    case int(bitWidth: Int, signed: Bool)
    /// IEEE 754 half precision (pyarrow's `halffloat`).
    case float16
    /// IEEE 754 single precision (`float`).
    case float32
    /// IEEE 754 double precision (`double`).
    case float64
    /// A fixed-point decimal: `precision` digits, `scale` of them after the point, stored as a
    /// two's-complement integer of `bitWidth` bits (32, 64, 128 or 256).
    case decimal(precision: Int, scale: Int, bitWidth: Int)
    /// Days since the Unix epoch, `Int32`.
    case date32
    /// Milliseconds since the Unix epoch, `Int64`.
    case date64
    /// Time of day in seconds or milliseconds, `Int32`.
    case time32(TimeUnit)
    /// Time of day in microseconds or nanoseconds, `Int64`.
    case time64(TimeUnit)
    /// An instant as an `Int64` count of the unit since the Unix epoch; `timezone` is the schema's
    /// zone name or offset, `nil` when it has none (an empty one included).
    case timestamp(TimeUnit, timezone: String?)
    /// An elapsed time as an `Int64` count of the unit.
    case duration(TimeUnit)
    /// A calendar interval in the unit's layout (see ``IntervalUnit``).
    case interval(IntervalUnit)
    /// Variable-length bytes with `Int32` offsets.
    case binary
    /// Variable-length bytes with `Int64` offsets.
    case largeBinary
    /// UTF-8 text with `Int32` offsets (pyarrow's `string`).
    case utf8
    /// UTF-8 text with `Int64` offsets (`large_string`).
    case largeUtf8
    /// Variable-length bytes as 16-byte views: short values inline, longer ones in data buffers.
    case binaryView
    /// UTF-8 text as 16-byte views (`string_view`).
    case utf8View
    /// Byte strings of the given width each.
    case fixedSizeBinary(Int)
    /// Lists of the child field with `Int32` offsets.
    case list(ArrowField)
    /// Lists of the child field with `Int64` offsets.
    case largeList(ArrowField)
    /// Lists of the child field as `Int32` offsets and sizes (views may overlap or be out of order).
    case listView(ArrowField)
    /// Lists of the child field as `Int64` offsets and sizes.
    case largeListView(ArrowField)
    /// Lists of exactly the given number of child values each (Rerun's `Vec3D` is
    /// `fixed_size_list<item: float not null>[3]`).
    case fixedSizeList(ArrowField, Int)
    /// A struct: one child array per field, all of the struct's length.
    case structure([ArrowField])
    /// `entries` is the struct field `entries: struct<key, value>`.
    case map(entries: ArrowField, keysSorted: Bool)
    /// A union of the child fields; `typeIds[i]` is the type id that selects child `i` (distinct,
    /// in 0..<128; the child's index when the schema gives none).
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
