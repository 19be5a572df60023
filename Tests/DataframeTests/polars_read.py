"""Reads an exported Hive dataset with Polars and compares every file with pyarrow's reading of it.

Usage: python polars_read.py DIR

Prints one JSON object per file, {"file", "rows", "columns", "mismatches": [COLUMN...]} (or {"file", "error"}
when Polars refuses it), then {"scan": [[application_id, recording_id, rows], ...]} from
polars.scan_parquet(DIR/**/*.parquet, hive_partitioning=True) grouped by the partition columns.
"""

import glob
import json
import sys

import polars as pl
import pyarrow.parquet as pq

from arrow_cells import integer_type, plain


def cells(column):
    # Temporal values as their integers (nanoseconds do not fit datetime), as the other scripts compare.
    target = integer_type(column.type)
    if target != column.type:
        column = column.cast(target)
    return [plain(v) for v in column.to_pylist()]


def same(a, b):
    # Polars turns a list column of a struct or of floats into the same Python values as pyarrow;
    # NaN is compared as itself.
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def main():
    root = sys.argv[1]
    for path in sorted(glob.glob(root + "/**/*.parquet", recursive=True)):
        try:
            frame = pl.read_parquet(path, hive_partitioning=False)
        except Exception as e:  # noqa: BLE001 - the test reports what Polars refused
            print(json.dumps({"file": path, "error": f"{type(e).__name__}: {e}"}))
            continue
        table = pq.read_table(path, partitioning=None)
        ours = frame.to_arrow()
        mismatches = [n for n in table.column_names
                      if n not in ours.column_names or not same(cells(ours.column(n)), cells(table.column(n)))]
        print(json.dumps({"file": path, "rows": frame.height, "columns": frame.columns, "mismatches": mismatches}))
    scan = (pl.scan_parquet(root + "/**/*.parquet", hive_partitioning=True, missing_columns="insert",
                            extra_columns="ignore")
            .group_by("application_id", "recording_id").agg(pl.len().alias("rows"))
            .sort("recording_id").collect())
    print(json.dumps({"scan": [list(r) for r in scan.rows()]}))


if __name__ == "__main__":
    main()
