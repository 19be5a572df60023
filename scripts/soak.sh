#!/usr/bin/env bash
# The load/soak test for longer: 64 stores × 4 producer threads with random pacing for SOAK_SECONDS (default 300),
# then no loss, no reordering, and engine bytes, allocator live bytes, threads and fds back to baseline.
#   scripts/soak.sh [SECONDS] [extra swift test arguments, e.g. --traits SynchronousIngestion]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/ensure-deps.sh"
cd "$root"
export SOAK_SECONDS=${1:-300}
shift || true
exec swift test --scratch-path .build-soak --filter SoakTests "$@"
