/// The version of Rerun's chunk schema conventions ("Sorbet") a chunk was written with: the
/// schema-level `sorbet:version` metadata (`0.1.1` … `0.1.4`), or, for chunks written before that key
/// existed (rerun-sdk 0.23, whose keys are spelled `rerun.` instead of `rerun:`), `0.0.1`.
///
/// | SDK | written |
/// |---|---|
/// | 0.23 | no `sorbet:version`, `rerun.` keys: read as 0.0.1 |
/// | 0.24 – 0.27 | 0.1.1 |
/// | 0.28 | 0.1.2 |
/// | 0.30 – 0.40 | 0.1.3 |
/// | 0.41 | 0.1.4 (``SorbetVersion/current``) |
///
/// ``SchemaMigration`` applies the rules of every version after a chunk's.
public struct SorbetVersion: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// The major number (0 so far).
    public var major: UInt8
    /// The minor number.
    public var minor: UInt8
    /// The patch number.
    public var patch: UInt8

    /// A version from its three numbers.
    public init(_ major: UInt8, _ minor: UInt8, _ patch: UInt8) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// The version today's SDK (0.41) writes: chunks of this version are never migrated.
    public static let current = SorbetVersion(0, 1, 4)
    /// The version a chunk without `sorbet:version` but with `rerun.`-prefixed schema keys (rerun-sdk
    /// 0.23) is read as.
    public static let dottedKeys = SorbetVersion(0, 0, 1)

    /// Parses `MAJOR.MINOR.PATCH` (each at most 255; anything after the patch number, such as a
    /// pre-release suffix, is ignored); nil for anything else.
    public init?(parsing text: String) {
        var copy = text
        guard let v = copy.withUTF8({ SorbetVersion(utf8: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = v
    }

    /// ``init(parsing:)`` on UTF-8 bytes (the decoder reads the metadata value in place, once per
    /// chunk: no allocation).
    init?(utf8 u: UnsafeRawBufferPointer) {
        var major = 0
        var minor = 0
        var dots = 0
        var digits = 0
        var value = 0
        for c in u {
            if c >= 0x30 && c <= 0x39 {
                value = value * 10 + Int(c &- 0x30)
                digits += 1
                guard value <= 255 else { return nil }
            } else if c == UInt8(ascii: ".") && dots < 2 {
                guard digits > 0 else { return nil }
                if dots == 0 { major = value } else { minor = value }
                dots += 1
                value = 0
                digits = 0
            } else {
                break
            }
        }
        guard dots == 2, digits > 0 else { return nil }
        self.init(UInt8(major), UInt8(minor), UInt8(value))
    }

    /// A small integer unique per version, ordered as the versions (the decoder's layout cache keys on it).
    var code: Int { Int(major) << 16 | Int(minor) << 8 | Int(patch) }

    /// The version of a ``code``.
    init(code: Int) {
        self.init(
            UInt8(truncatingIfNeeded: code >> 16), UInt8(truncatingIfNeeded: code >> 8), UInt8(truncatingIfNeeded: code)
        )
    }

    /// Orders by major, minor, then patch.
    public static func < (a: SorbetVersion, b: SorbetVersion) -> Bool { a.code < b.code }

    /// `MAJOR.MINOR.PATCH`, as `sorbet:version` spells it.
    public var description: String { "\(major).\(minor).\(patch)" }
}
