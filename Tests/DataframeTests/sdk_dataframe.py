"""The Rerun SDK's dataframe view (`ChunkStore.reader`, rerun-sdk 0.41.0 + datafusion) of recordings, as JSON lines.

Usage: python sdk_dataframe.py FILE...

Per file, `{"file", "recordings": N}` (or `{"file", "error"}` when the SDK cannot read it), then one line per
(recording store, view):
  {"file", "application_id", "recording_id", "index": NAME|null, "fill_latest_at": B, "contents": PATTERN|null,
   "columns": [[NAME, ARROW_TYPE], ...], "rows": [[CELL, ...], ...]}
Views: every index (timeline) and the static view (index null), every index again with fill_latest_at, and every index
with `contents` set to the first entity's top-level subtree (`/world/**`). Cells are `to_pylist()` values with temporal
values as their integers, bytes as "0x" + hex and non-finite floats as "nan"/"inf"/"-inf" (the rendering of
`ArrowArray.jsonValue(at:options: .integers)`), so a test compares them after parsing both.
"""

import json
import math
import sys
import warnings

warnings.filterwarnings("ignore")

import pyarrow as pa  # noqa: E402
import rerun.chunk as rc  # noqa: E402


def integer_type(t):
    """`t` with every temporal type replaced by the integer type of its storage."""
    if pa.types.is_timestamp(t) or pa.types.is_duration(t) or pa.types.is_date64(t) or pa.types.is_time64(t):
        return pa.int64()
    if pa.types.is_date32(t) or pa.types.is_time32(t):
        return pa.int32()
    if pa.types.is_fixed_size_list(t):
        return pa.list_(pa.field(t.value_field.name, integer_type(t.value_type), t.value_field.nullable), t.list_size)
    if pa.types.is_large_list(t):
        return pa.large_list(pa.field(t.value_field.name, integer_type(t.value_type), t.value_field.nullable))
    if pa.types.is_list(t):
        return pa.list_(pa.field(t.value_field.name, integer_type(t.value_type), t.value_field.nullable))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, integer_type(f.type), f.nullable) for f in t])
    return t


def plain(v):
    if isinstance(v, bytes):
        return "0x" + v.hex()
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    return v


def table_json(table):
    columns = [[f.name, str(f.type)] for f in table.schema]
    cols = []
    for f, column in zip(table.schema, table.columns):
        target = integer_type(f.type)
        if target != f.type:
            column = column.cast(target)
        cols.append([plain(v) for v in column.to_pylist()])
    rows = [list(r) for r in zip(*cols)] if cols else []
    return columns, rows


def views(store):
    schema = store.schema()
    indexes = [c.name for c in schema.index_columns()]
    entities = sorted({c.entity_path for c in schema.component_columns() if not c.entity_path.startswith("/__")})
    subtree = None
    if entities:
        parts = [p for p in entities[0].split("/") if p]
        subtree = "/" + parts[0] + "/**" if parts else "/**"
    for index in indexes + [None]:
        yield index, False, None
    for index in indexes:
        yield index, True, None
    if subtree:
        for index in indexes:
            yield index, False, subtree


def main(paths):
    for path in paths:
        try:
            reader = rc.RrdReader(path)
        except Exception as e:  # the SDK refuses some files our reader takes (two_recordings_concat.rrd)
            print(json.dumps({"file": path, "error": str(e)}))
            continue
        print(json.dumps({"file": path, "recordings": len(reader.recordings())}))
        for entry in reader.recordings():
            store = reader.stream(store=entry).collect()
            for index, fill, contents in views(store):
                table = store.reader(index, contents=contents, fill_latest_at=fill).to_arrow_table()
                columns, rows = table_json(table)
                print(json.dumps({
                    "file": path, "application_id": entry.application_id, "recording_id": entry.recording_id,
                    "index": index, "fill_latest_at": fill, "contents": contents, "columns": columns, "rows": rows,
                }))


if __name__ == "__main__":
    main(sys.argv[1:])
