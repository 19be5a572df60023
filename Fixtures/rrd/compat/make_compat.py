#!/usr/bin/env python3
"""
make_compat.py - the compatibility corpus: small recordings written by old rerun-sdk versions,
with ground truth from each version's own tools and from rerun-sdk 0.41.0's migrating reader.

Three modes (each needs a python that has the named rerun-sdk installed):

    # 1. with an old SDK's python: write <out>/<version>/*.rrd|*.rbl, <out>/<version>/cli/,
    #    <out>/<version>/EXPECTED.json (ground truth from that version's CLI and in-process reader)
    /work/compat/venvs/0.23.4/bin/python make_compat.py generate --out Fixtures/rrd/compat

    # 2. with rerun-sdk 0.41.0's python: run the 0.41 CLI on every old file (outputs under
    #    <out>/<version>/cli/rerun-0.41.0/) and write <out>/MIGRATED.json (0.41's migrated view)
    /work/compat/venvs/0.41.0/bin/python make_compat.py migrated --out Fixtures/rrd/compat

    # 3. both, for every venv in a folder (venv folder name = SDK version)
    python3 make_compat.py all --venvs /work/compat/venvs --out Fixtures/rrd/compat

Everything is deterministic except what the SDK mints itself (row ids, chunk ids, blueprint store
ids, log_time values, chunk order within a flush): regenerate EXPECTED.json with the files, never
one without the other. The byte-level walk below is our own (protobuf wire format + pyarrow for the
Arrow IPC payload); it records what the bytes hold, the tools' outputs are recorded beside it and
cross-checked against it.
"""

from __future__ import annotations

import os

# The batcher flushes on a timer (default 8 ms for files in some versions): make chunk boundaries
# depend only on explicit flushes and disconnects. Must be set before rerun is imported.
os.environ.setdefault("RERUN_FLUSH_TICK_SECS", "3600")
os.environ.setdefault("RERUN_FLUSH_NUM_BYTES", str(64 * 1024 * 1024))

import argparse
import hashlib
import inspect
import json
import math
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import uuid
import zlib
from pathlib import Path

APP_ID = "rrd_compat"
SEED = 20240601

# ======================================================================================
# Byte level: framing, protobuf, Arrow IPC (our own walk; pyarrow only for the IPC payload)

KINDS = {0: "End", 1: "SetStoreInfo", 2: "ArrowMsg", 3: "BlueprintActivationCommand"}
STORE_KINDS = {0: "unspecified", 1: "recording", 2: "blueprint"}
PB_COMPRESSION = {0: "unspecified", 1: "none", 2: "lz4"}
SOURCE_KINDS = {0: "unspecified", 1: "c_sdk", 2: "python_sdk", 3: "rust_sdk", 4: "file", 5: "viewer", 6: "other"}
WIRE_TYPES = {0: "varint", 1: "fixed64", 2: "bytes", 5: "fixed32"}


def varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def proto(buf):
    """[(field, wire_type, value)] in wire order; bytes fields as bytes."""
    out, i = [], 0
    while i < len(buf):
        key, i = varint(buf, i)
        field, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(buf, i)
        elif wt == 1:
            v = int.from_bytes(buf[i:i + 8], "little")
            i += 8
        elif wt == 5:
            v = int.from_bytes(buf[i:i + 4], "little")
            i += 4
        elif wt == 2:
            n, i = varint(buf, i)
            v = bytes(buf[i:i + n])
            i += n
        else:
            raise ValueError(f"wire type {wt}")
        out.append((field, wt, v))
    return out


def last(fields, no, default=None):
    v = default
    for f, _, x in fields:
        if f == no:
            v = x
    return v


def has(fields, no):
    return any(f == no for f, _, _ in fields)


def field_list(fields):
    """Which protobuf fields are on the wire, in order, with their wire types (for the findings)."""
    return [f"{f}:{WIRE_TYPES.get(wt, wt)}" for f, wt, _ in fields]


def tuid(buf):
    f = proto(buf)
    return f"{last(f, 1, 0):016X}{last(f, 2, 0):016x}"


def store_id(buf):
    f = proto(buf)
    app = last(f, 3)
    return {
        "kind": STORE_KINDS.get(last(f, 1, 0), last(f, 1, 0)),
        "recording_id": last(f, 2, b"").decode(),
        "application_id": None if app is None else last(proto(app), 1, b"").decode(),
        "wire_fields": field_list(f),
    }


def version_bits(bits):
    b = (bits & 0xFFFFFFFF).to_bytes(4, "little")
    s = f"{b[0]}.{b[1]}.{b[2]}"
    if b[3]:
        s += {0x40: "-rc.", 0x80: "-alpha.", 0xC0: "-alpha+dev."}.get(b[3] & 0xC0, "-meta.") + str(b[3] & 0x3F)
    return s


def decode_set_store_info(body):
    f = proto(body)
    out = {"wire_fields": field_list(f)}
    if has(f, 1):
        out["row_id"] = "row_" + tuid(last(f, 1))
    info = proto(last(f, 2, b""))
    out["info_wire_fields"] = field_list(info)
    if has(info, 1):
        out["legacy_application_id"] = last(proto(last(info, 1)), 1, b"").decode()
    if has(info, 2):
        out["store_id"] = store_id(last(info, 2))
    if has(info, 5):
        src = proto(last(info, 5))
        kind = last(src, 1, 0)
        s = {"kind": SOURCE_KINDS.get(kind, kind)}
        extra = last(src, 2)
        payload = last(proto(extra), 1, b"") if extra is not None else b""
        if kind == 2 and payload:
            p = proto(payload)
            s["python_version"] = f"{last(p, 1, 0)}.{last(p, 2, 0)}.{last(p, 3, 0)}{last(p, 4, b'').decode()}"
        elif payload:
            s["extra_hex"] = payload.hex()
        out["store_source"] = s
    if has(info, 6):
        out["store_version"] = version_bits(last(proto(last(info, 6)), 1, 0))
    return out


def decode_activation(body):
    f = proto(body)
    return {"wire_fields": field_list(f), "blueprint_id": store_id(last(f, 1, b"")),
            "make_active": bool(last(f, 2, 0)), "make_default": bool(last(f, 3, 0))}


def lz4_block(payload, size):
    import pyarrow as pa
    return pa.Codec("lz4_raw").decompress(payload, decompressed_size=size).to_pybytes()


def walk_file(data):
    """Streams and messages of a whole file. Problems go to 'errors'; never raises on bad input."""
    streams, errors = [], []
    pos = 0
    while pos < len(data):
        if data[pos:pos + 4] != b"RRF2" or len(data) - pos < 12:
            errors.append({"offset": pos, "error": f"expected a stream header, got {data[pos:pos + 4]!r}"})
            break
        start = pos
        st = {"offset": pos, "header_hex": data[pos:pos + 12].hex(" "),
              "version_bytes": list(data[pos + 4:pos + 8]),
              "version": version_bits(int.from_bytes(data[pos + 4:pos + 8], "little")),
              "header_compression_byte": data[pos + 8], "header_serializer_byte": data[pos + 9],
              "header_reserved": list(data[pos + 10:pos + 12]),
              "messages": [], "end_message": None, "stream_footer": None}
        streams.append(st)
        pos += 12
        ended_by = "eof"
        while pos < len(data):
            if data[pos:pos + 4] == b"RRF2":
                ended_by = "next stream header"
                break
            if len(data) - pos < 16:
                errors.append({"offset": pos, "error": "truncated message header"})
                pos = len(data)
                break
            kind, n = struct.unpack_from("<QQ", data, pos)
            if kind not in KINDS or pos + 16 + n > len(data):
                errors.append({"offset": pos, "error": f"bad message header kind={kind} len={n}"})
                pos = len(data)
                break
            body = data[pos + 16:pos + 16 + n]
            m = {"offset": pos, "kind": KINDS[kind], "len": n}
            st["messages"].append(m)
            pos += 16 + n
            if kind == 1:
                m.update(decode_set_store_info(body))
            elif kind == 3:
                m.update(decode_activation(body))
            elif kind == 2:
                f = proto(body)
                m["wire_fields"] = field_list(f)
                m["store_id"] = store_id(last(f, 1, b""))
                m["compression"] = PB_COMPRESSION.get(last(f, 2, 0), last(f, 2, 0))
                m["uncompressed_size"] = last(f, 3, 0)
                m["encoding"] = last(f, 4, 0)
                payload = last(f, 5, b"")
                m["payload_len"] = len(payload)
                m["chunk_id_field"] = ("chunk_" + tuid(last(f, 6))) if has(f, 6) else None
                m["is_static_field"] = bool(last(f, 7)) if has(f, 7) else None
                try:
                    m["_ipc"] = lz4_block(payload, m["uncompressed_size"]) if m["compression"] == "lz4" else payload
                except Exception as e:  # noqa: BLE001
                    errors.append({"offset": m["offset"], "error": f"lz4: {e}"})
            elif kind == 0:
                st["end_message"] = {"offset": m["offset"], "payload_len": n}
                tail = data[pos:pos + 32]
                if len(tail) == 32 and tail[20:28] == b"RRF2FOOT":
                    fs, fl, crc = struct.unpack_from("<QQI", tail, 0)
                    st["stream_footer"] = {"rrd_footer_start": fs, "rrd_footer_len": fl, "crc": crc,
                                           "num_entries": struct.unpack_from("<I", tail, 28)[0],
                                           "points_at_end_payload": start + fs == m["offset"] + 16 and fl == n}
                    pos += 32
                    ended_by = "End + stream footer"
                else:
                    ended_by = "End without stream footer"
                break
        st["ended_by"] = ended_by
        st["footer_status"] = "ok" if st["stream_footer"] else "none"
        st["message_counts"] = {}
        for m in st["messages"]:
            st["message_counts"][m["kind"]] = st["message_counts"].get(m["kind"], 0) + 1
        st["end_offset"] = pos
    return streams, errors


