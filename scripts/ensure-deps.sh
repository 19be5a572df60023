#!/usr/bin/env bash
# Installs the C libraries StoreIngest links against, when they are missing:
#   libzstd-dev (zstd-compressed recordings, Arrow ZSTD body compression)
#   liblz4-dev  (the LZ4 blocks inside every ArrowMsg, Arrow LZ4_FRAME body compression)
set -euo pipefail
missing=()
for pkg in libzstd-dev liblz4-dev pkg-config; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "ensure-deps: installing ${missing[*]}" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >&2
fi
command -v swift >/dev/null || { echo "ensure-deps: no 'swift' on PATH (Swift 6.1 or newer is needed)" >&2; exit 1; }
