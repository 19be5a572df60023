import IngestCore

/// How ``ArrowArray/appendJSON(at:to:options:)`` renders temporal values.
public struct JSONRenderOptions: Sendable, Hashable {
    /// Dates, times, timestamps and durations as their raw integers (the form of `TYPES.json` and of
    /// the chunk values in `EXPECTED.json`) instead of Python `str()` text.
    public var temporalAsIntegers: Bool

    /// Creates options; the default renders like Python `str()`.
    public init(temporalAsIntegers: Bool = false) { self.temporalAsIntegers = temporalAsIntegers }

    /// Python `to_pylist()` + `str()` rendering (the form `QUERIES.json` uses).
    public static let python = JSONRenderOptions(temporalAsIntegers: false)
    /// Raw integer rendering of temporal values.
    public static let integers = JSONRenderOptions(temporalAsIntegers: true)
}

extension ArrowArray {
    /// Slot `i` as JSON text, the way pyarrow's `to_pylist()` value prints through Python's `json.dumps`:
    /// bytes as `"0x"` + hex, non-finite floats as `"nan"`/`"inf"`/`"-inf"`, decimals as Python
    /// `str(Decimal)`, map entries as `[key, value]` arrays, dates/times/timestamps/durations as
    /// Python `str()` (or integers, see ``JSONRenderOptions``), separators `", "` and `": "`.
    ///
    /// - Complexity: O(size of the value); allocates only the growing output string.
    public func jsonValue(at i: Int, options: JSONRenderOptions = .python) -> String {
        var s = ""
        appendJSON(at: i, to: &s, options: options)
        return s
    }

    /// Appends the JSON text of slot `i` to `out` (see ``jsonValue(at:options:)``).
    public func appendJSON(at i: Int, to out: inout String, options: JSONRenderOptions = .python) {
        if case .union = type {
            let (c, k) = unionSlot(at: i)
            if c < children.count { children[c].appendJSON(at: k, to: &out, options: options) } else { out += "null" }
            return
        }
        if isNull(i) { out += "null"; return }
        if dictionaryIndexType != nil {
            if let (seg, k) = dictionaryValue(index: dictionaryIndex(at: i)) {
                seg.appendJSON(at: k, to: &out, options: options)
            } else {
                out += "null"
            }
            return
        }
        switch type {
        case .null: out += "null"
        case .bool: out += bool(at: i) ? "true" : "false"
        case .int(let w, let signed):
            if w == 64 && !signed {
                JSONText.append(value(at: i, as: UInt64.self), to: &out)
            } else {
                JSONText.append(int64(at: i), to: &out)
            }
        case .float16: JSONText.appendDouble(Double(CellText.halfToFloat(value(at: i, as: UInt16.self))), to: &out)
        case .float32: JSONText.appendDouble(Double(value(at: i, as: Float.self)), to: &out)
        case .float64: JSONText.appendDouble(value(at: i, as: Double.self), to: &out)
        case .decimal(_, let scale, let bits):
            withUnsafeBytes(at: i, bitWidth: bits) {
                JSONText.appendQuoted(CellText.decimalString($0, scale: scale), to: &out)
            }
        case .date32, .date64:
            var days = int64(at: i)
            if options.temporalAsIntegers { JSONText.append(days, to: &out); break }
            if case .date64 = type { days = CellText.floorDiv(days, 86_400_000) }
            JSONText.appendQuoted(CellText.dateString(days: days), to: &out)
        case .time32(let u), .time64(let u):
            let v = int64(at: i)
            if options.temporalAsIntegers { JSONText.append(v, to: &out); break }
            JSONText.appendQuoted(CellText.timeOfDay(CellText.toNanos(v, u)), to: &out)
        case .timestamp(let u, let tz):
            let v = value(at: i, as: Int64.self)
            if options.temporalAsIntegers { JSONText.append(v, to: &out); break }
            JSONText.appendQuoted(CellText.timestampString(v, u, utcOffset: tz != nil), to: &out)
        case .duration(let u):
            let v = value(at: i, as: Int64.self)
            if options.temporalAsIntegers { JSONText.append(v, to: &out); break }
            JSONText.appendQuoted(CellText.durationString(v, u), to: &out)
        case .interval(let u):
            switch u {
            case .yearMonth: JSONText.append(Int64(value(at: i, as: Int32.self)), to: &out)
            case .dayTime:
                withUnsafeBytes(at: i, bitWidth: 64) { b in
                    out += "["
                    JSONText.append(Int64(Int32(littleEndian: b.loadUnaligned(as: Int32.self))), to: &out)
                    out += ", "
                    let second = Int32(littleEndian: b.loadUnaligned(fromByteOffset: 4, as: Int32.self))
                    JSONText.append(Int64(second), to: &out)
                    out += "]"
                }
            case .monthDayNano:
                withUnsafeBytes(at: i, bitWidth: 128) { b in
                    out += "["
                    JSONText.append(Int64(Int32(littleEndian: b.loadUnaligned(as: Int32.self))), to: &out)
                    out += ", "
                    let second = Int32(littleEndian: b.loadUnaligned(fromByteOffset: 4, as: Int32.self))
                    JSONText.append(Int64(second), to: &out)
                    out += ", "
                    JSONText.append(Int64(littleEndian: b.loadUnaligned(fromByteOffset: 8, as: Int64.self)), to: &out)
                    out += "]"
                }
            }
        case .binary, .largeBinary, .binaryView, .fixedSizeBinary:
            withUnsafeBytes(at: i) { JSONText.appendQuoted(CellText.hexString($0), to: &out) }
        case .utf8, .largeUtf8, .utf8View:
            withUnsafeBytes(at: i) { JSONText.appendQuoted(String(decoding: $0, as: UTF8.self), to: &out) }
        case .list, .largeList, .listView, .largeListView, .fixedSizeList:
            let r = valueRange(at: i)
            out += "["
            for k in r {
                if k != r.lowerBound { out += ", " }
                children[0].appendJSON(at: k, to: &out, options: options)
            }
            out += "]"
        case .map:
            let r = valueRange(at: i)
            let entries = children[0]
            out += "["
            for k in r {
                if k != r.lowerBound { out += ", " }
                out += "["
                entries.children[0].appendJSON(at: k, to: &out, options: options)
                out += ", "
                entries.children[1].appendJSON(at: k, to: &out, options: options)
                out += "]"
            }
            out += "]"
        case .structure(let fields):
            out += "{"
            for (k, f) in fields.enumerated() {
                if k > 0 { out += ", " }
                JSONText.appendQuoted(f.name, to: &out)
                out += ": "
                children[k].appendJSON(at: i, to: &out, options: options)
            }
            out += "}"
        case .union, .unsupported: out += "null"
        }
    }

