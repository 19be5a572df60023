"""Reads Parquet files with pyarrow and prints what a test compares, as one JSON object per file.

Usage: python read_parquet.py FILE...   (a file pyarrow refuses prints {"file", "error"})

{"file", "types": [ARROW_TYPE...], "names": [...], "num_rows", "num_row_groups", "row_group_rows": [...],
 "statistics": {COLUMN_PATH: [[has_min_max, null_count, min, max], ...per row group]},
 "columns": {NAME: [CELL...]}}
Cells are `to_pylist()` values rendered like `ArrowArray.jsonValue(at:options: .integers)`: temporal values as
their integers, bytes as "0x" + hex, non-finite floats as "nan"/"inf"/"-inf", decimals as Python `str()`, map
entries as [key, value] pairs.
"""

import json
import math
import sys

import pyarrow.parquet as pq

from arrow_cells import integer_type, plain


def cells(column):
    target = integer_type(column.type)
    if target != column.type:
        column = column.cast(target)
    return [plain(v) for v in column.to_pylist()]


def stat_value(v):
    return plain(v) if not isinstance(v, float) or math.isfinite(v) else None


def read(path):
    f = pq.ParquetFile(path)
    md = f.metadata
    table = f.read()
    statistics = {}
    for c in range(md.num_columns):
        name = md.schema.column(c).path
        per_group = []
        for g in range(md.num_row_groups):
            s = md.row_group(g).column(c).statistics
            if s is None:
                per_group.append(None)
            else:
                # The physical values (`min_raw`): logical conversions of ns temporals need pandas.
                per_group.append([s.has_min_max, s.null_count,
                                  stat_value(s.min_raw) if s.has_min_max else None,
                                  stat_value(s.max_raw) if s.has_min_max else None])
        statistics[name] = per_group
    return {
        "file": path,
        "names": table.column_names,
        "types": [str(x.type) for x in table.schema],
        "num_rows": md.num_rows,
        "num_row_groups": md.num_row_groups,
        "row_group_rows": [md.row_group(g).num_rows for g in range(md.num_row_groups)],
        "statistics": statistics,
        "columns": {n: cells(table.column(n)) for n in table.column_names},
    }


if __name__ == "__main__":
    for path in sys.argv[1:]:
        try:
            print(json.dumps(read(path)))
        except Exception as e:  # one unreadable file is reported, the others still read
            print(json.dumps({"file": path, "error": f"{type(e).__name__}: {e}"}))
