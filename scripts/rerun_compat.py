#!/usr/bin/env python3
"""Checks `ingest merge|filter|route|optimize` output against the real Rerun 0.41 tools.

Usage: rerun_compat.py INGEST RERUN WORKDIR [--only NAME]
       rerun_compat.py --ci [--release]     (the CI stage: finds or makes the venv, builds `ingest`, runs all)

--ci: uses the venv in $RERUN_VENV (or $BENCH_VENV, or /work/bench/venv, or .build/rerun-venv, created there with
pip when none has rerun-sdk 0.41.0), puts `datafusion==54.0.0` (rerun-sdk's `catalog` extra, which the dataframe
checks need) on the path from .build/rerun-compat-pydeps when the venv lacks it, builds `ingest` (debug, or
release with --release), and runs every check in a temporary folder. When no venv can be had (no python3 venv
module, no pip, no network) it prints why and exits 0: the stage is skipped, not failed.

For every well-formed fixture of Fixtures/rrd (alone), for several fixtures given together, and for a
byte-for-byte concatenation of several:
  - `rerun rrd verify` passes on our merge, filter, route and optimize outputs;
  - `rerun rrd compare --unordered` finds our merge / filter / route output equal to Rerun's own output of the
    same command (store by store: compare takes one recording per file, so multi-store outputs are split with
    the SDK first, and the store lists must be equal);
  - an output without chunks has no manifest, which `rrd verify` rejects on Rerun's own output too: then verify
    must fail on both alike and pass with `--check-footers false` on ours;
  - `ingest replay INPUTS --save OUT` (what was ingested) passes `rrd verify` and `rrd compare --unordered` with
    Rerun's merge of the inputs;
  - the SDK's chunk count and `rerun rrd stats`' chunk and row counts of our output equal our `--json` summary's;
  - for optimize, the SDK's dataframe view (`ChunkStore.reader`, every timeline of the schema and the static
    view, all entities) of every recording store of our output equals that of the input (Rerun's merge of the
    inputs stands for the input, since the SDK reader refuses byte-concatenated files), and the SDK's dataframe
    answers to the fixture's QUERIES.json questions on our optimized output equal the recorded answers.
The dataframe checks need `datafusion` (rerun-sdk's `catalog` extra) importable.
Prints one line per check, `FAIL ...` for failures, and exits 1 when any check failed.
"""

import json
import os
import subprocess
import sys

rc = None  # rerun.chunk, imported by main() (the --ci mode starts without the SDK on the path)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Fixtures", "rrd")

failures = []
checks = [0]


def check(ok, what):
    checks[0] += 1
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


def check_counts(rerun, out, summary, name):
    """The SDK's chunk count and `rerun rrd stats`' chunk and row counts of our output equal our summary's."""
    count = sdk_chunk_count(out)
    check(count == summary["chunks_written"], f"{name}: SDK chunk count {count} == {summary['chunks_written']}")
    p = run([rerun, "rrd", "stats", out])
    stats = dict(line.split(" = ", 1) for line in p.stdout.splitlines() if " = " in line)
    chunks, rows = stats.get("num_chunks", "0"), stats.get("num_rows", "0").split(" ")[0]
    check(p.returncode == 0 and int(chunks) == summary["chunks_written"] and int(rows) == summary["rows_written"],
          f"{name}: rrd stats {chunks} chunks, {rows} rows == {summary['chunks_written']}, {summary['rows_written']}")


def sdk_chunk_count(path):
    r = rc.RrdReader(path)
    return sum(len(r.store(store=s)) for s in r.recordings() + r.blueprints())


def comparable_type(t):
    """The same type with every temporal type as int64 (pyarrow cannot turn ns timestamps into Python values)."""
    import pyarrow as pa
    if pa.types.is_timestamp(t) or pa.types.is_duration(t) or pa.types.is_time(t) or pa.types.is_date64(t):
        return pa.int64()
    if pa.types.is_date32(t):
        return pa.int32()
    if pa.types.is_list(t):
        return pa.list_(t.value_field.with_type(comparable_type(t.value_type)))
    if pa.types.is_large_list(t):
        return pa.large_list(t.value_field.with_type(comparable_type(t.value_type)))
    if pa.types.is_fixed_size_list(t):
        return pa.list_(t.value_field.with_type(comparable_type(t.value_type)), t.list_size)
    if pa.types.is_struct(t):
        return pa.struct([t.field(i).with_type(comparable_type(t.field(i).type)) for i in range(t.num_fields)])
    return t


