/// An entity path or a pattern of them, as `ingest filter --drop-entity` takes it: `/world/points`
/// matches that entity only (as `rerun rrd filter --drop-entity` does), `/camera/*` every direct child
/// of `/camera`, `/camera/**` `/camera` and everything below it; `*` matches one part, `**` any number
/// of parts (including none). The leading `/` is optional; parts are escaped as in ``EntityPath``.
///
/// ```swift
/// let p = EntityPathPattern("/camera/**")
/// p.matches(EntityPath(escaped: "/camera/left/image"))   // true
/// p.matches(EntityPath(escaped: "/cameras"))             // false
/// ```
public struct EntityPathPattern: Sendable, Hashable, CustomStringConvertible {
    /// The pattern as given.
    public let text: String
    private let parts: [String]

    /// The pattern `text`.
    public init(_ text: String) {
        self.text = text
        let escaped = text.hasPrefix("/") ? text : "/" + text
        parts = EntityPath(escaped: escaped).parts
    }

    /// Whether `path` matches.
    public func matches(_ path: EntityPath) -> Bool { Self.match(parts[...], path.parts[...]) }

    /// Whether the escaped entity path `escaped` matches.
    public func matches(escaped: String) -> Bool { matches(EntityPath(escaped: escaped)) }

    private static func match(_ p: ArraySlice<String>, _ s: ArraySlice<String>) -> Bool {
        guard let first = p.first else { return s.isEmpty }
        if first == "**" {
            let rest = p.dropFirst()
            var tail = s
            while true {
                if match(rest, tail) { return true }
                guard !tail.isEmpty else { return false }
                tail = tail.dropFirst()
            }
        }
        guard let head = s.first, first == "*" || first == head else { return false }
        return match(p.dropFirst(), s.dropFirst())
    }

    /// The pattern ``text`` as given.
    public var description: String { text }
}
