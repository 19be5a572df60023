#!/usr/bin/env python3
"""
make_compat_queries.py - what rerun-sdk 0.41.0 answers on the old recordings of this corpus.

Run with the 0.41 venv's python (needs rerun-sdk==0.41.0, pyarrow and datafusion==54.0.0, for
`ChunkStore.reader`):

  /work/compat/venvs/0.41.0/bin/python Fixtures/rrd/compat/make_compat_queries.py [--corpus DIR] [--out FILE]

Writes `QUERIES.json` next to this script (or into the corpus DIR, or FILE), with two parts:

* `questions`: per version and file, a few latest-at / range / static questions asked with
  today's names (the migrated entity paths and columns), answered as `ingest query --json`
  prints them: latest-at and static {"found", "time", "row_id", "value"}, range a list of
  {"time", "row_id", "value"}. The SDK loads the old file (`rerun.chunk.RrdReader`, which
  migrates every chunk), its query engine (`ChunkStore.reader(...)`, DataFusion) gives the
  value (latest-at: `fill_latest_at=True, using_index_values=[T]`; static: `index=None`;
  range: the index filtered to [T0, T1]); time and row id of the winning row come from the
  SDK's migrated chunks, with the rule of the contract (static wins; else the greatest
  (time, RowId) with time <= T and a non-null cell), and its value must equal the engine's
  (`method: "dataframe"`). Where the engine cannot say (a range with two rows at one time:
  it collapses them) the answer is the raw rows' (`method: "raw"`).
* `streams`: the 0.41 view (as MIGRATED.json's `rrd_reader`, uncompacted: per store, per
  chunk id, entity path, rows, static, timelines with ranges, columns [name, type, descriptor])
  of every stream of a concatenation, each cut out at the stream offsets EXPECTED.json lists
  and read alone. 0.41 reads such files only in part (the first footer-less stream) or not at
  all (footered streams: "CRC check failed"), so MIGRATED.json cannot show what they migrate to.

Files are cut into streams for the questions too, so every store of a concatenation is asked.
"""
from __future__ import annotations

import argparse
import collections
import json
import math
import os
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PER_FILE = 6
BLOB_TYPES = {"rerun.components.ImageBuffer", "rerun.components.Blob", "rerun.components.VideoSample"}


def sdk():
    import rerun
    if rerun.__version__ != "0.41.0":
        raise SystemExit(f"needs rerun-sdk 0.41.0, found {rerun.__version__}")
    import datafusion  # noqa: F401  (ChunkStore.reader)
    from rerun.chunk import ChunkStore, RrdReader
    return RrdReader, ChunkStore


def vkey(v):
    return tuple(int(x) for x in v.split("."))


