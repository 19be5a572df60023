extension EntityTreeNode {
    /// Splits an entity path into its parts at unescaped `/` (a `\` escapes the next character); escapes
    /// are kept in the parts. Empty parts are skipped.
    public static func parts(of path: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var escaped = false
        for ch in path {
            if escaped {
                current.append(ch)
                escaped = false
            } else if ch == "\\" {
                current.append(ch)
                escaped = true
            } else if ch == "/" {
                if !current.isEmpty { parts.append(current) }
                current = ""
            } else {
                current.append(ch)
            }
        }
        if !current.isEmpty { parts.append(current) }
        return parts
    }

    /// Builds the tree of `paths` (and their ancestors) under a root `/`.
    public static func build(paths: [String]) -> EntityTreeNode {
        final class Builder {
            var children: [String: Builder] = [:]
            var hasData = false
        }
        let root = Builder()
        for path in paths {
            var node = root
            for part in parts(of: path) {
                if let child = node.children[part] {
                    node = child
                } else {
                    let child = Builder()
                    node.children[part] = child
                    node = child
                }
            }
            node.hasData = true
        }
        func freeze(_ builder: Builder, name: String, path: String) -> EntityTreeNode {
            EntityTreeNode(
                name: name, path: path, hasData: builder.hasData,
                children: builder.children.keys.sorted().map { key in
                    freeze(builder.children[key]!, name: key, path: path == "/" ? "/" + key : path + "/" + key)
                })
        }
        return freeze(root, name: "", path: "/")
    }
}
