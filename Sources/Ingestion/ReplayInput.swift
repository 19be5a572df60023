@preconcurrency import Glibc

/// One input of a replay: a file, or standard input.
public enum ReplayInput: Sendable, Hashable, CustomStringConvertible {
    /// A file path (`.rrd`, `.rbl`, optionally zstd-compressed such as `*.rrd.zst`).
    case file(String)
    /// Standard input (`-` on the command line).
    case standardInput

    /// The name used in errors and summaries: the path, or `-`.
    public var description: String {
        switch self {
        case .file(let path): return path
        case .standardInput: return "-"
        }
    }
}

/// What went wrong expanding the command line's inputs (``ReplayInput/expand(_:)``).
///
/// `code` is an opaque, extensible value compared with `==`; ``description`` is one sentence for
/// people that names the argument (`no recordings found under logs/`).
public struct ReplayInputError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable { case noMatch, emptyDirectory, standardInputTwice }
        private let wrapped: Wrapped
        private init(_ w: Wrapped) { wrapped = w }

        /// A glob pattern that matches no file.
        public static let noMatch = Code(.noMatch)
        /// A directory with no recording below it (no file ending in one of ``ReplayInput/recordingSuffixes``).
        public static let emptyDirectory = Code(.emptyDirectory)
        /// `-` given more than once.
        public static let standardInputTwice = Code(.standardInputTwice)

        /// The code's name (`noMatch`, `emptyDirectory`, `standardInputTwice`).
        public var description: String { "\(wrapped)" }
    }

    /// What went wrong.
    public var code: Code
    /// The argument that did not expand.
    public var argument: String
    /// Why, naming the argument: `no recordings found matching logs/*.rrd`.
    public var message: String

    /// An error for `argument`; `message` is the whole sentence ``description`` shows.
    public init(_ code: Code, argument: String, message: String) {
        self.code = code
        self.argument = argument
        self.message = message
    }

    /// ``message``.
    public var description: String { message }
}

extension ReplayInput {
    /// File name endings a directory argument picks up.
    public static let recordingSuffixes = [".rrd", ".rbl", ".rrd.zst", ".rbl.zst"]

    /// Expands command-line arguments into inputs, in argument order:
    /// - `-` is standard input (at most once);
    /// - a directory gives every recording below it (``recordingSuffixes``), recursively, sorted by path
    ///   (a directory without any is an error);
    /// - an argument with `*`, `?` or `[` is a glob, expanded by this function (not the shell) and sorted;
    ///   `**` as a whole path component matches any number of directories, including none;
    /// - anything else is a file path, kept as given even if missing (the replay reports it, or waits for
    ///   it with `follow`).
    ///
    /// A file named twice is kept twice (replaying it again feeds the same stores, which deduplicate).
    /// - Throws: ``ReplayInputError``: ``ReplayInputError/Code/noMatch`` for a glob that matches
    ///   nothing, ``ReplayInputError/Code/emptyDirectory`` for a directory without recordings,
    ///   ``ReplayInputError/Code/standardInputTwice`` for a second `-`.
    public static func expand(_ arguments: [String]) throws(ReplayInputError) -> [ReplayInput] {
        var out: [ReplayInput] = []
        var sawStdin = false
        for arg in arguments {
            if arg == "-" {
                guard !sawStdin else {
                    throw ReplayInputError(
                        .standardInputTwice, argument: arg, message: "standard input (-) given twice")
                }
                sawStdin = true
                out.append(.standardInput)
            } else if isGlob(arg) {
                let matches = Glob.expand(arg).sorted()
                guard !matches.isEmpty else {
                    throw ReplayInputError(.noMatch, argument: arg, message: "no recordings found matching \(arg)")
                }
                out += matches.map { .file($0) }
            } else if FileKind.of(arg) == .directory {
                var found: [String] = []
                Glob.walk(arg) { path, kind in
                    if kind == .regular, recordingSuffixes.contains(where: { path.hasSuffix($0) }) { found.append(path) }
                }
                guard !found.isEmpty else {
                    throw ReplayInputError(.emptyDirectory, argument: arg, message: "no recordings found under \(arg)")
                }
                out += found.sorted().map { .file($0) }
            } else {
                out.append(.file(arg))
            }
        }
        return out
    }

    static func isGlob(_ s: String) -> Bool { s.contains { $0 == "*" || $0 == "?" || $0 == "[" } }
}

/// The kind of a directory entry, from `stat`.
enum FileKind {
    case regular, directory, other, missing

    static func of(_ path: String) -> FileKind {
        var st = stat()
        guard stat(path, &st) == 0 else { return .missing }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        default: return .other
        }
    }
}

/// Glob expansion with `**` (fnmatch per path component; hidden entries match only an explicit dot).
enum Glob {
    static func expand(_ pattern: String) -> [String] {
        let absolute = pattern.hasPrefix("/")
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        var results: [String] = []
        match(base: absolute ? "/" : "", parts: parts[...], into: &results)
        return results
    }

    private static func join(_ base: String, _ name: String) -> String {
        base.isEmpty ? name : (base.hasSuffix("/") ? base + name : base + "/" + name)
    }

    private static func match(base: String, parts: ArraySlice<String>, into results: inout [String]) {
        guard let part = parts.first else {
            if !base.isEmpty, FileKind.of(base) != .missing { results.append(base) }
            return
        }
        let rest = parts.dropFirst()
        if part == "**" {
            // Zero directories, then every directory below `base`.
            match(base: base, parts: rest, into: &results)
            for name in entries(base.isEmpty ? "." : base) where !name.hasPrefix(".") {
                let path = join(base, name)
                if FileKind.of(path) == .directory { match(base: path, parts: parts, into: &results) }
            }
        } else if ReplayInput.isGlob(part) {
            for name in entries(base.isEmpty ? "." : base) {
                if name.hasPrefix(".") && !part.hasPrefix(".") { continue }
                guard fnmatch(part, name, 0) == 0 else { continue }
                let path = join(base, name)
                if rest.isEmpty || FileKind.of(path) == .directory { match(base: path, parts: rest, into: &results) }
            }
        } else {
            let path = join(base, part)
            if rest.isEmpty {
                if FileKind.of(path) != .missing { results.append(path) }
            } else if FileKind.of(path) == .directory {
                match(base: path, parts: rest, into: &results)
            }
        }
    }

    /// The names in directory `path` (without `.` and `..`), unsorted.
    static func entries(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Calls `body` for every entry below `root`, recursively (symbolic links to directories are not followed).
    static func walk(_ root: String, _ body: (String, FileKind) -> Void) {
        for name in entries(root) where !name.hasPrefix(".") {
            let path = join(root, name)
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            if st.st_mode & S_IFMT == S_IFDIR {
                walk(path, body)
            } else {
                body(path, FileKind.of(path))
            }
        }
    }
}