ROW_KINDS = ("control", "row_id")
INDEX_KINDS = ("index", "time")


def md_get(md, key):
    """Column/schema metadata under either spelling (`rerun:x` since 0.24, `rerun.x` in 0.23)."""
    return md.get("rerun:" + key, md.get("rerun." + key))


def column_kind(name, md):
    k = md_get(md, "kind")
    if k in ROW_KINDS or name == "rerun.controls.RowId":
        return "control"
    if k in INDEX_KINDS:
        return "index"
    return "data"


def to_jsonable(v):
    if isinstance(v, float):
        return v if math.isfinite(v) else repr(v)
    if isinstance(v, bytes):
        return "0x" + v[:32].hex() + ("..." if len(v) > 32 else "")
    if isinstance(v, (list, tuple)):
        items = [to_jsonable(x) for x in v[:3]]
        if len(v) > 3:
            items.append(f"... ({len(v)} items)")
        return items
    if isinstance(v, dict):
        return {str(k): to_jsonable(x) for k, x in v.items()}
    if isinstance(v, str) and len(v) > 80:
        return v[:80] + "..."
    if v is None or isinstance(v, (bool, int, str)):
        return v
    return str(v)


def column_values(arr):
    import pyarrow as pa
    t = arr.type
    if pa.types.is_timestamp(t) or pa.types.is_duration(t):
        return arr.cast(pa.int64()).to_pylist()
    if pa.types.is_fixed_size_binary(t) and t.byte_width == 16:
        return [None if b is None else b[:8].hex().upper() + b[8:].hex() for b in arr.to_pylist()]
    try:
        return arr.to_pylist()
    except Exception as e:  # noqa: BLE001 (e.g. null-typed lists in very old indicator columns)
        return f"<not convertible: {e}>"


def decode_metadata(md):
    return {} if not md else {k.decode(): v.decode() for k, v in md.items()}


def describe_chunk(m):
    """Everything a reader needs to agree on for one ArrowMsg."""
    import pyarrow as pa
    reader = pa.ipc.open_stream(m["_ipc"])
    schema = reader.schema
    table = reader.read_all()
    smd = decode_metadata(schema.metadata)
    cols, timelines = [], {}
    for i, f in enumerate(schema):
        md = decode_metadata(f.metadata)
        kind = column_kind(f.name, md)
        col = table.column(i).combine_chunks()
        vals = column_values(col)
        entry = {"name": f.name, "kind": kind, "arrow_type": str(f.type), "nullable": f.nullable,
                 "metadata": dict(sorted(md.items())), "null_count": col.null_count}
        if kind == "index":
            present = [v for v in vals if v is not None]
            timelines[md_get(md, "index_name") or f.name] = {
                "arrow_type": str(f.type), "min": min(present) if present else None,
                "max": max(present) if present else None, "sorted": md_get(md, "is_sorted") == "true"}
        entry["values"] = to_jsonable(vals)
        cols.append(entry)
    cid_md = md_get(smd, "id")
    cid = m["chunk_id_field"] or cid_md
    static = m["is_static_field"] if m["is_static_field"] is not None else not timelines
    sid = m["store_id"]
    return {
        "store": f"{sid['kind']}:{sid['recording_id']}",
        "chunk_id": cid,
        "chunk_id_source": "ArrowMsg.chunk_id (field 6)" if m["chunk_id_field"] else "schema metadata " + ("rerun:id" if "rerun:id" in smd else "rerun.id"),
        "entity_path": md_get(smd, "entity_path"),
        "num_rows": table.num_rows,
        "is_static": static,
        "is_static_source": "ArrowMsg.is_static (field 7)" if m["is_static_field"] is not None else "no index column",
        "timelines": timelines,
        "message_offset": m["offset"],
        "store_id_wire_fields": sid["wire_fields"],
        "protobuf_compression": m["compression"],
        "payload_len": m["payload_len"],
        "ipc_len": m["uncompressed_size"],
        "schema_metadata": dict(sorted(smd.items())),
        "columns": cols,
    }


def byte_truth(path):
    """Streams, stores, activations and chunks as the bytes hold them, with legacy store ids resolved."""
    data = Path(path).read_bytes()
    streams, errors = walk_file(data)
    app_of = {}  # (kind, recording_id) -> application id, learned from SetStoreInfo
    stores, chunks, activations = {}, [], []

    def store_entry(sid):
        key = f"{sid['kind']}:{sid['recording_id']}"
        if key not in stores:
            stores[key] = {"kind": sid["kind"], "application_id": None, "application_id_source": None,
                           "recording_id": sid["recording_id"], "set_store_info_messages": 0,
                           "store_source": None, "store_version": None, "num_chunks": 0, "num_rows": 0,
                           "num_static_chunks": 0, "activations": 0, "entity_paths": set(), "timelines": {},
                           "components": {}}
        return stores[key]

    for st in streams:
        for m in st["messages"]:
            if m["kind"] == "SetStoreInfo" and "store_id" in m:
                sid = m["store_id"]
                app = sid["application_id"] if sid["application_id"] is not None else m.get("legacy_application_id")
                app_of[(sid["kind"], sid["recording_id"])] = app
                e = store_entry(sid)
                e["set_store_info_messages"] += 1
                e["application_id"] = app
                e["application_id_source"] = "StoreId.application_id" if sid["application_id"] is not None else "StoreInfo.application_id (field 1; legacy StoreId has none)"
                e["store_source"] = m.get("store_source")
                e["store_version"] = m.get("store_version")
            elif m["kind"] == "BlueprintActivationCommand":
                sid = m["blueprint_id"]
                app = sid["application_id"] if sid["application_id"] is not None else app_of.get((sid["kind"], sid["recording_id"]))
                activations.append({"offset": m["offset"], "blueprint_id": {"kind": sid["kind"], "application_id": app,
                                    "recording_id": sid["recording_id"]},
                                    "application_id_in_message": sid["application_id"] is not None,
                                    "wire_fields": m["wire_fields"], "blueprint_id_wire_fields": sid["wire_fields"],
                                    "make_active": m["make_active"], "make_default": m["make_default"]})
                store_entry(sid)["activations"] += 1
            elif m["kind"] == "ArrowMsg" and "_ipc" in m:
                c = describe_chunk(m)
                chunks.append(c)
                e = store_entry(m["store_id"])
                e["num_chunks"] += 1
                e["num_rows"] += c["num_rows"]
                e["num_static_chunks"] += bool(c["is_static"])
                e["entity_paths"].add(c["entity_path"])
                for tl, info in c["timelines"].items():
                    e["timelines"][tl] = info["arrow_type"]
                for col in c["columns"]:
                    if col["kind"] == "data":
                        e["components"][col["name"]] = col["arrow_type"]
    for e in stores.values():
        e["entity_paths"] = sorted(e["entity_paths"])
        e["timelines"] = dict(sorted(e["timelines"].items()))
        e["components"] = dict(sorted(e["components"].items()))
    for st in streams:
        for m in st["messages"]:
            m.pop("_ipc", None)
    framing = []
    for st in streams:
        msgs = []
        for m in st["messages"]:
            x = {"offset": m["offset"], "kind": m["kind"], "len": m["len"], "wire_fields": m.get("wire_fields")}
            if m["kind"] == "ArrowMsg":
                x.update({"compression": m["compression"], "payload_len": m["payload_len"],
                          "uncompressed_size": m["uncompressed_size"], "chunk_id_field": m["chunk_id_field"],
                          "is_static_field": m["is_static_field"]})
            elif m["kind"] == "SetStoreInfo":
                x.update({k: m.get(k) for k in ("info_wire_fields", "row_id", "legacy_application_id")})
                x["store_id"] = m.get("store_id")
            msgs.append(x)
        framing.append({k: st[k] for k in ("offset", "header_hex", "version", "version_bytes", "header_compression_byte",
                                           "header_serializer_byte", "header_reserved", "message_counts", "end_message",
                                           "ended_by", "stream_footer", "footer_status", "end_offset")} | {"messages": msgs})
    return {
        "size_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
        "streams": framing, "stores": list(stores.values()), "blueprint_activations": activations,
        "chunks": chunks, "byte_walk_errors": errors,
        "totals": {"streams": len(streams), "stores": len(stores), "chunks": len(chunks),
                   "rows": sum(c["num_rows"] for c in chunks),
                   "static_chunks": sum(bool(c["is_static"]) for c in chunks),
                   "messages": {k: sum(s["message_counts"].get(k, 0) for s in streams) for k in KINDS.values()}},
    }


