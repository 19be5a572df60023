#!/usr/bin/env python3
"""Checks `ingest merge|filter|route|optimize` output against the real Rerun 0.41 tools.

Usage: rerun_compat.py INGEST RERUN WORKDIR [--only NAME]

For every well-formed fixture of Fixtures/rrd (alone), for several fixtures given together, and for a
byte-for-byte concatenation of several:
  - `rerun rrd verify` passes on our merge, filter, route and optimize outputs;
  - `rerun rrd compare --unordered` finds our merge / filter / route output equal to Rerun's own output of the
    same command (store by store: compare takes one recording per file, so multi-store outputs are split with
    the SDK first, and the store lists must be equal);
  - the SDK's chunk counts of our output equal our `--json` summary's `chunks_written`;
  - for optimize, the SDK's dataframe view (`ChunkStore.reader`, every timeline and the static view, all
    entities) of every recording store of our output equals that of the input (Rerun's merge of the inputs
    stands for the input, since the SDK reader refuses byte-concatenated files).
Prints one line per check, `FAIL ...` for failures, and exits 1 when any check failed.
"""

import json
import os
import subprocess
import sys

import rerun.chunk as rc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Fixtures", "rrd")

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def run(args, **kw):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def stores_of(path):
    r = rc.RrdReader(path)
    return [s for s in r.recordings() + r.blueprints()]


def key(s):
    return (s.kind, s.application_id, s.recording_id)


def split(path, out_dir):
    """One file per store (written by the SDK), keyed by (kind, app, rec)."""
    os.makedirs(out_dir, exist_ok=True)
    r = rc.RrdReader(path)
    files = {}
    for i, s in enumerate(r.recordings() + r.blueprints()):
        p = os.path.join(out_dir, f"store{i}.{'rbl' if s.kind == 'blueprint' else 'rrd'}")
        r.stream(store=s).write_rrd(p, application_id=s.application_id, recording_id=s.recording_id)
        files[key(s)] = p
    return files


def sdk_chunk_count(path):
    r = rc.RrdReader(path)
    return sum(len(r.store(store=s)) for s in r.recordings() + r.blueprints())


def frame_rows(store, index):
    table = store.reader(index).to_arrow_table()
    names = sorted(table.column_names)
    rows = [tuple(repr(table.column(n)[i].as_py()) for n in names) for i in range(table.num_rows)]
    return names, sorted(rows)


def timelines_of(store):
    names = set()
    for field in store.schema():
        md = field.metadata or {}
        kind = md.get(b"rerun:kind") or md.get(b"rerun.kind")
        if kind in (b"index", b"time"):
            names.add(field.name)
    return sorted(names)


def dataframes(path):
    """{store key: {index: (columns, sorted rows)}} for every recording store."""
    r = rc.RrdReader(path)
    out = {}
    for s in r.recordings():
        store = r.stream(store=s).collect()
        views = {}
        for index in timelines_of(store) + [None]:
            views[index] = frame_rows(store, index)
        out[key(s)] = views
    return out


def ours(ingest, command, inputs, out, extra):
    p = run([ingest, command, *inputs, "-o", out, "--json", "-q", *extra])
    if p.returncode != 0:
        return None, p.stderr.strip()
    return json.loads(p.stdout), ""


def theirs(rerun, command, inputs, out, extra):
    p = run([rerun, "rrd", command, *inputs, "-o", out, *extra])
    return p.returncode == 0, p.stderr.strip()[-400:]


def compare_outputs(rerun, a, b, work, label):
    sa, sb = split(a, work + "/a"), split(b, work + "/b")
    check(sorted(sa) == sorted(sb), f"{label}: same stores {sorted(sa)} vs {sorted(sb)}")
    for k in sorted(set(sa) & set(sb)):
        p = run([rerun, "rrd", "compare", "--unordered", sa[k], sb[k]])
        check(p.returncode == 0, f"{label}: rrd compare --unordered {k[0]}:{k[2]}" + (
            "" if p.returncode == 0 else " :: " + (p.stdout + p.stderr).strip()[-600:]))


