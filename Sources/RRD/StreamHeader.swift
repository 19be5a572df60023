/// The name ``StreamHeader/Version`` had before it moved into ``StreamHeader``; kept so existing code
/// compiles.
///
/// Why it moved: the compiler's symbol-graph extraction (Swift 6.3) silently drops every declaration
/// whose name is the module's name followed by `Version…` (`RRDVersion` and `RRDVersionX` vanish from
/// the RRD symbol graph, `RRDVer` does not), so a top-level `RRDVersion` had no documentation page and
/// no link target. This alias is dropped the same way, which is harmless: the type it names is
/// documented under its nested name.
public typealias RRDVersion = StreamHeader.Version

/// The 12-byte header that opens every RRD stream (`RRF2`, version, compression, serializer).
public struct StreamHeader: Hashable, Sendable {
    /// The writer's version.
    public var version: Version
    /// `0` = off, `1` = LZ4. Informational only: each `ArrowMsg` carries its own compression.
    public var compression: UInt8
    /// `2` = protobuf, the only value accepted.
    public var serializer: UInt8

    /// A header with the given fields (use ``parse(_:source:offset:)`` to read one).
    public init(version: Version, compression: UInt8, serializer: UInt8) {
        self.version = version
        self.compression = compression
        self.serializer = serializer
    }

    /// The version as text, e.g. `0.41.0`.
    public var versionString: String { version.description }

    /// Whether the writer ends the stream with a stream footer after its End message: SDKs from 0.28
    /// on do (the End's body is an RRD footer, or empty for an empty recording); older ones write an
    /// End with an empty body and nothing after it.
    public var writesStreamFooter: Bool { (version.major, version.minor) >= (0, 28) }

    /// Whether the writer's major.minor is newer than ``Version/newestKnown`` (worth a warning;
    /// patch releases do not change the format).
    public var isNewerThanKnown: Bool {
        (version.major, version.minor) > (Version.newestKnown.major, Version.newestKnown.minor)
    }

    /// Size of the header in bytes.
    public static let size = 12

    /// Parses and validates a 12-byte stream header.
    ///
    /// - Throws: ``RRDError/Code/incompatibleVersion`` for `RRF0`/`RRF1` or a version below 0.23,
    ///   ``RRDError/Code/notRRD`` for any other magic, ``RRDError/Code/badStreamHeader`` for a bad
    ///   compression, serializer or reserved field.
    public static func parse(
        _ b: UnsafeRawBufferPointer, source: String, offset: UInt64
    ) throws(RRDError) -> StreamHeader {
        guard b.count >= size else {
            throw RRDError(
                .truncated, source: source, offset: offset,
                "truncated stream header: expected 12 bytes, found \(b.count)")
        }
        let magic = Array(b[0..<4])
        if magic == Array("RRF0".utf8) || magic == Array("RRF1".utf8) {
            throw RRDError(
                .incompatibleVersion, source: source, offset: offset,
                "recording from an old, incompatible Rerun version: expected FourCC \"RRF2\", found \"\(printable(magic))\""
            )
        }
        guard magic == Array("RRF2".utf8) else {
            throw RRDError(
                .notRRD, source: source, offset: offset,
                "not an RRD stream: expected FourCC \"RRF2\", found \"\(printable(magic))\"")
        }
        let version = Version(major: b[4], minor: b[5], patch: b[6], meta: b[7])
        guard version >= Version.oldestSupported else {
            throw RRDError(
                .incompatibleVersion, source: source, offset: offset + 4,
                "recording from an old, incompatible Rerun version: expected version >= 0.23.0, found \(version)")
        }
        guard b[8] <= 1 else {
            throw RRDError(
                .badStreamHeader, source: source, offset: offset + 8,
                "unknown stream compression: expected 0 (off) or 1 (LZ4), found \(b[8])")
        }
        guard b[9] == 2 else {
            throw RRDError(
                .badStreamHeader, source: source, offset: offset + 9,
                "unsupported serializer: expected 2 (protobuf), found \(b[9])")
        }
        guard b[10] == 0, b[11] == 0 else {
            throw RRDError(
                .badStreamHeader, source: source, offset: offset + 10,
                "reserved stream header bytes: expected 00 00, found \(hex(b[10])) \(hex(b[11]))")
        }
        return StreamHeader(version: version, compression: b[8], serializer: b[9])
    }
}

