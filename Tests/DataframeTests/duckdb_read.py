"""Queries an exported dataset with DuckDB, as users do, and prints what a test compares.

Usage: python duckdb_read.py DIR

Runs `read_parquet('DIR/**/*.parquet', hive_partitioning = true, union_by_name = true)` and prints one JSON line per
recording: {"application_id", "recording_id", "columns": [NAME...], "rows": [[CELL...]...]}, the columns being that
recording's file's own (the union adds the other recordings' columns as nulls), the cells rendered as read_parquet.py
renders them (through DuckDB's Arrow result, temporal values as integers). Then one line
{"aggregates": [[application_id, recording_id, rows, non_null_cells, scalar_sum], ...]} ordered by recording id (the
sum is of the first value of every `…:Scalars:scalars` cell): the answers the Spark test must reproduce.
"""

import glob
import json
import os
import sys

import duckdb
import pyarrow.parquet as pq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from read_parquet import cells  # noqa: E402

root = sys.argv[1]
pattern = os.path.join(root, "**", "*.parquet")
con = duckdb.connect()
source = f"read_parquet('{pattern}', hive_partitioning = true, union_by_name = true)"

files = {}
for path in glob.glob(pattern, recursive=True):
    recording = os.path.basename(os.path.dirname(path)).split("=", 1)[1]
    files[recording] = pq.read_schema(path).names

for recording, names in sorted(files.items()):
    result = con.execute(f"SELECT * FROM {source} WHERE recording_id = ?", [recording])
    table = result.to_arrow_table() if hasattr(result, "to_arrow_table") else result.fetch_arrow_table()
    apps = set(table.column("application_id").to_pylist())
    print(json.dumps({
        "application_id": sorted(apps)[0] if apps else None,
        "recording_id": recording,
        "columns": names,
        "rows": [list(r) for r in zip(*[cells(table.column(n)) for n in names])] if names else [],
    }))

# Per recording: rows and non-null component cells (every quoted column that starts with '/').
columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
components = [c for c in columns if c.startswith("/")]
non_null = " + ".join(f'(CASE WHEN "{c}" IS NULL THEN 0 ELSE 1 END)' for c in components) or "0"
# And the sum of the first scalar of every Scalars:scalars cell ("how large did the signals get").
scalars = [c for c in components if c.endswith(":Scalars:scalars")]
scalar_sum = " + ".join(f'coalesce(list_extract("{c}", 1), 0)' for c in scalars) or "0"
rows = con.execute(
    f"SELECT application_id, recording_id, count(*), sum({non_null}), sum({scalar_sum}) FROM {source} "
    "GROUP BY application_id, recording_id ORDER BY recording_id").fetchall()
print(json.dumps({"aggregates": [[a, r, int(n), int(c or 0), float(x or 0)] for a, r, n, c, x in rows]}))
