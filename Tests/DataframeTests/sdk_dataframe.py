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
import sys
import warnings

warnings.filterwarnings("ignore")

import rerun.chunk as rc  # noqa: E402

from arrow_cells import integer_type, plain  # noqa: E402


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
