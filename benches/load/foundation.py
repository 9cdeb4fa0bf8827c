#!/usr/bin/env python3
"""Foundation budgets, measured against a release build of Pixgate on a local fs origin.

  1. Cold start: from spawning the process to the first 200 from /readyz (and the first TCP
     accept on the main listener).
  2. Streaming a 50 MB original: the rise of peak RSS (VmHWM) over the idle RSS.
  3. Throughput of a 1 KB original: wrk with 64 connections (2 threads), req/s and p99.

Usage: python3 benches/load/foundation.py [--binary target/release/pixgate] [--duration 10]
Needs: a release build (`cargo build --release`) and wrk (Debian: apt-get install wrk).
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from common import free_port, status_kb


def start(binary, root, env=None):
    port, admin = free_port(), free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [binary, "--root", root, "--listen", f"127.0.0.1:{port}", "--admin-listen", f"127.0.0.1:{admin}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    accepted = None
    while True:
        if proc.poll() is not None:
            sys.exit("pixgate exited during start-up")
        if accepted is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.05).close()
                accepted = time.perf_counter() - t0
            except OSError:
                pass
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{admin}/readyz", timeout=0.2) as r:
                if r.status == 200 and accepted is not None:
                    return proc, port, accepted, time.perf_counter() - t0
        except OSError:
            pass
        time.sleep(0.002)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="target/release/pixgate")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    args = ap.parse_args()
    if not os.path.exists(args.binary):
        sys.exit(f"{args.binary} not found: run cargo build --release first")

    root = tempfile.mkdtemp(prefix="pixgate-bench-")
    os.makedirs(f"{root}/bench")
    with open(f"{root}/bench/1k.bin", "wb") as f:
        f.write(os.urandom(1024))
    with open(f"{root}/bench/50m.bin", "wb") as f:
        for _ in range(50):
            f.write(os.urandom(1 << 20))

    # 1. Cold start (best and median of 5; the page cache is warm after the first).
    starts = []
    for _ in range(5):
        proc, _, accept_s, ready_s = start(args.binary, root)
        starts.append((accept_s, ready_s))
        proc.terminate()
        proc.wait()
    starts.sort(key=lambda s: s[1])
    print(f"cold start: first accept {starts[2][0]*1000:.1f} ms, /readyz 200 after {starts[2][1]*1000:.1f} ms "
          f"(median of 5; best {starts[0][1]*1000:.1f} ms)")

    # 2. Streaming 50 MB.
    proc, port, _, _ = start(args.binary, root)
    idle = status_kb(proc.pid, "VmRSS")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/50m.bin") as r:
        n = 0
        while True:
            chunk = r.read(1 << 16)
            if not chunk:
                break
            n += len(chunk)
    assert n == 50 << 20, n
    peak = status_kb(proc.pid, "VmHWM")
    print(f"stream 50 MB: idle RSS {idle/1024:.1f} MB, peak RSS {peak/1024:.1f} MB, rise {(peak-idle)/1024:.1f} MB")

    # 3. Throughput of a 1 KB original.
    if shutil.which("wrk") is None:
        print("wrk not found: skipping the throughput run (apt-get install wrk)")
    else:
        url = f"http://127.0.0.1:{port}/bench/1k.bin"
        subprocess.run(["wrk", "-t2", "-c", str(args.connections), "-d2s", url], capture_output=True)  # warm-up
        out = subprocess.run(
            ["wrk", "-t2", "-c", str(args.connections), f"-d{args.duration}s", "--latency", url],
            capture_output=True, text=True, check=True,
        ).stdout
        rps = re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)
        p99 = re.search(r"99%\s+([\d.]+\w+)", out).group(1)
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        print(f"1 KB original, wrk -t2 -c{args.connections} -d{args.duration}s: {rps} req/s, p99 {p99}, "
              f"non-2xx {errors.group(1) if errors else 0}")
    proc.terminate()
    proc.wait()
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
