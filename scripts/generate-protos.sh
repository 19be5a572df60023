#!/usr/bin/env bash
# Regenerates Tests/RRDTests/rrd_messages.pb.swift from Tests/RRDTests/Proto/rrd_messages.proto.
#
# Needs protoc (apt-get install -y protobuf-compiler) and builds protoc-gen-swift 1.39.0 (the
# version of the SwiftProtobuf runtime in Package.swift) in a temporary clone outside the
# repository. Never used by the build itself: the generated file is committed.
#
#   scripts/generate-protos.sh                 # clone from GitHub (or $SWIFT_PROTOBUF_REPO)
#   PROTOC_GEN_SWIFT=/path/to/protoc-gen-swift scripts/generate-protos.sh
set -euo pipefail

VERSION=1.39.0
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROTO_DIR="$ROOT/Tests/RRDTests/Proto"
OUT_DIR="$ROOT/Tests/RRDTests"

command -v protoc >/dev/null || { echo "protoc not found: apt-get install -y protobuf-compiler" >&2; exit 1; }

PLUGIN="${PROTOC_GEN_SWIFT:-}"
if [[ -z "$PLUGIN" ]]; then
    REPO="${SWIFT_PROTOBUF_REPO:-https://github.com/apple/swift-protobuf.git}"
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/protoc-gen-swift.XXXXXX")"
    trap 'rm -rf "$WORK"' EXIT
    git clone --quiet --depth 1 --branch "$VERSION" "$REPO" "$WORK/swift-protobuf"
    (cd "$WORK/swift-protobuf" && swift build -c release --product protoc-gen-swift >&2)
    PLUGIN="$WORK/swift-protobuf/.build/release/protoc-gen-swift"
fi

"$PLUGIN" --version >&2 || true
protoc --plugin=protoc-gen-swift="$PLUGIN" --proto_path="$PROTO_DIR" --swift_out="$OUT_DIR" \
    "$PROTO_DIR/rrd_messages.proto"
echo "wrote $OUT_DIR/rrd_messages.pb.swift" >&2
