"""`ingest export` against the Rerun SDK's dataframe path on the same recordings, in the same run.

Usage: python Tests/Benchmarks/export_vs_sdk.py INGEST RUNS FILE...   (python: the rerun-sdk 0.41 venv)

For each FILE, RUNS rounds alternating the two (ours first in odd rounds, the SDK first in even ones):
  ours: INGEST export FILE --to TMP --compression zstd:1 -q            (the whole process)
  sdk:  a fresh python: RrdReader(FILE) → stream().collect() → reader(index).to_arrow_table()
        → pyarrow.parquet.write_table(table, compression="zstd", compression_level=1)
        the index is the store's first timeline by name, as `ingest export` picks it.
Both write the same view of the same store with zstd level 1. Prints per file the median wall seconds of each
(the SDK's also without Python start-up and imports), the ratio, and the output sizes (with the ratio).
"""

import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SDK = r"""
import sys, time, warnings
warnings.filterwarnings("ignore")
t0 = time.perf_counter()
import pyarrow.parquet as pq
import rerun.chunk as rc
t1 = time.perf_counter()
reader = rc.RrdReader(sys.argv[1])
entry = reader.recordings()[0]
store = reader.stream(store=entry).collect()
indexes = sorted(c.name for c in store.schema().index_columns())
table = store.reader(indexes[0] if indexes else None).to_arrow_table()
pq.write_table(table, sys.argv[2], compression="zstd", compression_level=1)
print(time.perf_counter() - t1, table.num_rows, table.num_columns)
"""


def ours(ingest, path, out):
    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    p = subprocess.run([ingest, "export", path, "--to", out, "--compression", "zstd:1", "--json", "-q"],
                       stdout=subprocess.PIPE, check=True, text=True)
    wall = time.perf_counter() - t
    summary = json.loads(p.stdout)
    files = summary["files"]
    return wall, sum(f["bytes"] for f in files), files[0]["rows"], files[0]["columns"]


def sdk(path, out):
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", SDK, path, out], stdout=subprocess.PIPE, check=True, text=True)
    wall = time.perf_counter() - t
    inner, rows, columns = p.stdout.split()
    return wall, float(inner), os.path.getsize(out), int(rows), int(columns)


def main():
    ingest, runs, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    work = tempfile.mkdtemp(prefix="export-bench-")
    try:
        for path in files:
            a, b, b_inner = [], [], []
            sizes = None
            for r in range(runs):
                order = ["ours", "sdk"] if r % 2 == 0 else ["sdk", "ours"]
                for who in order:
                    if who == "ours":
                        wall, size, rows, cols = ours(ingest, path, os.path.join(work, "ours"))
                        a.append(wall)
                        ours_size, ours_shape = size, (rows, cols)
                    else:
                        wall, inner, size, rows, cols = sdk(path, os.path.join(work, "sdk.parquet"))
                        b.append(wall)
                        b_inner.append(inner)
                        sdk_size, sdk_shape = size, (rows, cols)
            ma, mb, mbi = statistics.median(a), statistics.median(b), statistics.median(b_inner)
            print(f"{os.path.basename(path)}: rows×columns ours {ours_shape} sdk {sdk_shape}")
            print(f"  wall median of {runs}: ingest export {ma:.2f} s | SDK {mb:.2f} s ({mbi:.2f} s without start-up)"
                  f" | SDK/ours {mb / ma:.2f}× ({mbi / ma:.2f}× without start-up)")
            print(f"  Parquet bytes (zstd 1): ours {ours_size} | pyarrow {sdk_size} | ours/pyarrow {ours_size / sdk_size:.3f}")
            sys.stdout.flush()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
