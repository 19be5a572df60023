/// A JSON value as StoreIngest writes it: objects keep their keys in insertion order, integers are
/// exact (`Int64`/`UInt64`, never through `Double`), and every text rule (escapes, number forms) is
/// ``JSONText``'s.
///
/// ```swift
/// var line: JSONObject = ["offset": .uint(12), "kind": "SetStoreInfo"]
/// line["len"] = .uint(87)
/// print(line.serialized())   // {"offset": 12, "kind": "SetStoreInfo", "len": 87}
/// ```
///
/// Serialized as Python's `json.dumps` writes one line (`", "` and `": "` separators), or in the
/// ``JSONLayout/document`` layout of the replay reports.
package enum JSONValue: Hashable, Sendable, ExpressibleByStringLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral, ExpressibleByNilLiteral
{
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    /// Python `repr(float)`; NaN and the infinities as the strings `"nan"`, `"inf"`, `"-inf"`.
    case double(Double)
    /// A number rounded to `digits` decimals and written with at least that many (``JSONText/fixed(_:digits:)``).
    case fixed(Double, digits: Int)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
    /// JSON text serialized elsewhere by these same rules (an Arrow cell's rendering), written as it is.
    case fragment(String)

    package init(stringLiteral value: String) { self = .string(value) }
    package init(booleanLiteral value: Bool) { self = .bool(value) }
    package init(integerLiteral value: Int64) { self = .int(value) }
    package init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    package init(nilLiteral: ()) { self = .null }

    /// An optional string as a string or `null`.
    package static func string(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }

    /// Appends the value on one line to `out`.
    package func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): JSONText.append(i, to: &out)
        case .uint(let u): JSONText.append(u, to: &out)
        case .double(let d): JSONText.appendDouble(d, to: &out)
        case .fixed(let x, let digits): out += JSONText.fixed(x, digits: digits)
        case .string(let s): JSONText.appendQuoted(s, to: &out)
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += ", " }
                v.write(to: &out)
            }
            out += "]"
        case .object(let o): o.write(to: &out)
        case .fragment(let text): out += text
        }
    }

    /// The value as JSON text.
    ///
    /// - Parameters:
    ///   - layout: one line (default) or the report ``JSONLayout/document`` layout.
    ///   - asciiOnly: write every non-ASCII character as `\uXXXX` (``JSONText/asciiEscaped(_:)``).
    package func serialized(_ layout: JSONLayout = .line, asciiOnly: Bool = false) -> String {
        var out = ""
        switch (layout, self) {
        case (.document, .object(let o)) where !o.fields.isEmpty:
            o.writeDocument(to: &out)
        default:
            write(to: &out)
        }
        return asciiOnly ? JSONText.asciiEscaped(out) : out
    }
}

/// How a JSON document is laid out.
package enum JSONLayout: Sendable {
    /// Everything on one line.
    case line
    /// The layout of the replay reports: each member of the top-level object on its own line
    /// (indented two spaces), the elements of a member's non-empty array each on its own line
    /// (indented four), everything deeper on one line.
    case document
}

/// A JSON object whose keys keep the order in which they were first set.
package struct JSONObject: Hashable, Sendable, ExpressibleByDictionaryLiteral {
    /// The members in order.
    package private(set) var fields: [(key: String, value: JSONValue)] = []

    package init() {}

    package init(dictionaryLiteral elements: (String, JSONValue)...) {
        for (k, v) in elements { self[k] = v }
    }

    /// Gets a value (the first member with `key`), or sets it: a new key goes last, an existing key
    /// keeps its place; setting `nil` removes the member.
    package subscript(key: String) -> JSONValue? {
        get { fields.first { $0.key == key }?.value }
        set {
            if let i = fields.firstIndex(where: { $0.key == key }) {
                if let newValue { fields[i].value = newValue } else { fields.remove(at: i) }
            } else if let newValue {
                fields.append((key, newValue))
            }
        }
    }

    /// Adds a member last even when `key` is already there: for objects that mirror a source's
    /// members one for one (a record batch's columns, whose names are not checked to be distinct).
    package mutating func append(_ key: String, _ value: JSONValue) {
        fields.append((key, value))
    }

    /// The keys in order.
    package var keys: [String] { fields.map(\.key) }

    /// Sets every field of `other` (new keys go last, in `other`'s order).
    package mutating func merge(_ other: JSONObject) {
        for (k, v) in other.fields { self[k] = v }
    }

    /// The object as JSON text (see ``JSONValue/serialized(_:asciiOnly:)``).
    package func serialized(_ layout: JSONLayout = .line, asciiOnly: Bool = false) -> String {
        JSONValue.object(self).serialized(layout, asciiOnly: asciiOnly)
    }

    /// Appends the object on one line: `{"a": 1, "b": "x"}`.
    package func write(to out: inout String) {
        out += "{"
        for (i, f) in fields.enumerated() {
            if i > 0 { out += ", " }
            JSONText.appendQuoted(f.key, to: &out)
            out += ": "
            f.value.write(to: &out)
        }
        out += "}"
    }

    /// Appends the object in the ``JSONLayout/document`` layout.
    func writeDocument(to out: inout String) {
        out += "{"
        for (i, f) in fields.enumerated() {
            out += i == 0 ? "\n  " : ",\n  "
            JSONText.appendQuoted(f.key, to: &out)
            out += ": "
            if case .array(let elements) = f.value, !elements.isEmpty {
                out += "["
                for (k, e) in elements.enumerated() {
                    out += k == 0 ? "\n    " : ",\n    "
                    e.write(to: &out)
                }
                out += "\n  ]"
            } else {
                f.value.write(to: &out)
            }
        }
        out += "\n}"
    }

    package static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.fields.count == b.fields.count
            && zip(a.fields, b.fields).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    package func hash(into hasher: inout Hasher) {
        for f in fields {
            hasher.combine(f.key)
            hasher.combine(f.value)
        }
    }
}

extension StoreId {
    /// `"kind"`, `"application_id"`, `"recording_id"`: how every JSON output names a store (the key
    /// names of `EXPECTED.json`), as an object or as the first fields of a larger one.
    package var jsonFields: JSONObject {
        [
            "kind": .string(kind.description), "application_id": .string(applicationId),
            "recording_id": .string(recordingId),
        ]
    }
}