# ======================================================================================
# Recordings (run with the old SDK). Every case adapts to the API the installed version has.

def sdk():
    import rerun as rr
    return rr


def sdk_version():
    return sdk().__version__


def vtuple(v=None):
    return tuple(int(x) for x in re.findall(r"\d+", v or sdk_version())[:3])


def rng(name):
    import numpy as np
    return np.random.default_rng([SEED, zlib.crc32(name.encode())])


class Log:
    """Collects which API spellings a case used (they differ by version)."""

    def __init__(self):
        self.used = []

    def note(self, s):
        if s not in self.used:
            self.used.append(s)


def new_rec(name, api, **kw):
    rr = sdk()
    params = inspect.signature(rr.RecordingStream.__init__).parameters
    args = {"recording_id": f"compat-{name}"}
    if "batcher_config" in params and hasattr(rr, "ChunkBatcherConfig"):
        from datetime import timedelta
        args["batcher_config"] = rr.ChunkBatcherConfig(flush_tick=timedelta(hours=1))
        api.note("RecordingStream(batcher_config=ChunkBatcherConfig(flush_tick=1h))")
    else:
        api.note("RecordingStream (batcher via RERUN_FLUSH_TICK_SECS=3600)")
    args.update(kw)
    return rr.RecordingStream(APP_ID, **args)


def set_seq(rec, api, name, i):
    if hasattr(rec, "set_time"):
        try:
            rec.set_time(name, sequence=i)
            api.note("set_time(sequence=)")
            return
        except TypeError:  # an SDK whose set_time has no keyword form
            pass
    rec.set_time_sequence(name, i)
    api.note("set_time_sequence")


def set_ts(rec, api, name, ns):
    import numpy as np
    try:
        rec.set_time(name, timestamp=np.datetime64(ns, "ns"))
        api.note("set_time(timestamp=)")
    except TypeError:
        rec.set_time_nanos(name, ns)
        api.note("set_time_nanos")


def set_dur(rec, api, name, ns):
    import numpy as np
    try:
        rec.set_time(name, duration=np.timedelta64(ns, "ns"))
        api.note("set_time(duration=)")
    except TypeError:
        rec.set_time_seconds(name, ns / 1e9)
        api.note("set_time_seconds")


def scalar(api, v):
    rr = sdk()
    if hasattr(rr, "Scalars"):
        api.note("rr.Scalars")
        return rr.Scalars(v)
    api.note("rr.Scalar")
    return rr.Scalar(v)


def case_scalars(path, api):
    rr = sdk()
    r = rng("scalars")
    phase = float(r.uniform(0, 6.28))
    rec = new_rec("scalars", api)
    rec.save(str(path))
    for i in range(30):
        set_seq(rec, api, "frame", i)
        rec.log("plot/sin", scalar(api, math.sin(i / 5 + phase)))
        rec.log("plot/cos", scalar(api, math.cos(i / 5 + phase)))
        if hasattr(rr, "Scalar") and i % 3 == 0:
            # the deprecated single-scalar archetype, where the SDK still has it
            rec.log("plot/legacy", rr.Scalar(float(i)))
            api.note("rr.Scalar (deprecated archetype) on /plot/legacy")
    if hasattr(rr, "SeriesLines"):
        rec.log("plot/sin", rr.SeriesLines(colors=[255, 0, 0], names="sin"), static=True)
        api.note("rr.SeriesLines (static)")
    elif hasattr(rr, "SeriesLine"):
        rec.log("plot/sin", rr.SeriesLine(color=[255, 0, 0], name="sin"), static=True)
        api.note("rr.SeriesLine (static)")
    rec.disconnect()


def case_points3d(path, api):
    rr = sdk()
    import numpy as np
    r = rng("points3d")
    rec = new_rec("points3d", api)
    rec.save(str(path))
    t0 = 1_700_000_000_000_000_000
    for i in range(4):
        set_seq(rec, api, "frame", i)
        set_ts(rec, api, "sim_time", t0 + i * 100_000_000)
        n = 8
        rec.log("world/points", rr.Points3D(r.uniform(-1, 1, (n, 3)).astype(np.float32),
                                            colors=r.integers(0, 256, (n, 3), dtype=np.uint8),
                                            radii=r.uniform(0.01, 0.1, n).astype(np.float32)))
    set_seq(rec, api, "frame", 4)
    set_ts(rec, api, "sim_time", t0 + 400_000_000)
    rec.log("world/points", rr.Points3D([[0, 0, 0], [1, 1, 1]], labels=["origin", "one"]))
    set_dur(rec, api, "elapsed", 2_500_000_000)
    rec.log("world/boxes", rr.Boxes3D(half_sizes=[[0.5, 0.5, 0.5]], centers=[[0, 0, 1]]))
    api.note("rr.Boxes3D")
    rec.disconnect()


def case_text_logs(path, api):
    rr = sdk()
    rec = new_rec("text_logs", api)
    rec.save(str(path))
    levels = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "CRITICAL"]
    for i in range(8):
        set_seq(rec, api, "step", i * 10)
        rec.log("logs/app", rr.TextLog(f"message {i} \u00e9\u2713", level=levels[i % 6]))
    set_seq(rec, api, "step", 100)
    rec.log("logs/app", rr.TextLog("colored", level="INFO", color=[255, 128, 0]))
    rec.log("docs/readme", rr.TextDocument("# Compat\n\n*markdown*", media_type=rr.MediaType.MARKDOWN), static=True)
    rec.disconnect()


def case_static(path, api):
    rr = sdk()
    r = rng("static")
    rec = new_rec("static", api)
    rec.save(str(path))
    rec.log("/", rr.ViewCoordinates.RIGHT_HAND_Z_UP, static=True)
    for _ in range(2):
        rec.log("world/landmarks", rr.Points3D(r.uniform(0, 10, (4, 3)), labels=[f"L{i}" for i in range(4)],
                                               class_ids=[1, 2, 1, 2]), static=True)
    rec.log("world", rr.AnnotationContext([(1, "tree", (0, 200, 0)), (2, "rock", (128, 128, 128))]), static=True)
    rec.disconnect()


