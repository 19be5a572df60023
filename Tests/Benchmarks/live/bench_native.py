#!/usr/bin/env python3
"""Native replay over gRPC: `ingest send` streams the 500 MB bench files (their messages as framed, one
WriteMessages call per store, as the SDK makes one per recording stream) into the reference
`rerun --serve-grpc` and into `ingest serve`, in the same run, alternating which server goes first.
The sender is native (no Python SDK in the way), so the figures are the servers' capacity.

    Tests/Benchmarks/live/bench_native.py [--rounds 3] [--files scalars,mixed,points] [--ingest-args '...']

Figures per workload and server, medians over the rounds:

  send s    first request written (the sender's clock) .. the call's answer (`ingest send --json`)
  stored s  first request written .. the last message stored:
              ingest serve: the last store output taken from its hub (`timing.last_output_unix_ns` of
                its JSON summary, CLOCK_REALTIME like the sender's; the hub's workers decoded every
                chunk into its store by then).
              rerun --serve-grpc: the call's answer. Its handler answers once the stream ended and it
                handed every message to its input channel (bounded: 1024 messages / 128 MiB), whose
                consumer only appends each message to its in-memory queue (it decodes nothing); the
                script also samples the server's RSS after the answer and reports how long it kept
                growing (`settle ms`): a few ms at most means nothing was still arriving.
  msg/s, MB/s  requests and their bytes / stored s
  peak RSS  the server's peak resident memory: ours from its summary (getrusage, after the drain),
            the reference's VmHWM once its RSS settled.

Ratios: reference stored s / ours (throughput, > 1: ours faster) and our peak RSS / the reference's.
Needs the release CLI built with the trait (swift build -c release --scratch-path .build-live
--traits LiveServer --product ingest) and the venv with rerun-sdk==0.41.0 (BENCH_VENV, default
/work/bench/venv) for the reference binary.
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


# The server helpers are bench_live.py's (same folder).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_live import free_port, wait_listening  # noqa: E402


def status_kb(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def run_one(server: str, path: str, ingest: str, rerun: str, ingest_args: list) -> dict:
    port = free_port()
    if server == "ingest":
        cmd = [ingest, "serve", "--port", str(port), "--json", "--quiet"] + ingest_args
    else:
        cmd = [rerun, "--serve-grpc", "--port", str(port)]
    env = dict(os.environ, RUST_LOG="warn")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                            env=env, text=True)
    try:
        wait_listening(port, proc)
        url = f"rerun+http://127.0.0.1:{port}/proxy"
        send = subprocess.run([ingest, "send", "--json", path, "--to", url], capture_output=True, text=True, timeout=900)
        if send.returncode != 0:
            raise RuntimeError(f"ingest send exited {send.returncode}: {send.stderr[-2000:]}")
        sent = json.loads(send.stdout)
        first, answer = sent["first_send_unix_ns"], sent["last_answer_unix_ns"]
        result = {"send": (answer - first) / 1e9, "requests": sent["messages"], "bytes": sent["bytes"]}
        if server == "ingest":
            proc.send_signal(signal.SIGINT)
            out, _ = proc.communicate(timeout=300)
            summary = json.loads(out[out.index("{"):])
            timing = summary["timing"]
            if summary["server"]["requests"] != sent["messages"]:
                raise RuntimeError(f"ours received {summary['server']['requests']} of {sent['messages']} requests")
            result.update(stored=(timing["last_output_unix_ns"] - first) / 1e9, rss=timing["peak_rss_bytes"] / 1e6,
                          settle=0.0)
        else:
            # Sample RSS until it stopped changing for 300 ms (or 5 s passed).
            last, last_change, start = status_kb(proc.pid, "VmRSS"), time.time(), time.time()
            while time.time() - last_change < 0.3 and time.time() - start < 5:
                time.sleep(0.005)
                now = status_kb(proc.pid, "VmRSS")
                if abs(now - last) > 1024:
                    last, last_change = now, time.time()
            result.update(stored=result["send"], rss=status_kb(proc.pid, "VmHWM") * 1024 / 1e6,
                          settle=max(0.0, (last_change - start) * 1000))
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
    p.add_argument("--files", default="scalars,mixed,points", help="bench files /work/bench/rrd/NAME_500mb.rrd")
    p.add_argument("--size", default="500mb", help="which bench files: 500mb or 50mb")
    p.add_argument("--ingest", default=os.path.join(ROOT, ".build-live", "release", "ingest"))
    p.add_argument("--ingest-args", default="", help="more options of ingest serve, e.g. '--history-bytes 0'")
    p.add_argument("--venv", default=os.environ.get("BENCH_VENV", "/work/bench/venv"))
    a = p.parse_args()
    py = os.path.join(a.venv, "bin", "python")
    # The native binary, not the venv's `rerun` Python wrapper (whose RSS would be the wrapper's).
    rerun = subprocess.run([py, "-c", "import os, rerun_cli; print(os.path.join(os.path.dirname(rerun_cli.__file__), 'rerun'))"],
                           capture_output=True, text=True, check=True).stdout.strip()
    names = a.files.split(",")
    results = {}
    for r in range(a.rounds):
        for w in names:
            path = f"/work/bench/rrd/{w}_{a.size}.rrd"
            order = ["ingest", "rerun"] if r % 2 == 0 else ["rerun", "ingest"]
            for server in order:
                res = run_one(server, path, a.ingest, rerun, a.ingest_args.split())
                results.setdefault((w, server), []).append(res)
                print(f"round {r + 1} {w:8} {server:6} send {res['send']:7.3f} s  stored {res['stored']:7.3f} s  "
                      f"peak RSS {res['rss']:7.1f} MB  settle {res['settle']:5.0f} ms", file=sys.stderr)

    med = lambda xs: statistics.median(xs)
    print(f"{'file':8} {'server':7} {'send s':>7} {'stored s':>8} {'msg/s':>9} {'MB/s':>7} {'peak RSS MB':>11} {'settle ms':>9}")
    for w in names:
        for server in ("ingest", "rerun"):
            rs = results[(w, server)]
            stored = med([x["stored"] for x in rs])
            print(f"{w:8} {server:7} {med([x['send'] for x in rs]):7.3f} {stored:8.3f} "
                  f"{med([x['requests'] for x in rs]) / stored:9.0f} {med([x['bytes'] for x in rs]) / 1e6 / stored:7.1f} "
                  f"{med([x['rss'] for x in rs]):11.1f} {med([x['settle'] for x in rs]):9.0f}")
        ours, ref = results[(w, "ingest")], results[(w, "rerun")]
        speed = med([x["stored"] for x in ref]) / med([x["stored"] for x in ours])
        memory = med([x["rss"] for x in ours]) / med([x["rss"] for x in ref])
        print(f"{w:8} {'ratio':7} throughput ours/reference = {speed:.2f}x; peak RSS ours/reference = {memory:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
