import Testing

@testable import ArrowIPC

/// Python-compatible text of decimals and temporal values (expected strings from CPython 3).
@Suite("JSON rendering like Python")
struct RenderingTests {
    @Test(
        "decimals print like Python's str(Decimal)",
        arguments: [
            (Int64(1), 10, "1E-10"), (1, 7, "1E-7"), (12345, -2, "1.2345E+6"), (100, 2, "1.00"),
            (1_234_567_891, 3, "1234567.891"), (-1, 3, "-0.001"), (0, 2, "0.00"), (5, 0, "5"),
        ] as [(Int64, Int, String)])
    func decimals(_ unscaled: Int64, _ scale: Int, _ text: String) {
        var bytes = [UInt8](repeating: unscaled < 0 ? 0xFF : 0, count: 16)
        for k in 0..<8 { bytes[k] = UInt8(truncatingIfNeeded: unscaled >> (8 * Int64(k))) }
        let s = bytes.withUnsafeBytes { CellText.decimalString($0, scale: scale) }
        #expect(s == text)
    }

    @Test("dates, times, timestamps and durations print like Python's str()")
    func temporal() {
        #expect(CellText.dateString(days: 19724) == "2024-01-02")
        #expect(CellText.dateString(days: -1) == "1969-12-31")
        #expect(CellText.timeOfDay(3_723_004_000_000) == "01:02:03.004000")
        #expect(
            CellText.timestampString(1_700_000_000_000, .millisecond, utcOffset: true) == "2023-11-14 22:13:20+00:00")
        #expect(CellText.timestampString(-1, .nanosecond, utcOffset: false) == "1969-12-31 23:59:59.999999999")
        #expect(CellText.durationString(-5, .second) == "-1 day, 23:59:55")
        #expect(CellText.durationString(2 * 86_400_000_000 + 3_000_005, .microsecond) == "2 days, 0:00:03.000005")
    }
}