def case_transforms(path, api):
    rr = sdk()
    import numpy as np
    r = rng("transforms")
    rec = new_rec("transforms", api)
    rec.save(str(path))
    for i in range(6):
        set_seq(rec, api, "frame", i)
        q = r.normal(size=4)
        q = (q / np.linalg.norm(q)).astype(np.float32)
        rec.log("world/robot", rr.Transform3D(translation=[i * 0.1, 0.0, 0.5], rotation=rr.Quaternion(xyzw=q)))
        rec.log("world/robot/arm", rr.Transform3D(rotation=rr.RotationAxisAngle(axis=[0, 0, 1], radians=i * 0.2),
                                                  scale=[1.0, 1.0, 2.0]))
    rec.log("world/camera", rr.Transform3D(mat3x3=np.eye(3, dtype=np.float32), translation=[0, 0, 3],
                                           relation=rr.TransformRelation.ChildFromParent), static=True)
    rec.log("world/camera", rr.Pinhole(focal_length=100.0, width=64, height=48), static=True)
    api.note("rr.Pinhole (static)")
    rec.disconnect()


def case_image(path, api):
    rr = sdk()
    import numpy as np
    r = rng("image")
    rec = new_rec("image", api)
    rec.save(str(path))
    for i in range(2):
        set_seq(rec, api, "frame", i)
        rec.log("camera/rgb", rr.Image(r.integers(0, 256, (6, 8, 3), dtype=np.uint8)))
    set_seq(rec, api, "frame", 0)
    rec.log("camera/depth", rr.DepthImage(r.uniform(0, 5, (4, 4)).astype(np.float32), meter=1.0))
    api.note("rr.DepthImage")
    rec.disconnect()


def case_properties(path, api):
    rr = sdk()
    rec = new_rec("properties", api)
    rec.save(str(path))
    rec.send_recording_name("Compat recording")
    rec.send_recording_start_time_nanos(1_700_000_000_000_000_000)
    rec.send_property("calibration", rr.AnyValues(camera="cam0", fx=500.0))
    api.note("send_recording_name / send_recording_start_time_nanos / send_property(AnyValues)")
    set_seq(rec, api, "frame", 0)
    rec.log("plot/x", scalar(api, 1.0))
    rec.disconnect()


def make_blueprint(seed, rich):
    import rerun.blueprint as rrb
    state = random.Random(seed)
    orig = uuid.uuid4
    uuid.uuid4 = lambda: uuid.UUID(int=state.getrandbits(128), version=4)
    try:
        if rich:
            return rrb.Blueprint(rrb.Horizontal(rrb.Spatial3DView(origin="/world", name="World"),
                                                rrb.TimeSeriesView(origin="/plot", name="Plots")))
        return rrb.Blueprint(rrb.TimeSeriesView(origin="/plot", name="Plots"))
    finally:
        uuid.uuid4 = orig


def case_blueprint_rbl(path, api):
    make_blueprint(SEED, rich=False).save(APP_ID, str(path))
    api.note("rerun.blueprint.Blueprint.save(application_id, path)")


def case_with_blueprint(path, api):
    r = rng("with_blueprint")
    rec = new_rec("with_blueprint", api)
    rec.save(str(path), default_blueprint=make_blueprint(SEED + 1, rich=True))
    api.note("RecordingStream.save(default_blueprint=...)")
    for i in range(5):
        set_seq(rec, api, "frame", i)
        rec.log("plot/value", scalar(api, float(r.normal())))
    rec.disconnect()


def case_two_recordings(path, api, tmp):
    parts = []
    for j, sub in enumerate(("a", "b")):
        r = rng(f"two-{sub}")
        p = Path(tmp) / f"two_{sub}.rrd"
        rec = new_rec(f"two_recordings-{sub}", api)
        rec.save(str(p))
        for i in range(4):
            set_seq(rec, api, "frame", i + 100 * j)
            rec.log(f"signal/{sub}", scalar(api, float(r.normal())))
        rec.disconnect()
        parts.append(p.read_bytes())
    path.write_bytes(parts[0] + parts[1])
    api.note("cat of two SDK-written files")
    return {"parts_sizes": [len(p) for p in parts]}


def case_custom(path, api):
    """AnyValues, send_columns, DynamicArchetype: custom and columnar data, where the API exists."""
    rr = sdk()
    import numpy as np
    rec = new_rec("custom", api)
    rec.save(str(path))
    set_seq(rec, api, "frame", 0)
    rec.log("custom/any", rr.AnyValues(confidence=[0.5, 0.9], label="hello"))
    api.note("rr.AnyValues")
    if hasattr(rr, "DynamicArchetype"):
        try:
            rec.log("custom/dyn", rr.DynamicArchetype("MyArch", components={"speed": [1.5, 2.5]}))
            api.note("rr.DynamicArchetype")
        except Exception as e:  # noqa: BLE001
            api.note(f"rr.DynamicArchetype failed: {type(e).__name__}")
    times = np.arange(10, 15)
    cols = rr.Scalars.columns(scalars=np.linspace(0, 1, 5))
    rr.send_columns("custom/columns", indexes=[rr.TimeColumn("frame", sequence=times)], columns=cols, recording=rec)
    api.note("rr.send_columns(indexes=[TimeColumn(sequence=)], columns=Scalars.columns())")
    rec.disconnect()


def case_no_footer(path, api):
    rr = sdk()
    if "write_footer" not in inspect.signature(rr.RecordingStream.save).parameters:
        return None
    rec = new_rec("no_footer", api)
    rec.save(str(path), write_footer=False)
    api.note("save(write_footer=False)")
    for i in range(3):
        set_seq(rec, api, "frame", i)
        rec.log("plot/y", scalar(api, i * 0.5))
    rec.disconnect()
    return {}


CASES = [
    ("scalars.rrd", case_scalars, "Scalars on /plot/sin and /plot/cos over sequence `frame` 0..29; where the SDK still has the deprecated rr.Scalar, also /plot/legacy every 3rd frame; a static series style on /plot/sin."),
    ("points3d.rrd", case_points3d, "Points3D (8 points: positions, colors, radii) on /world/points at frames 0..3 with timestamp timeline `sim_time`, a labels-only row at frame 4; Boxes3D on /world/boxes with duration timeline `elapsed` too."),
    ("text_logs.rrd", case_text_logs, "TextLog with the six levels and non-ASCII text over sequence `step`, one colored line, and a static markdown TextDocument."),
    ("static.rrd", case_static, "Only static data: ViewCoordinates on /, Points3D with labels and class ids logged twice on /world/landmarks (one 2-row static chunk), AnnotationContext on /world."),
    ("transforms.rrd", case_transforms, "Transform3D (translation + quaternion; axis-angle + scale) over `frame`; a static mat3x3 + translation + relation transform and a static Pinhole on /world/camera."),
    ("image.rrd", case_image, "rr.Image: two 8x6 RGB u8 frames on /camera/rgb; one 4x4 f32 DepthImage on /camera/depth."),
    ("properties.rrd", case_properties, "Recording properties: name, start time, a custom AnyValues property `calibration`, plus one scalar."),
    ("blueprint.rbl", case_blueprint_rbl, "A one-view blueprint (TimeSeriesView of /plot) saved with rerun.blueprint.Blueprint.save: blueprint store and a BlueprintActivationCommand (make_active)."),
    ("with_blueprint.rrd", case_with_blueprint, "RecordingStream.save(default_blueprint=Horizontal(Spatial3DView, TimeSeriesView)): blueprint store, activation command (make_default) and the recording store in one stream; 5 scalars on /plot/value."),
    ("two_recordings.rrd", case_two_recordings, "Two SDK-written recordings (compat-two_recordings-a / -b) concatenated byte for byte: two stream headers."),
    ("custom.rrd", case_custom, "Custom data: AnyValues on /custom/any, DynamicArchetype `MyArch` on /custom/dyn (0.25+), send_columns of 5 scalars on /custom/columns."),
    ("no_footer.rrd", case_no_footer, "save(write_footer=False) (only SDKs that have the option): no End message at all."),
]



def make_files(outdir):
    made = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, fn, _desc in CASES:
            p = outdir / name
            if p.exists():
                p.unlink()
            api = Log()
            try:
                extra = fn(p, api, tmp) if "tmp" in inspect.signature(fn).parameters else fn(p, api)
            except Exception as e:  # noqa: BLE001 - record why a case does not exist for this version
                made[name] = {"skipped": f"{type(e).__name__}: {e}"}
                if p.exists():
                    p.unlink()
                continue
            if not p.exists():
                made[name] = {"skipped": "this SDK has no API for it"}
                continue
            made[name] = {"api_used": api.used, **(extra or {})}
            print(f"[make {sdk_version()}] {name} {p.stat().st_size} bytes", flush=True)
    return made


