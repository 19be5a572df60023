#!/usr/bin/env python3
"""A Rerun SDK (rerun-sdk 0.41.0) client that logs a deterministic workload, for the live-ingestion
tests and benchmark of StoreIngest.

The same workload goes to a gRPC endpoint (`rr.connect_grpc`, as an app streaming to a viewer) or to
a file (`rr.save`), or to both at once (`--tee`: the same chunks, ids included), so a test can compare what a server received with `rerun rrd stats` (or a replay)
of the file. Chunking is made deterministic: the batcher flushes on a row count only (no time tick,
no byte threshold), so both sinks get the same chunks in the same order.

Lines on stdout (flushed at once), for the driving process:
  STARTED <unix ns>          before the first log call
  PROGRESS <rows>            every --progress-every rows (a kill test waits for one)
  SENT <rows> <unix ns>      after the last log call and the flush
  DONE <unix ns>             after the sink was disconnected (a gRPC call ended)
"""
import argparse
import sys
import time

import numpy as np
import rerun as rr


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sink = p.add_mutually_exclusive_group(required=True)
    sink.add_argument("--url", help="connect_grpc URL, e.g. rerun+http://127.0.0.1:9876/proxy")
    sink.add_argument("--save", help="rr.save to this .rrd file instead")
    p.add_argument("--tee", help="with --url: also rr.save the same stream to this file (one batcher, so the very same chunks)")
    p.add_argument("--app", default="storeingest_live_test", help="application id")
    p.add_argument("--recording-id", default="live-rec-1", help="recording id (the store's)")
    p.add_argument("--shape", choices=["scalars", "points", "mixed", "replay"], default="scalars")
    p.add_argument("--file", help="replay: the .rrd whose first recording's chunks are sent as they are (rr.send_chunks)")
    p.add_argument("--rows", type=int, default=2000, help="scalar rows (scalars, mixed)")
    p.add_argument("--entities", type=int, default=4, help="scalar entities the rows are spread over")
    p.add_argument("--clouds", type=int, default=4, help="point clouds (points, mixed)")
    p.add_argument("--points", type=int, default=1000, help="points per cloud")
    p.add_argument("--batch-rows", type=int, default=64, help="the batcher flushes every N rows")
    p.add_argument("--progress-every", type=int, default=0, help="print PROGRESS every N rows (0: never)")
    p.add_argument("--sleep-every", type=int, default=0, help="sleep --sleep-ms after every N rows")
    p.add_argument("--sleep-ms", type=float, default=0.0)
    a = p.parse_args()

    batcher = rr.ChunkBatcherConfig(
        flush_tick=1e6, flush_num_bytes=1 << 62, flush_num_rows=a.batch_rows, chunk_max_rows_if_unsorted=1 << 30
    )
    rec = rr.RecordingStream(a.app, recording_id=a.recording_id, batcher_config=batcher)
    if a.url and a.tee:
        rec.set_sinks(rr.GrpcSink(a.url), rr.FileSink(a.tee))
    elif a.url:
        rec.connect_grpc(a.url)
    else:
        rec.save(a.save)

    rng = np.random.default_rng(7)
    say(f"STARTED {time.time_ns()}")
    rows = 0

    def tick() -> None:
        nonlocal rows
        rows += 1
        if a.progress_every and rows % a.progress_every == 0:
            rec.flush()
            say(f"PROGRESS {rows}")
        if a.sleep_every and rows % a.sleep_every == 0:
            time.sleep(a.sleep_ms / 1000.0)

    if a.shape in ("scalars", "mixed"):
        for i in range(a.rows):
            rec.set_time("step", sequence=i)
            rec.log(f"plot/s{i % a.entities}", rr.Scalars(np.sin(i / 50.0)))
            tick()
    if a.shape == "replay":
        from rerun.chunk import RrdReader

        rr.send_chunks(RrdReader(a.file).stream(), recording=rec)
    if a.shape in ("points", "mixed"):
        for c in range(a.clouds):
            rec.set_time("step", sequence=c)
            positions = rng.random((a.points, 3), dtype=np.float32)
            rec.log("world/cloud", rr.Points3D(positions, radii=0.01))
            tick()

    rec.flush()
    say(f"SENT {rows} {time.time_ns()}")
    rec.disconnect()
    say(f"DONE {time.time_ns()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