    /// Lends the `bitWidth / 8` bytes of fixed-width slot `i`.
    @inlinable
    func withUnsafeBytes<R>(at i: Int, bitWidth: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        precondition(i >= 0 && i < length, "ArrowArray index \(i) out of 0..<\(length)")
        let w = bitWidth / 8
        return try body(UnsafeRawBufferPointer(start: storage.unsafeBaseAddress + values + i * w, count: w))
    }
}

/// Python `str()` text of the Arrow values JSON has no type for (bytes, half floats, decimals, dates,
/// times, timestamps, durations); strings and numbers go through IngestCore's `JSONText`.
enum CellText {
    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// `0x` + lower-case hex digits (pyarrow `to_pylist()` bytes, as the query contract prints them).
    static func hexString(_ b: UnsafeRawBufferPointer) -> String {
        var bytes: [UInt8] = [UInt8(ascii: "0"), UInt8(ascii: "x")]
        bytes.reserveCapacity(b.count * 2 + 2)
        for x in b {
            bytes.append(hexDigits[Int(x >> 4)])
            bytes.append(hexDigits[Int(x & 15)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func halfToFloat(_ h: UInt16) -> Float {
        let sign: UInt32 = UInt32(h >> 15) << 31
        let exp = Int((h >> 10) & 0x1F)
        let frac = UInt32(h & 0x3FF)
        if exp == 0 {
            let v = Float(frac) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -v : v
        }
        if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (frac << 13)) }
        return Float(bitPattern: sign | (UInt32(exp - 15 + 127) << 23) | (frac << 13))
    }

    /// Python `str(Decimal)` of a little-endian two's complement integer scaled by 10^-scale.
    static func decimalString(_ b: UnsafeRawBufferPointer, scale: Int) -> String {
        var limbs: [UInt64] = []
        for k in 0..<(b.count / 8) {
            limbs.append(UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self)))
        }
        let negative = (limbs.last ?? 0) >> 63 == 1
        if negative {  // two's complement negate
            var carry: UInt64 = 1
            for k in limbs.indices {
                let (s, o) = (~limbs[k]).addingReportingOverflow(carry)
                limbs[k] = s
                carry = o ? 1 : 0
            }
        }
        // Repeated division by 10^18 over the limbs (most significant first).
        var chunks: [UInt64] = []
        let base: UInt64 = 1_000_000_000_000_000_000
        while limbs.contains(where: { $0 != 0 }) {
            var rem: UInt64 = 0
            for k in stride(from: limbs.count - 1, through: 0, by: -1) {
                let (q, r) = base.dividingFullWidth((rem, limbs[k]))
                limbs[k] = q
                rem = r
            }
            chunks.append(rem)
        }
        var digits = chunks.isEmpty ? "0" : String(chunks.last!)
        for c in chunks.dropLast().reversed() {
            let s = String(c)
            digits += String(repeating: "0", count: 18 - s.count) + s
        }
        let sign = negative ? "-" : ""
        let exponent = -scale
        let adjusted = exponent + digits.count - 1
        if exponent <= 0 && adjusted >= -6 {
            if exponent == 0 { return sign + digits }
            let frac = -exponent
            if digits.count > frac {
                let idx = digits.index(digits.endIndex, offsetBy: -frac)
                return sign + digits[..<idx] + "." + digits[idx...]
            }
            return sign + "0." + String(repeating: "0", count: frac - digits.count) + digits
        }
        var s = sign + String(digits.first!)
        if digits.count > 1 { s += "." + digits.dropFirst() }
        return s + "E" + (adjusted >= 0 ? "+" : "") + String(adjusted)
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q &- 1 : q
    }

