import Testing

@testable import ArrowIPC

/// Python-compatible text of numbers, decimals and temporal values (expected strings from CPython 3).
@Suite("JSON rendering like Python")
struct RenderingTests {
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
        JSONText.appendFloat(.nan, to: &s)
        JSONText.appendFloat(.infinity, to: &s)
        JSONText.appendFloat(-.infinity, to: &s)
        #expect(s == "\"nan\"\"inf\"\"-inf\"")
    }

    @Test(
        "decimals print like Python's str(Decimal)",
        arguments: [
            (Int64(1), 10, "1E-10"), (1, 7, "1E-7"), (12345, -2, "1.2345E+6"), (100, 2, "1.00"),
            (1_234_567_891, 3, "1234567.891"), (-1, 3, "-0.001"), (0, 2, "0.00"), (5, 0, "5"),
        ] as [(Int64, Int, String)])
    func decimals(_ unscaled: Int64, _ scale: Int, _ text: String) {
        var bytes = [UInt8](repeating: unscaled < 0 ? 0xFF : 0, count: 16)
        for k in 0..<8 { bytes[k] = UInt8(truncatingIfNeeded: unscaled >> (8 * Int64(k))) }
        let s = bytes.withUnsafeBytes { JSONText.decimalString($0, scale: scale) }
        #expect(s == text)
    }

    @Test("dates, times, timestamps and durations print like Python's str()")
    func temporal() {
        #expect(JSONText.dateString(days: 19724) == "2024-01-02")
        #expect(JSONText.dateString(days: -1) == "1969-12-31")
        #expect(JSONText.timeOfDay(3_723_004_000_000) == "01:02:03.004000")
        #expect(
            JSONText.timestampString(1_700_000_000_000, .millisecond, utcOffset: true) == "2023-11-14 22:13:20+00:00")
        #expect(JSONText.timestampString(-1, .nanosecond, utcOffset: false) == "1969-12-31 23:59:59.999999999")
        #expect(JSONText.durationString(-5, .second) == "-1 day, 23:59:55")
        #expect(JSONText.durationString(2 * 86_400_000_000 + 3_000_005, .microsecond) == "2 days, 0:00:03.000005")
    }

    @Test("strings are escaped as JSON, other text stays UTF-8")
    func strings() {
        #expect(JSONString.quoted("a\"b\\c\n\u{01}é") == "\"a\\\"b\\\\c\\n\\u0001é\"")
    }
}
