#!/usr/bin/env bash
# Compiles every ```swift block of README.md exactly as shown, in a package outside this one that
# depends on it by path (.package(path:)), the way a user's package would. Fails on any error, and on
# any warning in an example. Compiler messages point at README.md's own lines (#sourceLocation).
#
#   scripts/check-readme-examples.sh [MARKDOWN_FILE...]     (default: README.md)
#
# How a block is built:
# - a block with an `import Testing` line is a test file, built with `swift build --build-tests`;
# - any other block is the main.swift of an executable: top-level code, so `await` works at the top;
# - `<!-- compile: prelude` ... `-->` just before a block (blank lines may come between) adds hidden
#   lines in front of it: the declarations a fragment uses (the comment is invisible on the page);
# - `<!-- compile: skip REASON -->` just before a block leaves it out (say why).
# Every example target may import every module of the StoreIngest and IngestTestSupport products;
# it only sees what its block (or prelude) imports.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/ensure-deps.sh"
files=()
for f in "${@:-$root/README.md}"; do files+=("$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"); done

work="$(mktemp -d "${TMPDIR:-/tmp}/storeingest-readme-examples.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/blocks"

# 1. Extract the blocks: NNN.swift (prelude, then the block behind a #sourceLocation), NNN.kind.
n=0
for file in "${files[@]}"; do
    n=$(awk -v out="$work/blocks" -v src="$file" -v n="$n" '
        function flush_directive() { directive = ""; prelude = ""; prelude_line = 0 }
        BEGIN { in_block = 0; in_comment = 0; flush_directive() }
        in_block {
            if ($0 ~ /^```[[:space:]]*$/) { in_block = 0; close(name); next }
            print >> name; next
        }
        in_comment {
            if ($0 ~ /-->[[:space:]]*$/) { in_comment = 0; next }
            prelude = prelude $0 "\n"; next
        }
        /^<!-- compile: prelude[[:space:]]*$/ { directive = "prelude"; prelude_line = NR + 1; in_comment = 1; next }
        /^<!-- compile: skip/ { directive = "skip"; next }
        /^<!-- compile:/ { printf "%s:%d: unknown compile directive: %s\n", src, NR, $0 > "/dev/stderr"; exit 2 }
        /^```swift[[:space:]]*$/ {
            n++
            name = sprintf("%s/%03d.swift", out, n)
            kind = (directive == "skip") ? "skip" : "exec"
            printf "" > name
            if (prelude != "") {
                printf "#sourceLocation(file: \"%s\", line: %d)\n%s", src, prelude_line, prelude >> name
            }
            printf "#sourceLocation(file: \"%s\", line: %d)\n", src, NR + 1 >> name
            printf "%s:%d\n", src, NR > sprintf("%s/%03d.where", out, n)
            print kind > sprintf("%s/%03d.kind", out, n)
            in_block = 1; flush_directive(); next
        }
        /^[[:space:]]*$/ { next }
        { flush_directive() }
        END { if (in_block) { printf "%s: unterminated ```swift block\n", src > "/dev/stderr"; exit 2 } print n }
    ' "$file")
done
[ "$n" -gt 0 ] || { echo "check-readme-examples: no \`\`\`swift blocks in ${files[*]}" >&2; exit 1; }

# 2. One target per block in a package that depends on this one by path.
identity="$(basename "$root" | tr '[:upper:]' '[:lower:]')"
deps=".product(name: \"StoreIngest\", package: \"$identity\"), .product(name: \"IngestTestSupport\", package: \"$identity\")"
targets=""
built=0
for kind_file in "$work"/blocks/*.kind; do
    i="$(basename "$kind_file" .kind)"
    where="$(cat "$work/blocks/$i.where")"
    [ "$(cat "$kind_file")" = skip ] && { echo "skip   $where"; continue; }
    if grep -Eq '^[[:space:]]*import[[:space:]]+Testing[[:space:]]*$' "$work/blocks/$i.swift"; then
        mkdir -p "$work/Tests/Example${i}Tests"
        cp "$work/blocks/$i.swift" "$work/Tests/Example${i}Tests/Example$i.swift"
        targets+="        .testTarget(name: \"Example${i}Tests\", dependencies: [$deps]),"$'\n'
        echo "test   $where"
    else
        mkdir -p "$work/Sources/Example$i"
        cp "$work/blocks/$i.swift" "$work/Sources/Example$i/main.swift"
        targets+="        .executableTarget(name: \"Example$i\", dependencies: [$deps]),"$'\n'
        echo "main   $where"
    fi
    built=$((built + 1))
done
cat > "$work/Package.swift" <<EOF
// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "ReadmeExamples",
    dependencies: [.package(path: "$root")],
    targets: [
$targets    ]
)
EOF

# 3. Build (the scratch folder stays in this repository, so a second run is incremental).
log="$work/build.log"
status=0
swift build --build-tests --package-path "$work" --scratch-path "$root/.build-readme" 2>&1 | tee "$log" || status=$?
if [ $status -ne 0 ]; then
    echo "check-readme-examples: the examples do not compile (messages above point at their lines)" >&2
    exit 1
fi
if grep -F -e "${files[@]/%/:}" "$log" | grep -q ": warning:"; then
    echo "check-readme-examples: warnings in the examples (above)" >&2
    exit 1
fi
echo "check-readme-examples: $built of $n block(s) compiled as shown"
