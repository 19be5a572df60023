/// An entity path, kept exactly as `rerun:entity_path` carries it (escaped, e.g. `/a\ b/x\/y/ü`),
/// with its unescaped parts available through ``parts``.
///
/// Escapes: `\ ` (space), `\/` (slash inside a part), `\\` (backslash); any other `\c` keeps `c`.
public struct EntityPath: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The escaped string form (always starts with `/`; the root is `/`).
    public let escaped: String

    /// Wraps the escaped form as found in chunk metadata.
    public init(escaped: String) { self.escaped = escaped }

    /// Builds the escaped form from unescaped parts.
    public init(parts: [String]) {
        var s = ""
        for p in parts {
            s += "/"
            for ch in p {
                switch ch {
                case " ": s += "\\ "
                case "/": s += "\\/"
                case "\\": s += "\\\\"
                default: s.append(ch)
                }
            }
        }
        escaped = s.isEmpty ? "/" : s
    }

    /// The unescaped parts (`[]` for the root).
    public var parts: [String] {
        var parts: [String] = []
        var current = ""
        var escaping = false
        var started = false
        for ch in escaped {
            if escaping {
                current.append(ch)
                escaping = false
            } else if ch == "\\" {
                escaping = true
            } else if ch == "/" {
                if started { parts.append(current) }
                current = ""
                started = true
            } else {
                current.append(ch)
                started = true
            }
        }
        if escaping { current.append("\\") }
        if !current.isEmpty { parts.append(current) }
        return parts
    }

    /// The ``escaped`` form, as Rerun prints entity paths.
    public var description: String { escaped }

    /// Orders by the escaped string.
    public static func < (a: EntityPath, b: EntityPath) -> Bool { a.escaped < b.escaped }
}