# ======================================================================================
# The tools: CLI runs and their parsed output

ANSI = re.compile(r"\x1b\[[0-9;]*m")
LOG_PREFIX = re.compile(r"^\[?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\]?\s*", re.M)


def clean(s):
    return LOG_PREFIX.sub("", ANSI.sub("", s))


def cli_path():
    p = Path(sys.executable).with_name("rerun")
    if not p.exists():
        raise SystemExit(f"no rerun CLI next to {sys.executable}")
    subprocess.run([str(p), "analytics", "disable"], capture_output=True)
    return str(p)


def run(cli, args, cwd):
    p = subprocess.run([cli, *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    return p.returncode, clean(p.stdout), clean(p.stderr)


def cli_features(cli):
    _, out, err = run(cli, ["rrd", "--help"], "/")
    subs = set(re.findall(r"^\s{2}(\w+)\s", out + err, re.M))
    _, vout, verr = run(cli, ["rrd", "verify", "--help"], "/")
    return {"print": "print" in subs, "stats": "stats" in subs, "verify": "verify" in subs,
            "verify_check_footers": "--check-footers" in vout + verr}


def cli_runs(cli, feats, small):
    runs = [("print", ["rrd", "print", "-v"])]
    if small:
        runs.append(("print-vvv", ["rrd", "print", "-vvv"]))
    if feats["stats"]:
        runs.append(("stats", ["rrd", "stats"]))
    if feats["verify"]:
        runs.append(("verify", ["rrd", "verify"]))
    if feats["verify_check_footers"]:
        runs.append(("verify-nofooters", ["rrd", "verify", "--check-footers", "false"]))
    return runs


# print -v: a chunk line per chunk; the wording moved from "columns" to "data columns" in 0.26.
CHUNK_LINE = re.compile(r"^Chunk\((chunk_[0-9A-Fa-f]{32})\) with (\d+) rows \(([^)]*)\) - (.*?) - (?:data )?columns: \[(.*)\]\s*$", re.M)
STORE_NEW = re.compile(r'store_id: StoreId\(\s*(\w+),\s*"([^"]*)",\s*"([^"]*)",?\s*\)', re.S)
STORE_OLD = re.compile(r'application_id: ApplicationId\(\s*"([^"]*)",?\s*\),\s*store_id: StoreId \{\s*kind: (\w+),\s*id: "([^"]*)"', re.S)
ACTIVATION = re.compile(r"^BlueprintActivationCommand\((.*)\)\s*$", re.M)


def parse_print(text):
    chunks = [{"chunk_id": m.group(1), "num_rows": int(m.group(2)), "size": m.group(3), "entity_path": m.group(4),
               "data_columns": [x.split("@", 1)[1] if "@" in x else x for x in re.split(r"(?<!\\) ", m.group(5).strip()) if x]}
              for m in CHUNK_LINE.finditer(text)]
    stores = []
    for block in re.findall(r"^StoreInfo \{.*?^\}", text, re.M | re.S):
        m = STORE_NEW.search(block)
        if m:
            stores.append({"kind": m.group(1).lower(), "application_id": m.group(2), "recording_id": m.group(3)})
            continue
        m = STORE_OLD.search(block)
        if m:
            stores.append({"kind": m.group(2).lower(), "application_id": m.group(1), "recording_id": m.group(3)})
        else:
            stores.append({"unparsed": block[:300]})
    acts = []
    for m in ACTIVATION.finditer(text):
        a = {"raw": m.group(0).strip()}
        inner = m.group(1)
        sm = re.match(r'StoreId\((\w+), "([^"]*)", "([^"]*)"\)', inner)
        if sm:
            a.update({"kind": sm.group(1).lower(), "application_id": sm.group(2), "recording_id": sm.group(3)})
        else:  # 0.23/0.24 print only the bare blueprint id
            a["recording_id"] = inner.split(",")[0].strip()
        a["make_active"] = "make_active: true" in inner
        a["make_default"] = "make_default: true" in inner
        acts.append(a)
    return {"set_store_info": stores, "chunks": chunks, "blueprint_activations": acts,
            "shows_migrated_data": "Showing data after migration" in text}


def parse_print_vvv(text):
    """Per chunk, the column headers of the table `print -vvv` draws: [name, type] (as that
    version's CLI shows them, i.e. after its own load-time migration where it has one)."""
    out = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^Chunk\((chunk_[0-9A-Fa-f]{32})\) with (\d+) rows", lines[i])
        if not m:
            i += 1
            continue
        entry = {"chunk_id": m.group(1), "num_rows": int(m.group(2)), "chunk_metadata": {}, "columns": []}
        i += 1
        rows = []
        while i < len(lines) and not lines[i].startswith("Chunk("):
            ln = lines[i]
            if "╞" in ln or "┘" in ln and "┴" in ln:
                break
            mm = re.match(r"^│ \* ([^:]+): (.*?)\s*│$", ln)
            if mm:
                entry["chunk_metadata"][mm.group(1)] = mm.group(2)
            elif "┆" in ln or (ln.startswith("│ │") and rows is not None and "┌" not in ln):
                cells = ln.strip().strip("│").strip().strip("│").split("┆")
                rows.append([c.strip() for c in cells])
            i += 1
        ncols = max((len(r) for r in rows), default=0)
        cols = [[] for _ in range(ncols)]
        for r in rows:
            if len(r) == ncols:
                for k, c in enumerate(r):
                    cols[k].append(c)
        for cell in cols:
            name_parts, rest, seen_sep = [], [], False
            for c in cell:
                if c == "---" and not seen_sep:
                    seen_sep = True
                elif not seen_sep:
                    name_parts.append(c)
                else:
                    rest.append(c)
            meta, typ = {}, None
            key = None
            for c in rest:
                if not c:
                    continue
                km = re.match(r"^([A-Za-z_:.]+): (.*)$", c)
                if km:
                    key = km.group(1)
                    if key == "type" and typ is None:
                        typ = km.group(2)
                    else:
                        meta[key] = km.group(2)
                elif key:
                    if key == "type":
                        typ += c
                    else:
                        meta[key] += c
            entry["columns"].append(["".join(name_parts), typ])
        out.append(entry)
        while i < len(lines) and not lines[i].startswith("Chunk("):
            i += 1
    return out


def parse_stats(text):
    out = {}
    for k in ("num_chunks", "num_entity_paths", "num_chunks_without_components", "num_rows", "num_static"):
        m = re.search(rf"^{k} = (\d+)", text, re.M)
        if m:
            out[k] = int(m.group(1))
    for title, key in (("Num chunks per entity", "chunks_per_entity"), ("Num chunks per index", "chunks_per_index"),
                       ("Num chunks per component", "chunks_per_component")):
        m = re.search(rf"^{re.escape(title)}\n-+\n((?:.+\n)*?)\n", text + "\n\n", re.M)
        if m:
            d = {}
            for line in m.group(1).splitlines():
                a, _, b = line.rpartition(": ")
                if a and b.isdigit():
                    d[a] = int(b)
            out[key] = d
    return out


VVV_RAW = ("static.rrd",)  # raw `print -vvv` is large: keep it for this file only (parsed headers for all)


def capture_cli(cli, feats, path, clidir, keep_vvv=True):
    """Run the CLI on one file; raw outputs go to clidir, parsed ones are returned."""
    clidir.mkdir(parents=True, exist_ok=True)
    res = {}
    small = keep_vvv and path.name in VVV_RAW
    for label, args in cli_runs(cli, feats, True):
        rc, so, se = run(cli, args + [path.name], path.parent)
        if label != "print-vvv" or small:
            (clidir / f"{path.name}.{label}.txt").write_text(
                f"$ rerun {' '.join(args + [path.name])}\n# exit code: {rc}\n# --- stdout ---\n{so}# --- stderr ---\n{se}")
        res[label] = (rc, so, se)
    out = {"print_exit_code": res["print"][0], "print_parsed": parse_print(res["print"][1]),
           "print_errors": [ln for ln in (res["print"][1] + res["print"][2]).splitlines() if re.search(r"\b(ERROR|WARN)\b|^Error", ln)][:20],
           "print_vvv_exit_code": res["print-vvv"][0], "print_vvv_columns": parse_print_vvv(res["print-vvv"][1]),
           "print_vvv_raw_stored": small}
    if "stats" in res:
        out["stats_exit_code"] = res["stats"][0]
        out["stats_parsed"] = parse_stats(res["stats"][1])
        out["stats_errors"] = [ln for ln in (res["stats"][1] + res["stats"][2]).splitlines() if re.search(r"\b(ERROR|WARN)\b|^Error", ln)][:20]
    else:
        out["stats_exit_code"] = None
        out["stats_parsed"] = None
    if "verify" in res:
        out["verify_exit_code"] = res["verify"][0]
        out["verify_output"] = (res["verify"][1] + res["verify"][2]).strip()[-2000:]
    else:
        out["verify_exit_code"] = out["verify_output"] = None
    if "verify-nofooters" in res:
        out["verify_check_footers_false_exit_code"] = res["verify-nofooters"][0]
        out["verify_check_footers_false_output"] = (res["verify-nofooters"][1] + res["verify-nofooters"][2]).strip()[-2000:]
    return out


# ======================================================================================
# In-process readers (whatever the running SDK version offers)

def batch_columns(batch):
    cols = []
    for f in batch.schema:
        md = decode_metadata(f.metadata)
        cols.append({"name": f.name, "arrow_type": str(f.type), "metadata": dict(sorted(md.items()))})
    return cols, dict(sorted(decode_metadata(batch.schema.metadata).items()))


def chunk_view(ch):
    b = ch.to_record_batch()
    cols, smd = batch_columns(b)
    timelines = {}
    for f in b.schema:
        md = decode_metadata(f.metadata)
        if column_kind(f.name, md) == "index":
            vals = column_values(b.column(b.schema.get_field_index(f.name)))
            present = [v for v in vals if v is not None]
            timelines[md_get(md, "index_name") or f.name] = {"arrow_type": str(f.type), "min": min(present) if present else None,
                                                              "max": max(present) if present else None}
    return {"chunk_id": str(ch.id), "entity_path": str(ch.entity_path), "num_rows": ch.num_rows,
            "is_static": bool(ch.is_static), "timelines": timelines, "schema_metadata": smd, "columns": cols}


def rrd_reader_class():
    for mod in ("rerun.chunk", "rerun.experimental"):
        try:
            m = __import__(mod, fromlist=["RrdReader"])
            if hasattr(m, "RrdReader"):
                return mod + ".RrdReader", m.RrdReader
        except ImportError:
            pass
    return None, None


def rrd_reader_view(path):
    import warnings
    name, cls = rrd_reader_class()
    out = {"reader": name, "stores": []}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            r = cls(str(path))
            entries = list(r.recordings()) + list(r.blueprints())
        except Exception as e:  # noqa: BLE001 - the reader's own message is the finding
            out["error"] = f"{type(e).__name__}: {str(e).replace(str(path.parent) + '/', '')[:600]}"
            return out
        for e in entries:
            st = {"kind": str(e.kind), "application_id": str(e.application_id), "recording_id": str(e.recording_id), "chunks": []}
            try:
                for ch in r.stream(store=e):
                    st["chunks"].append(chunk_view(ch))
            except Exception as ex:  # noqa: BLE001
                st["error"] = f"{type(ex).__name__}: {str(ex)[:600]}"
            st["num_chunks"] = len(st["chunks"])
            st["num_rows"] = sum(c["num_rows"] for c in st["chunks"])
            st["num_static_chunks"] = sum(c["is_static"] for c in st["chunks"])
            out["stores"].append(st)
    return out


def archive_view(path):
    """0.23-0.30: rerun.dataframe / rerun.recording load_archive: the store's schema and row counts per index."""
    mod = None
    for name in ("rerun.recording", "rerun.dataframe"):
        try:
            m = __import__(name, fromlist=["load_archive"])
            if hasattr(m, "load_archive"):
                mod = (name, m)
                break
        except ImportError:
            pass
    if mod is None:
        return None
    out = {"reader": mod[0] + ".load_archive", "recordings": []}
    try:
        arch = mod[1].load_archive(str(path))
    except Exception as e:  # noqa: BLE001
        out["error"] = f"{type(e).__name__}: {str(e)[:600]}"
        return out
    for rec in arch.all_recordings():
        s = rec.schema()
        entry = {"application_id": rec.application_id(), "recording_id": rec.recording_id(),
                 "index_columns": [c.name for c in s.index_columns()],
                 "component_columns": sorted(
                     [{"entity_path": c.entity_path, "component": getattr(c, "component", None) or getattr(c, "component_name", None),
                       "archetype": getattr(c, "archetype", None) or getattr(c, "archetype_name", None),
                       "is_static": c.is_static} for c in s.component_columns()],
                     key=lambda d: (d["entity_path"], str(d["component"]))),
                 "rows_per_index": {}}
        for idx in entry["index_columns"]:
            try:
                entry["rows_per_index"][idx] = rec.view(index=idx, contents="/**").select().read_all().num_rows
            except Exception as e:  # noqa: BLE001
                entry["rows_per_index"][idx] = f"{type(e).__name__}: {str(e)[:200]}"
        out["recordings"].append(entry)
    return out


def in_process_reader_name():
    name, _ = rrd_reader_class()
    if name:
        return name
    for mod in ("rerun.recording", "rerun.dataframe"):
        try:
            if hasattr(__import__(mod, fromlist=["load_archive"]), "load_archive"):
                return mod + ".load_archive"
        except ImportError:
            pass
    return None


def in_process_view(path):
    name, _ = rrd_reader_class()
    if name:
        return rrd_reader_view(path)
    return archive_view(path) or {"reader": None}


# ======================================================================================
# Cross-checks: the bytes against the tools (mismatches are recorded, and printed)

def cross_check(truth, cli, proc):
    notes = []
    mine = [(c["chunk_id"], c["num_rows"], c["entity_path"]) for c in truth["chunks"]]
    theirs = [(c["chunk_id"], c["num_rows"], c["entity_path"]) for c in cli["print_parsed"]["chunks"]]
    notes.append("print chunk list (ids, rows, entity paths) == bytes" if mine == theirs else
                 f"print chunk list differs from the bytes: print has {len(theirs)} chunks, bytes {len(mine)}; "
                 f"only in bytes: {sorted(set(mine) - set(theirs))[:6]}; only in print: {sorted(set(theirs) - set(mine))[:6]}")
    sp = cli.get("stats_parsed")
    if sp:
        for k, v in (("num_chunks", len(mine)), ("num_rows", truth["totals"]["rows"]), ("num_static", truth["totals"]["static_chunks"])):
            if k in sp:
                notes.append(f"stats {k} {sp[k]} " + ("== bytes" if sp[k] == v else f"!= bytes {v}"))
    if proc and proc.get("stores"):
        by_id = {c["chunk_id"]: c for c in truth["chunks"]}
        same = diff = 0
        for st in proc["stores"]:
            for c in st["chunks"]:
                b = by_id.get(c["chunk_id"])
                if b and (b["entity_path"], b["num_rows"], bool(b["is_static"]), [(x["name"], x["arrow_type"]) for x in b["columns"]]) == \
                        (c["entity_path"], c["num_rows"], c["is_static"], [(x["name"], x["arrow_type"]) for x in c["columns"]]):
                    same += 1
                else:
                    diff += 1
        notes.append(f"in-process reader: {same} chunks identical to the bytes (id, entity, rows, static, column names+types), {diff} differ or absent from the bytes")
    return notes


def shrink_reader_view(proc, truth):
    """The per-chunk reader view repeats the bytes' column metadata: keep names and types, and the
    metadata only where it differs from the bytes."""
    by_id = {c["chunk_id"]: c for c in truth["chunks"]}
    for st in (proc or {}).get("stores", []):
        for c in st["chunks"]:
            raw = {x["name"]: x["metadata"] for x in by_id.get(c["chunk_id"], {"columns": []})["columns"]}
            cols = []
            for x in c["columns"]:
                item = [x["name"], x["arrow_type"]]
                if raw.get(x["name"]) != x["metadata"]:
                    item.append(x["metadata"])
                cols.append(item)
            c["columns"] = cols
            if by_id.get(c["chunk_id"], {}).get("schema_metadata") == c["schema_metadata"]:
                c["schema_metadata"] = "same as the bytes"


# ======================================================================================
# Modes

def dumps(obj, depth=0, inline_from=5):
    """JSON with one item per line near the top and compact lines deeper down (keeps files small)."""
    if depth >= inline_from or not isinstance(obj, (dict, list)) or not obj:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    pad = " " * (depth + 1)
    if isinstance(obj, dict):
        items = [f"{pad}{json.dumps(str(k), ensure_ascii=False)}: {dumps(v, depth + 1, inline_from)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * depth + "}"
    items = [f"{pad}{dumps(v, depth + 1, inline_from)}" for v in obj]
    return "[\n" + ",\n".join(items) + "\n" + " " * depth + "]"


def generate(root):
    import numpy
    import pyarrow
    ver = sdk_version()
    outdir = root / ver
    if outdir.exists():
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True)
    made = make_files(outdir)
    cli = cli_path()
    feats = cli_features(cli)
    files = []
    for name, _fn, desc in CASES:
        info = made[name]
        if "skipped" in info:
            files.append({"file": name, "skipped": info["skipped"], "description": desc})
            continue
        path = outdir / name
        print(f"[truth {ver}] {name}", flush=True)
        truth = byte_truth(path)
        clires = capture_cli(cli, feats, path, outdir / "cli")
        proc = in_process_view(path)
        entry = {"file": name, "description": desc, "made_by": f"rerun-sdk {ver} (python)", "api_used": info["api_used"],
                 "expect_valid": True}
        entry.update({k: v for k, v in info.items() if k != "api_used"})
        entry.update(truth)
        entry["cli"] = clires
        entry["in_process_reader"] = proc
        entry["cross_checks"] = cross_check(truth, clires, proc)
        shrink_reader_view(proc, truth)
        for n in entry["cross_checks"]:
            if "differs" in n or "!=" in n or re.search(r", [1-9]\d* differ", n):
                print(f"   NOTE {name}: {n}", flush=True)
        files.append(entry)
    doc = {
        "generator": "Fixtures/rrd/compat/make_compat.py generate",
        "rerun_sdk_version": ver,
        "python": sys.version.split()[0],
        "pyarrow": pyarrow.__version__,
        "numpy": numpy.__version__,
        "application_id": APP_ID,
        "seed": SEED,
        "tools": {"cli": feats, "in_process_reader": in_process_reader_name()},
        "notes": [
            "streams/stores/chunks/blueprint_activations/totals: what the bytes hold (our own protobuf walk, pyarrow for the Arrow IPC payload); column names and metadata are raw (no migration)",
            "stores[].application_id is resolved: from StoreId.application_id, or (0.23/0.24, whose StoreId has none) from the SetStoreInfo of the same (kind, recording id); application_id_source says which",
            "chunks[].chunk_id_source / is_static_source say whether the ArrowMsg carried the field or it was derived (schema metadata id; no index column => static)",
            "cli.*: that SDK version's own `rerun rrd print -v` / `print -vvv` / `stats` / `verify` (raw in cli/; -vvv raw only for static.rrd, parsed column headers for all in cli.print_vvv_columns). Since 0.26 `print` says 'Showing data after migration to latest Rerun version': its column names are that version's view",
            "in_process_reader: that version's own reader (rerun.chunk/rerun.experimental RrdReader: per chunk; rerun.dataframe/rerun.recording load_archive: schema and rows per index)",
            "row ids, chunk ids, blueprint store ids and log_time values are minted at run time: valid only for these exact files",
        ],
        "files": files,
    }
    (outdir / "EXPECTED.json").write_text(dumps(doc) + "\n")
    total = sum(e.get("size_bytes", 0) for e in files)
    print(f"[done {ver}] {sum('size_bytes' in e for e in files)} files, {total} bytes")


def migrated(root):
    ver = sdk_version()
    if vtuple(ver) < (0, 41, 0):
        raise SystemExit("the migrated view needs rerun-sdk 0.41.0's python")
    cli = cli_path()
    feats = cli_features(cli)
    doc = {"generator": "Fixtures/rrd/compat/make_compat.py migrated", "rerun_sdk_version": ver,
           "reader": rrd_reader_class()[0] + "(path): recordings() + blueprints(), stream(store=...) per store",
           "notes": [
               "per old file: what rerun-sdk 0.41.0's RrdReader yields (it migrates old chunks on load) and what the 0.41 CLI reports (raw under <version>/cli/rerun-0.41.0/)",
               "migration: per raw chunk of the file, the migrated chunk with the same id (or `dropped` when 0.41 yields none), with the column renames observed",
           ],
           "versions": {}}
    for vdir in sorted((d for d in root.iterdir() if d.is_dir() and re.match(r"^\d+\.\d+\.\d+$", d.name)), key=lambda d: vtuple(d.name)):
        exp = json.loads((vdir / "EXPECTED.json").read_text())
        vers = {}
        for fe in exp["files"]:
            if "skipped" in fe:
                continue
            path = vdir / fe["file"]
            print(f"[0.41 view] {vdir.name}/{fe['file']}", flush=True)
            clires = capture_cli(cli, feats, path, vdir / "cli" / f"rerun-{ver}", keep_vvv=False)
            view = rrd_reader_view(path)
            mig = compare_migration(fe, view, clires)
            clires.pop("print_vvv_columns", None)
            mig["_rules_full"] = mig["column_rules"]
            mig["column_rules"] = {k: v["column"] for k, v in mig["column_rules"].items()}
            compact_view(view, fe)
            vers[fe["file"]] = {"cli": clires, "rrd_reader": view, "migration": mig}
        doc["versions"][vdir.name] = vers
    doc["rules_per_version"] = migration_summary(doc)
    (root / "MIGRATED.json").write_text(dumps(doc, inline_from=6) + "\n")


def rule_key(col):
    md = col["metadata"]
    return f"{col['name']} | archetype={md_get(md, 'archetype') or '-'} | field={md_get(md, 'archetype_field') or '-'} | component={md_get(md, 'component') or '-'}"


def pair_columns(raw_data, mig_data):
    """Pair each raw data column with the migrated column 0.41 made of it (None: dropped)."""
    pairs, used = {}, set()

    def field_of(y):
        return (md_get(y["metadata"], "component") or y["name"]).split(":")[-1]

    for i, x in enumerate(raw_data):  # 1. same name, or same component type and field
        md = x["metadata"]
        ctype = md_get(md, "component") if "rerun.components." in (md_get(md, "component") or "") else md_get(md, "component_type")
        for k, y in enumerate(mig_data):
            if k in used:
                continue
            if y["name"] == x["name"] or (ctype and md_get(y["metadata"], "component_type") == ctype and
                                          (md_get(md, "archetype_field") or field_of(y)) == field_of(y)):
                pairs[i] = k
                used.add(k)
                break
    for i, x in enumerate(raw_data):  # 2. same component type (archetype renamed with its field)
        if i in pairs or (md_get(x["metadata"], "component") or "").endswith("Indicator"):
            continue
        ctype = md_get(x["metadata"], "component") or md_get(x["metadata"], "component_type")
        for k, y in enumerate(mig_data):
            if k not in used and md_get(y["metadata"], "component_type") == ctype:
                pairs[i] = k
                used.add(k)
                break
    for i, x in enumerate(raw_data):  # 3. indicators that 0.41 keeps under their fully qualified name
        if i in pairs:
            continue
        comp = md_get(x["metadata"], "component")
        for k, y in enumerate(mig_data):
            if k not in used and comp and y["name"] == comp:
                pairs[i] = k
                used.add(k)
                break
    for i, x in enumerate(raw_data):  # 4. same archetype and field, component type changed
        if i in pairs:
            continue
        arch = (md_get(x["metadata"], "archetype") or "").split(".")[-1]
        field = md_get(x["metadata"], "archetype_field") or x["name"].split(":")[-1]
        for k, y in enumerate(mig_data):
            if k not in used and arch and y["name"] == f"{arch}:{field}":
                pairs[i] = k
                used.add(k)
                break
    return pairs, [y for k, y in enumerate(mig_data) if k not in used]


def compare_migration(raw, view, clires):
    """Raw chunks (bytes) vs 0.41's migrated chunks, matched by chunk id."""
    mig = {}
    for st in view.get("stores", []):
        for c in st["chunks"]:
            mig[c["chunk_id"]] = c
    chunks, rules, dropped, entity_renames, added = [], {}, {}, {}, {}
    md_changes = {}  # what 0.41 does to metadata: "schema" / "control" / "index" / rule key -> {key: [raw, migrated]}

    def note_md(where, a, b):
        d = md_changes.setdefault(where, {})
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                va, vb = a.get(k), b.get(k)
                if where in ("schema", "control", "index") and k in ("rerun:id", "rerun.id", "rerun:entity_path", "rerun.entity_path", "rerun:index_name", "rerun.index_name", "rerun.heap_size_bytes", "rerun:heap_size_bytes"):
                    va = "<value>" if va is not None else None
                    vb = "<value>" if vb is not None else None
                    if va == vb:
                        continue
                d.setdefault(k, [va, vb])
    for c in raw["chunks"]:
        e = {"chunk_id": c["chunk_id"], "raw_entity_path": c["entity_path"]}
        m = mig.get(c["chunk_id"])
        if m is None:
            e["migrated"] = "dropped (no chunk with this id in 0.41's stream)"
            chunks.append(e)
            continue
        e.update({"migrated_entity_path": m["entity_path"], "migrated_is_static": m["is_static"],
                  "migrated_num_rows": m["num_rows"], "columns": {}})
        if m["num_rows"] != c["num_rows"] or bool(m["is_static"]) != bool(c["is_static"]):
            e["rows_or_static_changed"] = True
        if sorted(m["timelines"]) != sorted(c["timelines"]):
            e["timelines_changed"] = [sorted(c["timelines"]), sorted(m["timelines"])]
        if m["entity_path"] != c["entity_path"]:
            entity_renames[c["entity_path"]] = m["entity_path"]
        note_md("schema", c["schema_metadata"], m["schema_metadata"])
        mig_by_name = {x["name"]: x for x in m["columns"]}
        for x in c["columns"]:
            if x["kind"] in ("control", "index") and x["name"] in mig_by_name:
                note_md(x["kind"], x["metadata"], mig_by_name[x["name"]]["metadata"])
        raw_data = [x for x in c["columns"] if x["kind"] == "data"]
        mig_data = [x for x in m["columns"] if column_kind(x["name"], x["metadata"]) == "data"]
        pairs, extra = pair_columns(raw_data, mig_data)
        for i, x in enumerate(raw_data):
            if i not in pairs:
                dropped[rule_key(x)] = x["arrow_type"]
                e["columns"][x["name"]] = None
                continue
            y = mig_data[pairs[i]]
            e["columns"][x["name"]] = y["name"]
            note_md(rule_key(x), x["metadata"], y["metadata"])
            rules.setdefault(rule_key(x), {"raw_type": x["arrow_type"], "column": y["name"], "type": y["arrow_type"],
                                           "metadata": y["metadata"]})
        for y in extra:
            added[y["name"]] = y["arrow_type"]
            e["columns"]["+" + y["name"]] = y["name"]
        raw_idx = sorted(x["name"] for x in c["columns"] if x["kind"] == "index")
        if raw_idx != sorted(x["name"] for x in m["columns"] if column_kind(x["name"], x["metadata"]) == "index"):
            e["index_columns_changed"] = True
        chunks.append(e)
    raw_ids = {c["chunk_id"] for c in raw["chunks"]}
    return {"chunks": chunks, "column_rules": dict(sorted(rules.items())), "dropped_columns": dict(sorted(dropped.items())),
            "added_columns": added, "entity_path_renames": entity_renames,
            "metadata_changes": {k: v for k, v in md_changes.items() if v},
            "chunks_not_in_file": [c["chunk_id"] for st in view.get("stores", []) for c in st["chunks"] if c["chunk_id"] not in raw_ids],
            "raw_chunks": len(raw["chunks"]), "migrated_chunks": sum(len(st["chunks"]) for st in view.get("stores", [])),
            "raw_stores": len(raw["stores"]), "migrated_stores": len(view.get("stores", [])),
            "cli_print_chunks": len(clires["print_parsed"]["chunks"])}


def compact_view(view, raw=None):
    """Row-id and index columns carry the same metadata in every 0.41 chunk: spell it out only when
    it is not the standard form; data columns keep all of theirs. [name, type, metadata-or-flags]."""
    row_md = {"ARROW:extension:metadata": '{"namespace":"row"}', "ARROW:extension:name": "rerun.datatypes.TUID",
              "rerun:is_sorted": "true", "rerun:kind": "control"}
    raw_cols = {c["chunk_id"]: [[x["name"], x["arrow_type"]] for x in c["columns"]] for c in (raw or {}).get("chunks", [])}
    for st in view.get("stores", []):
        for c in st["chunks"]:
            if raw_cols.get(c["chunk_id"]) == [[x["name"], x["arrow_type"]] for x in c["columns"]]:
                c["columns"] = "same names and types as the raw chunk (metadata: see migration.metadata_changes)"
                continue
            cols = []
            for x in c["columns"]:
                md = x["metadata"]
                if md == row_md:
                    cols.append([x["name"], x["arrow_type"], "row id (standard metadata)"])
                elif md.get("rerun:kind") == "index" and md.get("rerun:index_name") == x["name"] and set(md) <= {"rerun:kind", "rerun:index_name", "rerun:is_sorted"}:
                    cols.append([x["name"], x["arrow_type"], "index" + (", sorted" if md.get("rerun:is_sorted") == "true" else "")])
                else:
                    cols.append([x["name"], x["arrow_type"], md])
            c["columns"] = cols


def migration_summary(doc):
    """Per version: the union of the rules observed over its files (what a reader must implement)."""
    out = {}
    for ver, files in doc["versions"].items():
        rules, dropped, ent, added, mdc = {}, {}, {}, {}, {}
        for f in files.values():
            m = f["migration"]
            for where, d in m["metadata_changes"].items():
                key = where if where in ("schema", "control", "index") else "data columns"
                for k, v in d.items():
                    mdc.setdefault(key, {}).setdefault(k, [])
                    if v not in mdc[key][k] and len(mdc[key][k]) < 6:
                        mdc[key][k].append(v)
            for k, v in m.pop("_rules_full").items():
                rules.setdefault(k, {kk: v[kk] for kk in ("column", "raw_type", "type")} |
                                 {"archetype": md_get(v["metadata"], "archetype"), "component_type": md_get(v["metadata"], "component_type")})
            dropped.update(m["dropped_columns"])
            ent.update(m["entity_path_renames"])
            added.update(m["added_columns"])
        out[ver] = {"renamed_or_kept": {k: v for k, v in sorted(rules.items()) if k.split(" | ")[0] != v["column"]},
                    "unchanged_names": sorted(k.split(" | ")[0] for k, v in rules.items() if k.split(" | ")[0] == v["column"]),
                    "dropped": dict(sorted(dropped.items())), "entity_path_renames": ent, "added": added,
                    "metadata_changes": mdc}
    return out


def run_all(venvs, root):
    here = Path(__file__).resolve()
    vs = sorted((d for d in venvs.iterdir() if (d / "bin" / "python").exists()), key=lambda d: vtuple(d.name))
    for d in vs:
        if vtuple(d.name) < (0, 41, 0):
            subprocess.run([str(d / "bin" / "python"), str(here), "generate", "--out", str(root)], check=True)
    ref = [d for d in vs if vtuple(d.name) >= (0, 41, 0)]
    if not ref:
        raise SystemExit("no 0.41 venv for the migrated view")
    subprocess.run([str(ref[0] / "bin" / "python"), str(here), "migrated", "--out", str(root)], check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["generate", "migrated", "all"])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    ap.add_argument("--venvs", type=Path, help="for `all`: a folder of venvs named by SDK version")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    if a.mode == "generate":
        generate(a.out.resolve())
    elif a.mode == "migrated":
        migrated(a.out.resolve())
    else:
        if not a.venvs:
            raise SystemExit("`all` needs --venvs")
        run_all(a.venvs, a.out.resolve())


if __name__ == "__main__":
    main()
