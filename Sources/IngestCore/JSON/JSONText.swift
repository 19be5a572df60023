/// The text rules of every JSON document StoreIngest writes, decided here once: string escapes, integer,
/// float and fixed-point number forms, and the all-ASCII form of `ingest query`.
///
/// ``JSONValue`` serializes through these; the Arrow cell renderer (which writes straight into a
/// `String` for speed) calls them directly.
///
/// - Strings: `"` and `\` escaped, `\n` `\r` `\t` `\b` `\f`, other control characters as `\u00XX`
///   (lower-case hex), everything else (non-ASCII included) as UTF-8, like Python's
///   `json.dumps(ensure_ascii=False)`.
/// - Doubles: Python `repr(float)` (shortest round-trip digits, exponent form below 1e-4 and from
///   1e16 on); NaN and the infinities as the strings `"nan"`, `"inf"`, `"-inf"`, as the query
///   contract renders pyarrow's `to_pylist()` values.
package enum JSONText {
    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `s` to `out` as a quoted JSON string.
    package static func appendQuoted(_ s: String, to out: inout String) {
        // Most strings (ids, paths, names) need no escape: append them whole.
        var clean = true
        for b in s.utf8 where b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
            clean = false
            break
        }
        out += "\""
        if clean {
            out += s
        } else {
            appendEscaped(s, to: &out)
        }
        out += "\""
    }

    /// `s` as a quoted JSON string (see ``appendQuoted(_:to:)``).
    package static func quoted(_ s: String) -> String {
        var out = ""
        appendQuoted(s, to: &out)
        return out
    }

    private static func appendEscaped(_ s: String, to out: inout String) {
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if u.value < 0x20 {
                    out += "\\u00"
                    out.unicodeScalars.append(Unicode.Scalar(hexDigits[Int(u.value >> 4)]))
                    out.unicodeScalars.append(Unicode.Scalar(hexDigits[Int(u.value & 15)]))
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
    }

    /// Appends a signed integer (exact, never through `Double`).
    package static func append(_ v: Int64, to out: inout String) { out += String(v) }

    /// Appends an unsigned integer (exact, never through `Double`).
    package static func append(_ v: UInt64, to out: inout String) { out += String(v) }

    /// Appends a double: Python `repr(float)`, or `"nan"`, `"inf"`, `"-inf"` (quoted) when not finite.
    package static func appendDouble(_ d: Double, to out: inout String) {
        if d.isNaN {
            out += "\"nan\""
        } else if d.isInfinite {
            out += d < 0 ? "\"-inf\"" : "\"inf\""
        } else {
            out += pythonRepr(d)
        }
    }

    /// Python `repr(float)` of a finite `d`: shortest round-trip digits, exponent form when the decimal
    /// exponent is below -4 or above 16 (`1e-05`, `1e+16`), `.0` on integral values.
    package static func pythonRepr(_ d: Double) -> String {
        if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
        // Split Swift's shortest representation into digits and decimal exponent.
        let text = Swift.abs(d).description
        var mantissa = Substring(text)
        var exp = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exp = Int(text[text.index(after: e)...]) ?? 0
        }
        var digits = ""
        var pointPos = mantissa.count
        if let dot = mantissa.firstIndex(of: ".") {
            pointPos = mantissa.distance(from: mantissa.startIndex, to: dot)
            digits = String(mantissa[..<dot]) + String(mantissa[mantissa.index(after: dot)...])
        } else {
            digits = String(mantissa)
        }
        var decpt = pointPos + exp  // value = 0.digits × 10^decpt
        while digits.hasPrefix("0") && digits.count > 1 {
            digits.removeFirst()
            decpt -= 1
        }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        let sign = d < 0 ? "-" : ""
        if decpt > -4 && decpt <= 16 {
            if decpt <= 0 { return sign + "0." + String(repeating: "0", count: -decpt) + digits }
            if digits.count <= decpt {
                return sign + digits + String(repeating: "0", count: decpt - digits.count) + ".0"
            }
            let idx = digits.index(digits.startIndex, offsetBy: decpt)
            return sign + digits[..<idx] + "." + digits[idx...]
        }
        let e = decpt - 1
        var s = sign + String(digits.first!)
        if digits.count > 1 { s += "." + digits.dropFirst() }
        s += e < 0 ? "e-" : "e+"
        let ae = Swift.abs(e)
        s += ae < 10 ? "0" + String(ae) : String(ae)
        return s
    }

    /// `x` rounded to `digits` decimals (half away from zero) and written with at least that many:
    /// `fixed(2.5, digits: 3)` is `2.500`; `0` when `x` is not finite. Rates and durations in reports.
    ///
    /// Swift's shortest representation of the rounded value, padded with zeros: for `|x| < 1e16`
    /// and a rounded value `k / 10^digits` with `k < 2^53`, that is exactly the decimal `k / 10^digits`.
    package static func fixed(_ x: Double, digits: Int) -> String {
        guard x.isFinite else { return "0" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let v = (x * scale).rounded() / scale
        var s = String(v)
        if let dot = s.firstIndex(of: ".") {
            let decimals = s.distance(from: dot, to: s.endIndex) - 1
            if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
        }
        return s
    }

    /// JSON text with every non-ASCII character written as `\uXXXX` (UTF-16, surrogate pairs above
    /// U+FFFF), as Python's `json.dumps` does by default. Valid for any JSON text: outside strings
    /// JSON is ASCII already, and inside strings the escape means the same character.
    package static func asciiEscaped(_ json: String) -> String {
        guard json.utf8.contains(where: { $0 >= 0x80 }) else { return json }
        var out: [UInt8] = []
        out.reserveCapacity(json.utf8.count + 16)
        for scalar in json.unicodeScalars {
            if scalar.value < 0x80 {
                out.append(UInt8(scalar.value))
                continue
            }
            for unit in String(scalar).utf16 {
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u")])
                for shift in stride(from: 12, through: 0, by: -4) {
                    out.append(hexDigits[Int((unit >> UInt16(shift)) & 0xF)])
                }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