extension StreamHeader {
    /// The writer's crate version from a stream header: `[major, minor, patch, meta]`.
    ///
    /// `meta` is 0 for releases; otherwise its top two bits are a tag (`01` = `-rc.N`, `10` =
    /// `-alpha.N`, `11` = `-alpha.N+dev`) and its low six bits `N`.
    public struct Version: Hashable, Sendable, Comparable, CustomStringConvertible {
        /// Major version (0 for every release so far).
        public var major: UInt8
        /// Minor version (41 for 0.41.0).
        public var minor: UInt8
        /// Patch version.
        public var patch: UInt8
        /// Pre-release tag and number (0 for releases).
        public var meta: UInt8

        /// A version from its four bytes.
        public init(major: UInt8, minor: UInt8, patch: UInt8, meta: UInt8 = 0) {
            self.major = major
            self.minor = minor
            self.patch = patch
            self.meta = meta
        }

        /// Orders by major, minor, patch, then `meta` (a coarse order for pre-releases).
        public static func < (a: Version, b: Version) -> Bool {
            (a.major, a.minor, a.patch, a.meta) < (b.major, b.minor, b.patch, b.meta)
        }

        /// `0.41.0`, `0.24.0-rc.2`, `0.25.0-alpha.1`, `0.25.0-alpha.1+dev`.
        public var description: String {
            let base = "\(major).\(minor).\(patch)"
            let n = meta & 0x3F
            switch meta >> 6 {
            case 1: return base + "-rc.\(n)"
            case 2: return base + "-alpha.\(n)"
            case 3: return base + "-alpha.\(n)+dev"
            default: return base
            }
        }

        /// The oldest version whose streams this reader understands (protobuf serializer).
        public static let oldestSupported = Version(major: 0, minor: 23, patch: 0)

        /// The newest writer version the format spec was checked against; newer streams are read,
        /// but callers should warn (see ``StreamHeader/isNewerThanKnown``).
        public static let newestKnown = Version(major: 0, minor: 41, patch: 0)
    }
}

/// What the 32-byte stream footer after an End message said, and whether it checked out.
public struct StreamFooterInfo: Hashable, Sendable {
    /// File offset of the End message's 16-byte header.
    public var endMessageOffset: UInt64
    /// `rrd_footer_start`: offset of the End payload relative to the stream's header.
    public var rrdFooterStart: UInt64
    /// `rrd_footer_len`: the End payload's length.
    public var rrdFooterLength: UInt64
    /// The stored xxHash32 (seed 7850921) of the End payload.
    public var crc: UInt32
    /// `num_entries` (always 1 today).
    public var numEntries: UInt32
    /// Whether `rrdFooterStart`/`rrdFooterLength` point at the End payload just read.
    public var pointsAtEndPayload: Bool
    /// Whether `crc` matches the End payload (`true` when verification is turned off).
    public var crcOK: Bool

    /// A footer description with the given fields.
    public init(
        endMessageOffset: UInt64, rrdFooterStart: UInt64, rrdFooterLength: UInt64, crc: UInt32, numEntries: UInt32,
        pointsAtEndPayload: Bool, crcOK: Bool
    ) {
        self.endMessageOffset = endMessageOffset
        self.rrdFooterStart = rrdFooterStart
        self.rrdFooterLength = rrdFooterLength
        self.crc = crc
        self.numEntries = numEntries
        self.pointsAtEndPayload = pointsAtEndPayload
        self.crcOK = crcOK
    }

    /// Size of the stream footer in bytes (one entry).
    public static let size = 32
    /// The xxHash32 seed of the footer checksum.
    public static let checksumSeed: UInt32 = 7_850_921
}

/// ASCII with non-printable bytes as `\xNN`.
func printable(_ bytes: [UInt8]) -> String {
    var s = ""
    for b in bytes {
        if b >= 0x20 && b < 0x7F && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") {
            s.unicodeScalars.append(Unicode.Scalar(b))
        } else {
            s += "\\x" + hex(b)
        }
    }
    return s
}

/// Two hex digits.
func hex(_ b: UInt8) -> String {
    let d = Array("0123456789abcdef".utf8)
    return String(decoding: [d[Int(b >> 4)], d[Int(b & 15)]], as: UTF8.self)
}