    static func toNanos(_ v: Int64, _ u: TimeUnit) -> Int64 {
        switch u {
        case .second: return v &* 1_000_000_000
        case .millisecond: return v &* 1_000_000
        case .microsecond: return v &* 1_000
        case .nanosecond: return v
        }
    }

    static func pad(_ v: Int64, _ n: Int) -> String {
        let s = String(v)
        return s.count >= n ? s : String(repeating: "0", count: n - s.count) + s
    }

    /// Proleptic Gregorian civil date from days since 1970-01-01.
    static func dateString(days: Int64) -> String {
        let z = days &+ 719_468
        let era = floorDiv(z, 146_097)
        let doe = z &- era &* 146_097
        let yoe = (doe &- doe / 1460 &+ doe / 36524 &- doe / 146_096) / 365
        let doy = doe &- (365 &* yoe &+ yoe / 4 &- yoe / 100)
        let mp = (5 &* doy &+ 2) / 153
        let d = doy &- (153 &* mp &+ 2) / 5 &+ 1
        let m = mp < 10 ? mp &+ 3 : mp &- 9
        let y = yoe &+ era &* 400 &+ (m <= 2 ? 1 : 0)
        return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2)
    }

    /// `HH:MM:SS[.ffffff]` (nanosecond digits when sub-microsecond parts are present).
    static func timeOfDay(_ nanosOfDay: Int64) -> String {
        let secs = nanosOfDay / 1_000_000_000
        let frac = nanosOfDay % 1_000_000_000
        var s = pad(secs / 3600, 2) + ":" + pad(secs / 60 % 60, 2) + ":" + pad(secs % 60, 2)
        if frac != 0 {
            s += frac % 1000 == 0 ? "." + pad(frac / 1000, 6) : "." + pad(frac, 9)
        }
        return s
    }

    /// Splits `v` (in unit `u`) into whole days, seconds of the day and nanoseconds of the second,
    /// flooring toward negative infinity as Python's datetime and timedelta do.
    static func daySecondNano(_ v: Int64, _ u: TimeUnit) -> (days: Int64, secondOfDay: Int64, nanos: Int64) {
        let perSec: Int64
        switch u {
        case .second: perSec = 1
        case .millisecond: perSec = 1000
        case .microsecond: perSec = 1_000_000
        case .nanosecond: perSec = 1_000_000_000
        }
        let secs = floorDiv(v, perSec)
        let sub = (v &- secs &* perSec) &* (1_000_000_000 / perSec)
        let days = floorDiv(secs, 86_400)
        return (days, secs &- days &* 86_400, sub)
    }

    static func timestampString(_ v: Int64, _ u: TimeUnit, utcOffset: Bool) -> String {
        let (days, sod, sub) = daySecondNano(v, u)
        return dateString(days: days) + " " + timeOfDay(sod &* 1_000_000_000 &+ sub) + (utcOffset ? "+00:00" : "")
    }

    /// Python `str(timedelta)`: `[-]D day[s], H:MM:SS[.ffffff]`.
    static func durationString(_ v: Int64, _ u: TimeUnit) -> String {
        let (days, sod, sub) = daySecondNano(v, u)
        var s = ""
        if days != 0 { s = "\(days) day" + (Swift.abs(days) == 1 ? "" : "s") + ", " }
        s += String(sod / 3600) + ":" + pad(sod / 60 % 60, 2) + ":" + pad(sod % 60, 2)
        if sub != 0 { s += sub % 1000 == 0 ? "." + pad(sub / 1000, 6) : "." + pad(sub, 9) }
        return s
    }
}