def frame_rows(store, index):
    table = store.reader(index).to_arrow_table()
    names = sorted(table.column_names)
    columns = []
    for n in names:
        column = table.column(n)
        target = comparable_type(column.type)
        columns.append((column.cast(target) if target != column.type else column).to_pylist())
    rows = [tuple(repr(c[i]) for c in columns) for i in range(table.num_rows)]
    return names, sorted(rows)


def timelines_of(store):
    return sorted(c.name for c in store.schema().index_columns())


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


def render(v):
    """A cell as QUERIES.json writes values (to_pylist, bytes as 0x-hex, non-finite floats as strings)."""
    import math
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else repr(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return "0x" + bytes(v).hex()
    if isinstance(v, (list, tuple)):
        return [render(x) for x in v]
    if isinstance(v, dict):
        return {str(k): render(x) for k, x in v.items()}
    if hasattr(v, "item"):
        return render(v.item())
    return str(v)


def sdk_answer(store, q):
    """The SDK's dataframe answer to one QUERIES.json question: (found, value) or, for a range, [(time, value)]."""
    import pyarrow as pa
    E, C, tl = q["entity"], q["component"], q["timeline"]
    kw = dict(contents=E, include_semantically_empty_columns=True, include_tombstone_columns=True)

    def column(table):
        for i, fld in enumerate(table.schema):
            md = fld.metadata or {}
            if md.get(b"rerun:entity_path", b"").decode() == E and md.get(b"rerun:component", b"").decode() == C:
                return i
        return None

    if store is None:
        return [] if "range" in q else (False, None)
    if q.get("static"):
        table = store.reader(None, **kw).to_arrow_table()
        i = column(table)
        values = table.column(i).to_pylist() if i is not None else []
        v = render(values[-1]) if values else None
        return (v is not None, v)
    if tl not in timelines_of(store):
        return [] if "range" in q else (False, None)
    if "range" in q:
        from datafusion import col, lit
        t0, t1 = q["range"]
        index = col(tl).cast(pa.int64())
        table = store.reader(tl, **kw).filter((index >= lit(t0)) & (index <= lit(t1))).to_arrow_table()
        i = column(table)
        if i is None:
            return []
        times = table.column(tl).cast(pa.int64()).to_pylist()
        return sorted(((t, render(v)) for t, v in zip(times, table.column(i).to_pylist()) if v is not None),
                      key=lambda x: x[0])
    table = store.reader(tl, fill_latest_at=True, using_index_values=[q["at"]], **kw).to_arrow_table()
    i = column(table)
    v = render(table.column(i).to_pylist()[0]) if i is not None and table.num_rows else None
    return (v is not None, v)


def check_queries(path, fixture, name):
    """Every QUERIES.json question on `fixture`, asked of the SDK on our output at `path`."""
    questions = [q for q in json.load(open(os.path.join(FIXTURES, "QUERIES.json"))) if q["file"] == fixture]
    if not questions:
        return
    r = rc.RrdReader(path)
    stores = {key(s): r.stream(store=s).collect() for s in r.recordings() + r.blueprints()}
    wrong = []
    for q in questions:
        sid = (q["store"]["kind"], q["store"]["application_id"], q["store"]["recording_id"])
        got = sdk_answer(stores.get(sid), q)
        e = q["expected"]
        want = [(x["time"], x["value"]) for x in e] if "range" in q else (e["found"], e["value"])
        if got != want:
            wrong.append(f"{q['id']}: {got!r} != {want!r}"[:300])
    check(not wrong, f"{name}: SDK answers to {len(questions)} QUERIES.json questions unchanged" + (
        "" if not wrong else f" :: {len(wrong)} differ, first {wrong[0]}"))


def ours(ingest, command, inputs, out, extra):
    p = run([ingest, command, *inputs, "-o", out, "--json", "-q", *extra])
    if p.returncode != 0:
        return None, p.stderr.strip()
    return json.loads(p.stdout), ""


def theirs(rerun, command, inputs, out, extra):
    p = run([rerun, "rrd", command, *inputs, "-o", out, *extra])
    return p.returncode == 0, p.stderr.strip()[-400:]


def ingest_stores(ingest, path):
    """The stores of a file as our sequential reader sees them (works without a footer manifest)."""
    p = run([ingest, "stats", "--json", path])
    return sorted((s["kind"], s["application_id"], s["recording_id"]) for s in json.loads(p.stdout)["stores"])


def compare_outputs(ingest, rerun, a, b, work, label):
    ka, kb = ingest_stores(ingest, a), ingest_stores(ingest, b)
    check(ka == kb, f"{label}: same stores {ka} vs {kb}")
    if len(ka) == 1 and ka == kb and ka[0][0] == "recording":
        # One recording: compare the files themselves. (Rerun's own `route` of a footer-less input ends with an
        # empty footer, so the SDK's random-access reader sees no store in it and could not split it.) Blueprint
        # stores are split (the SDK writes their chunks as a recording), since `rrd compare` reads recordings only.
        pairs = {ka[0]: (a, b)}
    else:
        sa, sb = split(a, work + "/a"), split(b, work + "/b")
        pairs = {k: (sa[k], sb[k]) for k in set(sa) & set(sb)}
    for k in sorted(pairs):
        p = run([rerun, "rrd", "compare", "--unordered", *pairs[k]])
        check(p.returncode == 0, f"{label}: rrd compare --unordered {k[0]}:{k[2]}" + (
            "" if p.returncode == 0 else " :: " + (p.stdout + p.stderr).strip()[-600:]))


def verify(rerun, out, summary, reference, name):
    """`rerun rrd verify` on our output. Without chunks there is no manifest, and Rerun's verify fails on any such file,
    its own output of the same command included (rrd-format.md §13): then check that it fails on Rerun's output too
    and that ours passes with `--check-footers false`."""
    v = run([rerun, "rrd", "verify", out])
    if summary["chunks_written"] > 0:
        check(v.returncode == 0, f"{name}: rrd verify" + ("" if v.returncode == 0 else " :: " + v.stderr[-600:]))
        return
    if reference is not None:
        r = run([rerun, "rrd", "verify", reference])
        check(r.returncode == v.returncode, f"{name}: no chunks: rrd verify exits {v.returncode} as on Rerun's own output ({r.returncode})")
    v = run([rerun, "rrd", "verify", "--check-footers", "false", out])
    check(v.returncode == 0, f"{name}: no chunks: rrd verify --check-footers false" + ("" if v.returncode == 0 else " :: " + v.stderr[-600:]))


def case(ingest, rerun, work, label, inputs, fixture=None):
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
        ok, err = theirs(rerun, command, inputs, ref, their_flags)
        check(ok, f"{name}: rerun rrd {command} exit 0 {err}")
        verify(rerun, out, summary, ref if ok else None, name)
        if ok:
            compare_outputs(ingest, rerun, out, ref, f"{work}/split{n}", name)
        check_counts(rerun, out, summary, name)

    name = f"{label} replay --save"
    out = f"{work}/saved.rrd"
    p = run([ingest, "replay", "-q", "--reader-threads", "1", *inputs, "--save", out])
    check(p.returncode == 0, f"{name}: ingest exit 0 {p.stderr.strip()[-400:]}")
    if p.returncode == 0:
        totals = json.loads(run([ingest, "stats", "--json", out]).stdout)["totals"]
        summary = {"chunks_written": totals["chunks"], "rows_written": totals["rows"]}
        ref = f"{work}/merge0.ref.rrd"  # Rerun's merge of the same inputs: what a replay ingests
        verify(rerun, out, summary, ref if os.path.exists(ref) else None, name)
        check_counts(rerun, out, summary, name)
        if os.path.exists(ref):
            compare_outputs(ingest, rerun, out, ref, f"{work}/split-saved", name)

    name = f"{label} optimize"
    out, ref = f"{work}/optimize.rrd", f"{work}/optimize.input.rrd"
    summary, err = ours(ingest, "optimize", inputs, out, [])
    check(summary is not None, f"{name}: ingest exit 0 {err}")
    if summary is None:
        return
    check_counts(rerun, out, summary, name)
    ok, err = theirs(rerun, "merge", inputs, ref, [])
    check(ok, f"{name}: rerun rrd merge of the input {err}")
    verify(rerun, out, summary, ref if ok else None, name)
    if fixture is not None:
        check_queries(out, fixture, name)
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


SDK_VERSION = "0.41.0"
DATAFUSION = "datafusion==54.0.0"


def has_sdk(python, extra_path=None):
    env = dict(os.environ)
    if extra_path:
        env["PYTHONPATH"] = extra_path
    code = f"import rerun, sys; sys.exit(rerun.__version__ != {SDK_VERSION!r})"
    try:
        return subprocess.run([python, "-c", code], env=env, capture_output=True).returncode == 0
    except OSError:
        return False


def skip(why):
    print(f"rerun_compat: SKIPPED: {why}", flush=True)
    sys.exit(0)


def ci(release):
    """Finds or makes a venv with the SDK, builds `ingest`, and re-runs this script under that venv."""
    import shutil
    import tempfile
    import time
    t0 = time.monotonic()
    build = os.path.join(ROOT, ".build")
    candidates = [os.environ.get("RERUN_VENV"), os.environ.get("BENCH_VENV"), "/work/bench/venv",
                  os.path.join(build, "rerun-venv")]
    venv = next((v for v in candidates if v and has_sdk(os.path.join(v, "bin", "python"))), None)
    if venv is None:
        venv = os.path.join(build, "rerun-venv")
        print(f"rerun_compat: creating {venv} with rerun-sdk=={SDK_VERSION}", flush=True)
        if run([sys.executable, "-m", "venv", venv]).returncode != 0:
            skip("cannot create a venv (python3 -m venv failed)")
        p = run([os.path.join(venv, "bin", "pip"), "install", "--quiet", f"rerun-sdk=={SDK_VERSION}", DATAFUSION])
        if p.returncode != 0 or not has_sdk(os.path.join(venv, "bin", "python")):
            skip("cannot install rerun-sdk with pip: " + p.stderr.strip()[-300:])
    python = os.path.join(venv, "bin", "python")
    rerun = os.path.join(venv, "bin", "rerun")
    if not os.access(rerun, os.X_OK):
        skip(f"{venv} has no `rerun` CLI")
    pydeps = os.path.join(build, "rerun-compat-pydeps")
    probe = [python, "-c", "import datafusion"]
    env = dict(os.environ, PYTHONPATH=pydeps)
    if subprocess.run(probe, env=env, capture_output=True).returncode != 0:
        # Into a folder of our own, without its dependencies: the venv's pyarrow stays the one in use.
        p = run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--target", pydeps, DATAFUSION])
        if p.returncode != 0 or subprocess.run(probe, env=env, capture_output=True).returncode != 0:
            skip(f"cannot install {DATAFUSION} (the SDK's dataframe API needs it): " + p.stderr.strip()[-300:])
    configuration = "release" if release else "debug"
    print(f"rerun_compat: venv {venv}; building ingest ({configuration})", flush=True)
    b = subprocess.run(["swift", "build", "-c", configuration, "--product", "ingest"], cwd=ROOT)
    if b.returncode != 0:
        print("rerun_compat: FAIL: swift build failed", flush=True)
        sys.exit(1)
    ingest = os.path.join(build, configuration, "ingest")
    work = tempfile.mkdtemp(prefix="rerun-compat-")
    try:
        r = subprocess.run([python, os.path.abspath(__file__), ingest, rerun, work], env=env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"rerun_compat: {time.monotonic() - t0:.0f} s", flush=True)
    sys.exit(r.returncode)


def main():
    global rc
    if "--ci" in sys.argv:
        ci("--release" in sys.argv)
    import rerun.chunk
    rc = rerun.chunk
    ingest, rerun, work = sys.argv[1:4]
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    expected = json.load(open(os.path.join(FIXTURES, "EXPECTED.json")))
    valid = [f["file"] for f in expected["files"] if f["expect_valid"]]
    cases = [(name, [os.path.join(FIXTURES, name)], name) for name in valid]
    several = ["points3d.rrd", "scalars_sequence.rrd", "text_logs.rrd", "recording_with_blueprint.rrd"]
    cases.append(("several", [os.path.join(FIXTURES, n) for n in several], None))
    os.makedirs(work, exist_ok=True)
    concat = os.path.join(work, "concat.rrd")
    with open(concat, "wb") as f:
        for n in ["points3d.rrd", "static_only.rrd", "two_recordings_merged.rrd", "no_footer.rrd"]:
            f.write(open(os.path.join(FIXTURES, n), "rb").read())
    cases.append(("concat", [concat], None))
    for label, inputs, fixture in cases:
        if only and only != label:
            continue
        case(ingest, rerun, os.path.join(work, label.replace(".", "_")), label, inputs, fixture)
    print(f"{checks[0]} checks, {len(failures)} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
