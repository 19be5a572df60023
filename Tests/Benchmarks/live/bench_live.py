#!/usr/bin/env python3
"""Live ingestion benchmark: `ingest serve` against the reference `rerun --serve-grpc`, receiving the
same Rerun SDK stream (rr.connect_grpc), in the same run, alternating which server goes first.

    Tests/Benchmarks/live/bench_live.py [--rounds 3] [--workloads scalars,points,replay]

Each round and workload starts a server on a free loopback port, runs
Tests/IngestServerTests/SDK/sdk_client.py against it, and stops the server (SIGINT for ours, which
prints its JSON summary; SIGKILL for the reference, which does not end on SIGTERM). Figures, medians over the rounds:

  wall     first log call to the SDK's call ended (`STARTED` .. `DONE` of sdk_client.py: disconnect
           returns once the server took the whole stream; ours answers a call once everything in it is
           admitted to its store)
  msg/s    WriteMessages requests / wall;  MB/s: their bytes / wall (our server counts both; the
           stream is the same for the reference)
  peak RSS the server's VmHWM just before it is stopped
  ours only: submit->output latency p50/p99 from the summary

Workloads: scalars (200 k scalar rows in 64-row chunks over 4 entities), points (200 clouds of
200 k points, one chunk each), replay (the chunks of a 50 MB bench file sent with rr.send_chunks).
The sender is a Python process of the SDK: where it is the bottleneck, both servers show its speed.

Needs: the release CLI built with the trait (swift build -c release --scratch-path .build-live
--traits LiveServer --product ingest) and a venv with rerun-sdk==0.41.0 + numpy (BENCH_VENV, default
/work/bench/venv; created there when missing).
"""
import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CLIENT = os.path.join(ROOT, "Tests", "IngestServerTests", "SDK", "sdk_client.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not listen")


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def ensure_venv(venv: str) -> str:
    py = os.path.join(venv, "bin", "python")
    check = "import rerun, numpy, sys; sys.exit(rerun.__version__ != '0.41.0')"
    if not (os.path.exists(py) and subprocess.run([py, "-c", check], capture_output=True).returncode == 0):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([os.path.join(venv, "bin", "pip"), "install", "--quiet", "rerun-sdk==0.41.0", "numpy"], check=True)
    return py


def workload_args(name: str, replay_file: str, scale: float) -> list:
    if name == "scalars":
        return ["--shape", "scalars", "--rows", str(int(200000 * scale)), "--entities", "4", "--batch-rows", "64"]
    if name == "points":
        return ["--shape", "points", "--clouds", str(max(1, int(200 * scale))), "--points", "200000", "--batch-rows", "1"]
    if name == "replay":
        return ["--shape", "replay", "--file", replay_file]
    raise ValueError(name)


def run_one(server: str, workload: list, py: str, ingest: str, rerun: str, ingest_args: list) -> dict:
    port = free_port()
    if server == "ingest":
        cmd = [ingest, "serve", "--port", str(port), "--json", "--quiet"] + ingest_args
    else:
        cmd = [rerun, "--serve-grpc", "--port", str(port)]
    env = dict(os.environ, RUST_LOG="warn")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env, text=True)
    try:
        wait_listening(port, proc)
        url = f"rerun+http://127.0.0.1:{port}/proxy"
        sdk = subprocess.run([py, CLIENT, "--url", url, "--recording-id", f"bench-{server}"] + workload,
                             capture_output=True, text=True, env=env, timeout=900)
        if sdk.returncode != 0:
            raise RuntimeError(f"sdk_client failed: {sdk.stderr[-2000:]}")
        marks = {l.split()[0]: int(l.split()[-1]) for l in sdk.stdout.splitlines() if l.split()[0] in ("STARTED", "DONE")}
        wall = (marks["DONE"] - marks["STARTED"]) / 1e9
        rss = peak_rss_mb(proc.pid)
        result = {"wall": wall, "rss": rss}
        if server == "ingest":
            proc.send_signal(signal.SIGINT)
            out, _ = proc.communicate(timeout=300)
            summary = json.loads(out[out.index("{"):])
            result.update(requests=summary["server"]["requests"], bytes=summary["server"]["bytes"],
                          chunks=summary["chunks"], p50=summary["latency_ms"]["p50"], p99=summary["latency_ms"]["p99"])
        else:
            proc.kill()  # it ignores SIGTERM while it holds data for late viewers
            proc.wait()
        return result
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--workloads", default="scalars,points,replay")
    p.add_argument("--ingest", default=os.path.join(ROOT, ".build-live", "release", "ingest"))
    p.add_argument("--replay-file", default="/work/bench/rrd/mixed_50mb.rrd")
    p.add_argument("--ingest-args", default="", help="more options of ingest serve, e.g. '--history-bytes 0'")
    p.add_argument("--scale", type=float, default=1.0, help="scale the scalars and points workloads (a quick look: 0.1)")
    p.add_argument("--venv", default=os.environ.get("BENCH_VENV", "/work/bench/venv"))
    a = p.parse_args()
    py = ensure_venv(a.venv)
    # The native binary, not the venv's `rerun` Python wrapper (whose RSS would be the wrapper's).
    rerun = subprocess.run([py, "-c", "import os, rerun_cli; print(os.path.join(os.path.dirname(rerun_cli.__file__), 'rerun'))"],
                           capture_output=True, text=True, check=True).stdout.strip()
    results = {}
    for r in range(a.rounds):
        for w in a.workloads.split(","):
            order = ["ingest", "rerun"] if r % 2 == 0 else ["rerun", "ingest"]
            for server in order:
                res = run_one(server, workload_args(w, a.replay_file, a.scale), py, a.ingest, rerun, a.ingest_args.split())
                results.setdefault((w, server), []).append(res)
                print(f"round {r + 1} {w:8} {server:6} wall {res['wall']:7.3f} s  peak RSS {res['rss']:7.1f} MB", file=sys.stderr)

    print(f"{'workload':9} {'server':7} {'wall s':>8} {'msg/s':>9} {'MB/s':>8} {'peak RSS MB':>12} {'p50 ms':>7} {'p99 ms':>7}")
    for w in a.workloads.split(","):
        ours = results[(w, "ingest")]
        requests = statistics.median(x["requests"] for x in ours)
        mbytes = statistics.median(x["bytes"] for x in ours) / 1e6
        for server in ("ingest", "rerun"):
            rs = results[(w, server)]
            wall = statistics.median(x["wall"] for x in rs)
            rss = statistics.median(x["rss"] for x in rs)
            lat = (f"{statistics.median(x['p50'] for x in rs):7.3f} {statistics.median(x['p99'] for x in rs):7.3f}"
                   if server == "ingest" else f"{'-':>7} {'-':>7}")
            print(f"{w:9} {server:7} {wall:8.3f} {requests / wall:9.0f} {mbytes / wall:8.1f} {rss:12.1f} {lat}")
        ratio = statistics.median(x["wall"] for x in results[(w, "rerun")]) / statistics.median(x["wall"] for x in ours)
        print(f"{w:9} {'ratio':7} reference wall / ours = {ratio:.2f}; {mbytes:.1f} MB in {requests:.0f} requests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
