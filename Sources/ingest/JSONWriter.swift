import ArrowIPC

/// A JSON value for the CLI's machine-readable output: objects keep their keys in insertion
/// order, integers are exact (`Int64`/`UInt64`, never through `Double`), strings are escaped per
/// RFC 8259. No Foundation.
///
/// ```swift
/// var line: JSONObject = ["offset": .uint(12), "kind": "SetStoreInfo"]
/// line["len"] = .uint(87)
/// print(line.serialized())   // {"offset": 12, "kind": "SetStoreInfo", "len": 87}
/// ```
enum JSONValue: Hashable, Sendable, ExpressibleByStringLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral, ExpressibleByNilLiteral
{
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    init(stringLiteral value: String) { self = .string(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(integerLiteral value: Int64) { self = .int(value) }
    init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    init(nilLiteral: ()) { self = .null }

    /// An optional string as a string or `null`.
    static func string(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }

    /// Appends the serialized value to `out`.
    func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .uint(let u): out += String(u)
        case .double(let d): out += d.isFinite ? "\(d)" : "null"
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += ", " }
                v.write(to: &out)
            }
            out += "]"
        case .object(let o): o.write(to: &out)
        }
    }

    /// Writes `s` as a JSON string: `"` and `\` escaped, control characters as `\n`, `\t`, … or
    /// `\u00XX`; everything else (including non-ASCII) as UTF-8.
    static func writeString(_ s: String, to out: inout String) {
        JSONString.append(s, to: &out)
    }
}

/// A JSON object whose keys keep the order in which they were first set.
struct JSONObject: Hashable, Sendable, ExpressibleByDictionaryLiteral {
    private(set) var fields: [(key: String, value: JSONValue)] = []

    init() {}

    init(dictionaryLiteral elements: (String, JSONValue)...) {
        for (k, v) in elements { self[k] = v }
    }

    /// Gets a value, or sets it: a new key goes last, an existing key keeps its place.
    subscript(key: String) -> JSONValue? {
        get { fields.first { $0.key == key }?.value }
        set {
            if let i = fields.firstIndex(where: { $0.key == key }) {
                if let newValue { fields[i].value = newValue } else { fields.remove(at: i) }
            } else if let newValue {
                fields.append((key, newValue))
            }
        }
    }

    var keys: [String] { fields.map(\.key) }

    /// Sets every field of `other` (new keys go last, in `other`'s order).
    mutating func merge(_ other: JSONObject) {
        for (k, v) in other.fields { self[k] = v }
    }

    /// The object on one line: `{"a": 1, "b": "x"}`.
    func serialized() -> String {
        var out = ""
        write(to: &out)
        return out
    }

    func write(to out: inout String) {
        out += "{"
        for (i, f) in fields.enumerated() {
            if i > 0 { out += ", " }
            JSONValue.writeString(f.key, to: &out)
            out += ": "
            f.value.write(to: &out)
        }
        out += "}"
    }

    static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.fields.count == b.fields.count
            && zip(a.fields, b.fields).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    func hash(into hasher: inout Hasher) {
        for f in fields {
            hasher.combine(f.key)
            hasher.combine(f.value)
        }
    }
}
