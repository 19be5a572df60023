#!/usr/bin/env bash
# Regenerates the committed protobuf code (never used by the build itself: the generated files are
# committed, so no build runs protoc or a build plugin).
#
#   scripts/generate-protos.sh [oracle|server|all]      (default: all)
#
#   oracle: Tests/RRDTests/rrd_messages.pb.swift from Tests/RRDTests/Proto/rrd_messages.proto
#           (the swift-protobuf oracle of the hand-written wire reader).
#   server: Sources/IngestServer/Generated/*.swift from Sources/IngestServer/Proto/rerun/v1alpha1/*.proto
#           (messages, and the grpc-swift-2 server and client stubs of MessageProxyService), each file
#           wrapped in `#if LIVE_SERVER` (the target compiles to nothing without the LiveServer trait).
#
# Needs protoc (apt-get install -y protobuf-compiler). Builds the plugins in a temporary clone
# outside the repository: protoc-gen-swift 1.39.0 (the SwiftProtobuf runtime's version in
# Package.swift) and protoc-gen-grpc-swift-2 from grpc-swift-protobuf 2.4.1, whose build resolves
# swift-protobuf to the same 1.39.0.
#
#   PROTOC_GEN_SWIFT=/path/to/protoc-gen-swift PROTOC_GEN_GRPC_SWIFT=/path/to/protoc-gen-grpc-swift-2 \
#       scripts/generate-protos.sh
#   GRPC_SWIFT_PROTOBUF_REPO=... (default: GitHub) to clone from elsewhere.
set -euo pipefail

GRPC_PROTOBUF_VERSION=2.4.1
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
what=${1:-all}
case "$what" in oracle|server|all) ;; *) echo "usage: $0 [oracle|server|all]" >&2; exit 2 ;; esac

command -v protoc >/dev/null || { echo "protoc not found: apt-get install -y protobuf-compiler" >&2; exit 1; }

SWIFT_PLUGIN="${PROTOC_GEN_SWIFT:-}"
GRPC_PLUGIN="${PROTOC_GEN_GRPC_SWIFT:-}"
if [[ -z "$SWIFT_PLUGIN" || ( -z "$GRPC_PLUGIN" && "$what" != oracle ) ]]; then
    REPO="${GRPC_SWIFT_PROTOBUF_REPO:-https://github.com/grpc/grpc-swift-protobuf.git}"
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/protoc-gen.XXXXXX")"
    trap 'rm -rf "$WORK"' EXIT
    git clone --quiet --depth 1 --branch "$GRPC_PROTOBUF_VERSION" "$REPO" "$WORK/gsp" 2>/dev/null
    (cd "$WORK/gsp" && swift build -c release --product protoc-gen-grpc-swift-2 >&2 \
        && swift build -c release --product protoc-gen-swift >&2)
    grep -A6 '"swift-protobuf"' "$WORK/gsp/Package.resolved" | grep -q '"version" : "1.39.0"' \
        || { echo "grpc-swift-protobuf resolved another swift-protobuf than 1.39.0" >&2; exit 1; }
    SWIFT_PLUGIN="${SWIFT_PLUGIN:-$WORK/gsp/.build/release/protoc-gen-swift}"
    GRPC_PLUGIN="${GRPC_PLUGIN:-$WORK/gsp/.build/release/protoc-gen-grpc-swift-2}"
fi
"$SWIFT_PLUGIN" --version >&2 || true

if [[ "$what" != server ]]; then
    proto_dir="$ROOT/Tests/RRDTests/Proto"
    protoc --plugin=protoc-gen-swift="$SWIFT_PLUGIN" --proto_path="$proto_dir" --swift_out="$ROOT/Tests/RRDTests" \
        "$proto_dir/rrd_messages.proto"
    echo "wrote Tests/RRDTests/rrd_messages.pb.swift" >&2
fi

if [[ "$what" != oracle ]]; then
    proto_dir="$ROOT/Sources/IngestServer/Proto"
    out="$ROOT/Sources/IngestServer/Generated"
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/protos.XXXXXX")"
    protoc --plugin=protoc-gen-swift="$SWIFT_PLUGIN" --proto_path="$proto_dir" \
        --swift_out=Visibility=Package,FileNaming=PathToUnderscores:"$tmp" "$proto_dir"/rerun/v1alpha1/*.proto
    protoc --plugin=protoc-gen-grpc-swift-2="$GRPC_PLUGIN" --proto_path="$proto_dir" \
        --grpc-swift-2_out=Visibility=Package,Server=true,Client=true,FileNaming=PathToUnderscores:"$tmp" \
        "$proto_dir/rerun/v1alpha1/sdk_comms.proto"
    rm -rf "$out"
    mkdir -p "$out"
    for f in "$tmp"/*.swift; do
        { echo "#if LIVE_SERVER  // added by scripts/generate-protos.sh: the LiveServer trait"; cat "$f"; echo "#endif"; } \
            >"$out/$(basename "$f")"
        echo "wrote Sources/IngestServer/Generated/$(basename "$f")" >&2
    done
    rm -rf "$tmp"
fi