def render(v):
    """A cell as pyarrow's to_pylist() gives it, JSON-safe (the contract's rendering)."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else repr(v)
    if isinstance(v, (bytes, bytearray)):
        return "0x" + bytes(v).hex()
    if isinstance(v, (list, tuple)):
        return [render(x) for x in v]
    if isinstance(v, dict):
        return {str(k): render(x) for k, x in v.items()}
    return str(v)


def tuid(b):
    return "%016X%016x" % (int.from_bytes(b[:8], "big"), int.from_bytes(b[8:16], "big"))


def md(field):
    return {k.decode(): v.decode() for k, v in (field.metadata or {}).items()}


def streams_of(path: Path, entry: dict, tmp: str) -> list[str]:
    offs = [s["offset"] for s in entry["streams"]]
    if len(offs) == 1:
        return [str(path)]
    data = path.read_bytes()
    out = []
    for i, o in enumerate(offs):
        end = offs[i + 1] if i + 1 < len(offs) else len(data)
        p = os.path.join(tmp, f"{path.stem}.{i}.rrd")
        Path(p).write_bytes(data[o:end])
        out.append(p)
    return out


def chunk_view(ch):
    import pyarrow as pa
    rb = ch.to_record_batch()
    timelines, columns = {}, []
    for f in rb.schema:
        m = md(f)
        columns.append([f.name, str(f.type), {k: v for k, v in sorted(m.items()) if k.startswith("rerun:")}])
        if m.get("rerun:kind") == "index":
            vals = rb.column(f.name).cast(pa.int64()).to_pylist()
            timelines[m.get("rerun:index_name", f.name)] = {"arrow_type": str(f.type), "min": min(vals), "max": max(vals)}
    return {"chunk_id": str(ch.id), "entity_path": str(ch.entity_path), "num_rows": ch.num_rows,
            "is_static": bool(ch.is_static), "timelines": timelines,
            "schema_metadata": {k.decode(): v.decode() for k, v in sorted((rb.schema.metadata or {}).items())},
            "columns": columns}


class Store:
    def __init__(self, sid, chunks, ChunkStore):
        self.sid = sid
        self.chunks = chunks
        self.cs = ChunkStore.from_chunks(chunks) if chunks else None
        self.rows = collections.defaultdict(list)  # (E, C) -> [(rowid, static, {tl: t}, valid, value)]
        self.types = {}
        import pyarrow as pa
        for ch in chunks:
            rb = ch.to_record_batch()
            tls = [f.name for f in rb.schema if md(f).get("rerun:kind") == "index"]
            times = {t: rb.column(t).cast(pa.int64()).to_pylist() for t in tls}
            rids = [tuid(b) for b in rb.column("rerun.controls.RowId").to_pylist()]
            for f in rb.schema:
                m = md(f)
                if m.get("rerun:kind") != "data":
                    continue
                self.types[(str(ch.entity_path), f.name)] = m.get("rerun:component_type", "")
                col = rb.column(f.name)
                vals = col.to_pylist()
                for i in range(rb.num_rows):
                    self.rows[(str(ch.entity_path), f.name)].append(
                        (rids[i], bool(ch.is_static), {t: times[t][i] for t in tls}, col[i].is_valid, render(vals[i])))

    def latest(self, E, C, tl, t):
        rows = [r for r in self.rows[(E, C)] if r[3]]
        st = [r for r in rows if r[1]]
        if st:
            w = max(st, key=lambda r: int(r[0], 16))
            return {"found": True, "time": None, "row_id": w[0], "value": w[4]}
        cands = [r for r in rows if not r[1] and tl is not None and tl in r[2] and r[2][tl] <= t]
        if not cands:
            return {"found": False, "time": None, "row_id": None, "value": None}
        w = max(cands, key=lambda r: (r[2][tl], int(r[0], 16)))
        return {"found": True, "time": w[2][tl], "row_id": w[0], "value": w[4]}

    def range(self, E, C, tl, t0, t1):
        rows = [r for r in self.rows[(E, C)] if r[3] and not r[1] and tl in r[2] and t0 <= r[2][tl] <= t1]
        rows.sort(key=lambda r: (r[2][tl], int(r[0], 16)))
        return [{"time": r[2][tl], "row_id": r[0], "value": r[4]} for r in rows]

    def engine_column(self, table, E, C):
        for i, f in enumerate(table.schema):
            m = md(f)
            if m.get("rerun:entity_path") == E and m.get("rerun:component") == C:
                return table.column(i).to_pylist()
        return None

    def reader(self, index, E, **kw):
        return self.cs.reader(index=index, contents=E, include_semantically_empty_columns=True,
                              include_tombstone_columns=True, **kw)

    def engine_latest(self, E, C, tl, t):
        if tl is None:
            table = self.reader(None, E).to_arrow_table()
            vals = self.engine_column(table, E, C)
            return render(vals[-1]) if vals else None
        table = self.reader(tl, E, fill_latest_at=True, using_index_values=[t]).to_arrow_table()
        vals = self.engine_column(table, E, C)
        return render(vals[0]) if vals else None

    def engine_range(self, E, C, tl, t0, t1):
        import pyarrow as pa
        from datafusion import col, lit
        ic = col(tl).cast(pa.int64())
        table = self.reader(tl, E).filter((ic >= lit(t0)) & (ic <= lit(t1))).to_arrow_table()
        vals = self.engine_column(table, E, C)
        times = table.column(tl).cast(pa.int64()).to_pylist()
        return sorted([(t, render(v)) for t, v in zip(times, vals or []) if v is not None])


def questions_for(version, fname, stores):
    """A few questions per file, today's names first (those the migration made)."""
    groups = []
    for sid, st in stores.items():
        for (E, C), rows in sorted(st.rows.items()):
            if st.types.get((E, C)) in BLOB_TYPES:
                continue
            valid = [r for r in rows if r[3]]
            if not valid:
                continue
            static = any(r[1] for r in valid)
            tls = sorted({tl for r in valid if not r[1] for tl in r[2]})
            # Names that differ from what the SDK of the file wrote come first (the point of the exercise).
            renamed = ":" in C and (E == "/__properties" or C.startswith(("Scalars:", "TransformAxes3D:", "RecordingInfo:", "Boxes3D:")))
            groups.append((not renamed, sid, E, C, static, tls))
    groups.sort(key=lambda g: g[0])
    out = []
    kinds = ["exact_mid", "before_first", "range_middle", "after_last"]
    k = 0
    for _, sid, E, C, static, tls in groups:
        if len(out) >= PER_FILE:
            break
        st = stores[sid]
        if static:
            out.append(dict(sid=sid, entity=E, component=C, static=True, kind="static"))
            continue
        tl = "frame" if "frame" in tls else ("log_time" if "log_time" in tls else tls[0])
        times = sorted({r[2][tl] for r in st.rows[(E, C)] if r[3] and not r[1] and tl in r[2]})
        kind = kinds[k % len(kinds)]
        k += 1
        if kind == "exact_mid":
            out.append(dict(sid=sid, entity=E, component=C, timeline=tl, at=times[len(times) // 2], kind=kind))
        elif kind == "before_first":
            out.append(dict(sid=sid, entity=E, component=C, timeline=tl, at=times[0] - 1, kind=kind))
        elif kind == "after_last":
            out.append(dict(sid=sid, entity=E, component=C, timeline=tl, at=times[-1] + 1, kind=kind))
        else:
            lo, hi = (0, len(times) - 1) if len(times) <= 2 else (len(times) // 4, len(times) - 1 - len(times) // 4)
            out.append(dict(sid=sid, entity=E, component=C, timeline=tl, range=[times[lo], times[hi]], kind=kind))
    return out


def answer(q, st):
    E, C = q["entity"], q["component"]
    if q.get("static"):
        exp = st.latest(E, C, None, 0)
        eng = st.engine_latest(E, C, None, 0)
        method = "dataframe"
        if exp["found"] and eng != exp["value"]:
            raise SystemExit(f"engine disagrees on {q}: {eng} vs {exp}")
    elif "range" in q:
        t0, t1 = q["range"]
        exp = st.range(E, C, q["timeline"], t0, t1)
        eng = st.engine_range(E, C, q["timeline"], t0, t1)
        mine = [(r["time"], r["value"]) for r in exp]
        if len({t for t, _ in mine}) != len(mine):
            method = "raw"
        else:
            method = "dataframe"
            if eng != mine:
                raise SystemExit(f"engine disagrees on {q}: {eng} vs {mine}")
    else:
        exp = st.latest(E, C, q["timeline"], q["at"])
        eng = st.engine_latest(E, C, q["timeline"], q["at"])
        method = "dataframe"
        if (eng if exp["found"] else None) != exp["value"]:
            raise SystemExit(f"engine disagrees on {q}: {eng} vs {exp}")
    return exp, method


def args_of(q):
    a = ["--entity", q["entity"], "--component", q["component"]]
    if q.get("static"):
        return a + ["--static", "--json"]
    if "range" in q:
        r = f"{q['range'][0]}..{q['range'][1]}"
        return a + ["--timeline", q["timeline"], f"--range={r}" if r.startswith("-") else "--range", *([] if r.startswith("-") else [r]), "--json"]
    t = str(q["at"])
    return a + ["--timeline", q["timeline"]] + ([f"--at={t}"] if t.startswith("-") else ["--at", t]) + ["--json"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=HERE, help="folder of <version>/ folders (default: this one)")
    ap.add_argument("--out", type=Path, help="output file (default CORPUS/QUERIES.json)")
    a = ap.parse_args()
    corpus = a.corpus.resolve()
    out = a.out or corpus / "QUERIES.json"
    RrdReader, ChunkStore = sdk()
    import warnings
    warnings.simplefilter("ignore")
    doc = {"generator": "Fixtures/rrd/compat/make_compat_queries.py", "rerun_sdk_version": "0.41.0",
           "notes": [__doc__.strip().split("\n\n")[2].strip()], "questions": [], "streams": {}}
    for vdir in sorted((d for d in corpus.iterdir() if d.is_dir() and d.name[0].isdigit()), key=lambda d: vkey(d.name)):
        exp = json.loads((vdir / "EXPECTED.json").read_text())
        for entry in exp["files"]:
            if "streams" not in entry:
                continue
            path = vdir / entry["file"]
            with tempfile.TemporaryDirectory() as tmp:
                chunks = collections.defaultdict(list)
                views = []
                for sp in streams_of(path, entry, tmp):
                    r = RrdReader(sp)
                    view = []
                    for e in list(r.recordings()) + list(r.blueprints()):
                        sid = (str(e.kind), str(e.application_id), str(e.recording_id))
                        cs = list(r.stream(store=e).to_chunks())
                        chunks[sid] += cs
                        view.append({"kind": sid[0], "application_id": sid[1], "recording_id": sid[2],
                                     "chunks": [chunk_view(c) for c in cs]})
                    views.append(view)
                stores = {sid: Store(sid, cs, ChunkStore) for sid, cs in chunks.items()}
                if len(entry["streams"]) > 1:
                    doc["streams"].setdefault(vdir.name, {})[entry["file"]] = views
                n = 0
                for q in questions_for(vdir.name, entry["file"], stores):
                    n += 1
                    st = stores[q["sid"]]
                    expected, method = answer(q, st)
                    sid = q.pop("sid")
                    q = {"id": f"{vdir.name}/{entry['file']}#{n}", "version": vdir.name, "file": entry["file"],
                         "store": {"kind": sid[0], "application_id": sid[1], "recording_id": sid[2]}, **q}
                    q["args"] = args_of(q)
                    # The CLI asks the first store holding the entity unless told: name the store
                    # when another one has the same entity and component (two_recordings, blueprints).
                    if sum((q["entity"], q["component"]) in o.rows for o in stores.values()) > 1:
                        q["args"] = ["--store", sid[2]] + q["args"]
                    q["expected"] = expected
                    q["method"] = method
                    doc["questions"].append(q)
    out.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
    print(f"{len(doc['questions'])} questions, {sum(len(v) for v in doc['streams'].values())} concatenations -> {out}")


if __name__ == "__main__":
    main()
