import Foundation
import IngestCore
import Testing

/// The one JSON writer: string escapes, number forms, key order, nesting and the report layout.
@Suite("JSON text rules")
struct JSONTextTests {
    @Test(
        "floats print like Python's repr",
        arguments: [
            (1e16, "1e+16"), (1234567890123456.0, "1234567890123456.0"), (0.0001, "0.0001"), (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"), (-2.5, "-2.5"), (100.0, "100.0"), (Double(Float(0.1)), "0.10000000149011612"),
            (1e300, "1e+300"), (Double.leastNonzeroMagnitude, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (123456789012345680.0, "1.2345678901234568e+17"), (0.5, "0.5"), (-0.0, "-0.0"), (1e22, "1e+22"),
            (12345.678, "12345.678"),
        ] as [(Double, String)])
    func floats(_ value: Double, _ text: String) {
        #expect(JSONText.pythonRepr(value) == text)
    }

    @Test("non-finite floats are strings")
    func nonFinite() {
        var s = ""
        JSONText.appendDouble(.nan, to: &s)
        JSONText.appendDouble(.infinity, to: &s)
        JSONText.appendDouble(-.infinity, to: &s)
        #expect(s == "\"nan\"\"inf\"\"-inf\"")
    }

    @Test("strings are escaped as JSON, other text stays UTF-8")
    func strings() {
        #expect(JSONText.quoted("a\"b\\c\n\u{01}é") == "\"a\\\"b\\\\c\\n\\u0001é\"")
    }

    @Test("every control character is escaped; quotes and backslashes too; other text stays UTF-8")
    func controlCharacters() throws {
        let short: [UInt32: String] = [0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"]
        for v in UInt32(0)..<0x20 {
            let s = String(Character(Unicode.Scalar(v)!))
            let hex = String(v, radix: 16)
            let expected = short[v] ?? "\\u00" + (hex.count == 1 ? "0" + hex : hex)
            #expect(JSONText.quoted(s) == "\"" + expected + "\"", "U+\(hex)")
        }
        #expect(JSONText.quoted("\u{7F}") == "\"\u{7F}\"")
        #expect(JSONText.quoted("q\"b\\") == #""q\"b\\""#)
        // Non-ASCII is written as UTF-8: 2-, 3- and 4-byte sequences, combining marks, a lone CR LF pair.
        let text = "é✓😀e\u{301}\r\n"
        #expect(JSONText.quoted(text) == "\"é✓😀e\u{301}\\r\\n\"")
        // Whatever the text, a JSON parser reads back the same string.
        let all = String(String.UnicodeScalarView((0..<0x300).compactMap(Unicode.Scalar.init) + ["😀", "\u{FFFD}"]))
        let parsed = try JSONSerialization.jsonObject(with: Data(JSONText.quoted(all).utf8), options: .fragmentsAllowed)
        #expect(parsed as? String == all)
    }

    @Test("the all-ASCII form escapes as Python's json.dumps: UTF-16 units, surrogate pairs")
    func asciiEscaped() {
        #expect(JSONText.asciiEscaped(#"["a é✓ 😀", 1.5]"#) == #"["a \u00e9\u2713 \ud83d\ude00", 1.5]"#)
        #expect(JSONText.asciiEscaped(#"{"k": [1, null]}"#) == #"{"k": [1, null]}"#)
        let o: JSONObject = ["s": "é", "v": .fragment(#"["ü"]"#)]
        #expect(o.serialized(asciiOnly: true) == #"{"s": "\u00e9", "v": ["\u00fc"]}"#)
        #expect(o.serialized() == #"{"s": "é", "v": ["ü"]}"#)
    }

    @Test("doubles: Python repr when finite, strings when not; integers exact at both ends")
    func numbers() {
        let a: JSONValue = [
            .double(0.1), .double(-0.0), .double(1e16), .double(.nan), .double(.infinity), .double(-.infinity),
            .int(.min), .int(.max), .uint(.max), .int(0),
        ]
        #expect(
            a.serialized()
                == #"[0.1, -0.0, 1e+16, "nan", "inf", "-inf", -9223372036854775808, 9223372036854775807, 18446744073709551615, 0]"#
        )
    }

    @Test(
        "fixed-point numbers: rounded, padded to the digits, 0 when not finite",
        arguments: [
            (0.0, 1, "0.0"), (2.5, 3, "2.500"), (1234.56789, 1, "1234.6"), (0.0005, 3, "0.001"), (-1.25, 1, "-1.3"),
            (99.99, 1, "100.0"), (7, 0, "7.0"), (Double.nan, 3, "0"), (Double.infinity, 1, "0"),
        ] as [(Double, Int, String)])
    func fixed(_ x: Double, _ digits: Int, _ text: String) {
        #expect(JSONText.fixed(x, digits: digits) == text)
        #expect(JSONValue.fixed(x, digits: digits).serialized() == text)
    }

    @Test("fixed-point seconds from whole milliseconds are the exact decimal (integer formatting)")
    func fixedMilliseconds() {
        func exact(_ ms: UInt64) -> String {
            let frac = String(ms % 1000)
            return "\(ms / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
        }
        var ms: [UInt64] = [0, 1, 9, 10, 99, 100, 999, 1000, 1001, 12_345, 999_999, 1 << 40, 18_446_744_073_709]
        var state: UInt64 = 42
        for _ in 0..<20_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            ms.append((state >> 20) % 18_446_744_073_709)
            ms.append((state >> 40) % 100_000)
        }
        for m in ms { #expect(JSONText.fixed(Double(m) / 1000, digits: 3) == exact(m), "\(m) ms") }
    }
}

@Suite("JSON writer")
struct JSONWriterTests {
    @Test("keys keep insertion order; replacing keeps the place")
    func order() {
        var o: JSONObject = ["z": 1, "a": 2]
        o["m"] = .string("x")
        o["z"] = .bool(true)
        #expect(o.serialized() == #"{"z": true, "a": 2, "m": "x"}"#)
        o["a"] = nil
        #expect(o.keys == ["z", "m"])
    }

    @Test("string escaping")
    func escaping() {
        let o: JSONObject = ["s": .string("a\"b\\c\n\t\u{01}\u{1F}é/ü")]
        #expect(o.serialized() == #"{"s": "a\"b\\c\n\t\u0001\u001fé/ü"}"#)
        // Round trip through a JSON parser.
        let parsed = try? JSONSerialization.jsonObject(with: Data(o.serialized().utf8)) as? [String: String]
        #expect(parsed?["s"] == "a\"b\\c\n\t\u{01}\u{1F}é/ü")
    }

    @Test("64-bit integers are exact")
    func integers() {
        let o: JSONObject = ["u": .uint(UInt64.max), "i": .int(Int64.min), "n": nil, "arr": [1, "x", false]]
        #expect(
            o.serialized()
                == #"{"u": 18446744073709551615, "i": -9223372036854775808, "n": null, "arr": [1, "x", false]}"#)
    }

    @Test("merge sets new keys last, keeps existing places; append keeps duplicates")
    func mergeAndAppend() {
        var o: JSONObject = ["a": 1, "b": 2]
        o.merge(["c": 3, "a": 4])
        #expect(o.serialized() == #"{"a": 4, "b": 2, "c": 3}"#)
        var d = JSONObject()
        d.append("x", 1)
        d.append("x", 2)
        #expect(d.serialized() == #"{"x": 1, "x": 2}"#)
        #expect(d["x"] == 1)
    }

    @Test("nesting: objects in arrays in objects, empty containers, fragments verbatim")
    func nesting() {
        let o: JSONObject = [
            "a": [[], [1, [2, .object(["k": "v"])]], .object([:])],
            "o": .object(["inner": .object(["deep": [true, nil]])]),
            "f": .fragment("[1.5, {\"x\": null}]"),
        ]
        #expect(
            o.serialized()
                == #"{"a": [[], [1, [2, {"k": "v"}]], {}], "o": {"inner": {"deep": [true, null]}}, "f": [1.5, {"x": null}]}"#
        )
    }

    @Test("document layout: top-level members and their arrays' elements one per line, deeper values inline")
    func document() {
        let o: JSONObject = [
            "n": 1, "empty": [], "list": [.object(["a": 1, "b": [1, 2]]), "x"], "obj": .object(["k": [3]]),
        ]
        #expect(
            o.serialized(.document) == """
                {
                  "n": 1,
                  "empty": [],
                  "list": [
                    {"a": 1, "b": [1, 2]},
                    "x"
                  ],
                  "obj": {"k": [3]}
                }
                """)
        #expect(JSONObject().serialized(.document) == "{}")
        #expect(JSONValue.array([1]).serialized(.document) == "[1]")
    }
}