def case(ingest, rerun, work, label, inputs):
    os.makedirs(work, exist_ok=True)
    rewrites = [
        ("merge", [], []),
        ("filter", ["--drop-timeline", "frame", "--drop-entity", "/plot/cos"],
         ["--drop-timeline", "frame", "--drop-entity", "/plot/cos"]),
        ("filter", ["--drop-timeline", "step", "--drop-entity", "/world/points"],
         ["--drop-timeline", "step", "--drop-entity", "/world/points"]),
        ("route", ["--application-id", "routed_app", "--recording-id", "routed_rec"],
         ["--application-id", "routed_app", "--recording-id", "routed_rec"]),
    ]
    for n, (command, our_flags, their_flags) in enumerate(rewrites):
        name = f"{label} {command}{' ' + ' '.join(our_flags) if our_flags else ''}"
        out, ref = f"{work}/{command}{n}.rrd", f"{work}/{command}{n}.ref.rrd"
        summary, err = ours(ingest, command, inputs, out, our_flags)
        check(summary is not None, f"{name}: ingest exit 0 {err}")
        if summary is None:
            continue
        v = run([rerun, "rrd", "verify", out])
        check(v.returncode == 0, f"{name}: rrd verify" + ("" if v.returncode == 0 else " :: " + v.stderr[-600:]))
        ok, err = theirs(rerun, command, inputs, ref, their_flags)
        check(ok, f"{name}: rerun rrd {command} exit 0 {err}")
        if ok:
            compare_outputs(rerun, out, ref, f"{work}/split{n}", name)
        count = sdk_chunk_count(out)
        check(count == summary["chunks_written"], f"{name}: SDK chunk count {count} == {summary['chunks_written']}")

    name = f"{label} optimize"
    out, ref = f"{work}/optimize.rrd", f"{work}/optimize.input.rrd"
    summary, err = ours(ingest, "optimize", inputs, out, [])
    check(summary is not None, f"{name}: ingest exit 0 {err}")
    if summary is None:
        return
    v = run([rerun, "rrd", "verify", out])
    check(v.returncode == 0, f"{name}: rrd verify" + ("" if v.returncode == 0 else " :: " + v.stderr[-600:]))
    count = sdk_chunk_count(out)
    check(count == summary["chunks_written"], f"{name}: SDK chunk count {count} == {summary['chunks_written']}")
    ok, err = theirs(rerun, "merge", inputs, ref, [])
    check(ok, f"{name}: rerun rrd merge of the input {err}")
    if ok:
        a, b = dataframes(ref), dataframes(out)
        check(sorted(a) == sorted(b), f"{name}: same recording stores")
        for k in sorted(set(a) & set(b)):
            check(sorted(a[k], key=str) == sorted(b[k], key=str), f"{name}: {k[2]} same timelines {sorted(a[k], key=str)}")
            for index in sorted(set(a[k]) & set(b[k]), key=str):
                same = a[k][index] == b[k][index]
                detail = ""
                if not same:
                    detail = f" :: columns {a[k][index][0]} vs {b[k][index][0]}, rows {len(a[k][index][1])} vs {len(b[k][index][1])}"
                check(same, f"{name}: {k[2]} dataframe view on {index or 'static'}" + detail)


def main():
    ingest, rerun, work = sys.argv[1:4]
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    expected = json.load(open(os.path.join(FIXTURES, "EXPECTED.json")))
    valid = [f["file"] for f in expected["files"] if f["expect_valid"]]
    cases = [(name, [os.path.join(FIXTURES, name)]) for name in valid]
    several = ["points3d.rrd", "scalars_sequence.rrd", "text_logs.rrd", "recording_with_blueprint.rrd"]
    cases.append(("several", [os.path.join(FIXTURES, n) for n in several]))
    os.makedirs(work, exist_ok=True)
    concat = os.path.join(work, "concat.rrd")
    with open(concat, "wb") as f:
        for n in ["points3d.rrd", "static_only.rrd", "two_recordings_merged.rrd", "no_footer.rrd"]:
            f.write(open(os.path.join(FIXTURES, n), "rb").read())
    cases.append(("concat", [concat]))
    for label, inputs in cases:
        if only and only != label:
            continue
        case(ingest, rerun, os.path.join(work, label.replace(".", "_")), label, inputs)
    print(f"{len(failures)} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
