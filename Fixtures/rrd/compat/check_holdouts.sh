#!/usr/bin/env bash
# Recordings we do not have: writes this corpus's cases with SDK versions it does not hold (by default
# the hold-outs 0.34.1 and 0.38.1) into a temporary folder, takes their ground truth the same way
# (make_compat.py generate / migrated, make_compat_queries.py), and runs the compat test suites on it
# (INGEST_COMPAT_CORPUS points them there).
#
#   Fixtures/rrd/compat/check_holdouts.sh [VERSION...]
#
# Needs one venv per version, named by it, plus one with rerun-sdk 0.41.0 and datafusion 54 in $VENVS
# (default /work/compat/venvs; see README.md here). Not part of CI: it needs the venvs and takes a few
# minutes. Pass KEEP=1 to keep the folder.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
venvs=${VENVS:-/work/compat/venvs}
if [ $# -gt 0 ]; then versions=("$@"); else versions=(0.34.1 0.38.1); fi
out=$(mktemp -d /tmp/compat-holdouts.XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$out"' EXIT
for v in "${versions[@]}"; do
  echo "== rerun-sdk $v: recordings and ground truth -> $out/$v"
  "$venvs/$v/bin/python" "$here/make_compat.py" generate --out "$out" > "$out/generate-$v.log" 2>&1 \
    || { tail -20 "$out/generate-$v.log"; exit 1; }
done
echo "== rerun-sdk 0.41.0: migrated view and query answers"
"$venvs/0.41.0/bin/python" "$here/make_compat.py" migrated --out "$out" > "$out/migrated.log" 2>&1 \
  || { tail -20 "$out/migrated.log"; exit 1; }
"$venvs/0.41.0/bin/python" "$here/make_compat_queries.py" --corpus "$out"
echo "== compat suites on $out"
cd "$repo"
INGEST_COMPAT_CORPUS="$out" swift test ${SWIFT_TEST_ARGS:-} --filter 'Compat'
