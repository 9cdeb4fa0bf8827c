#!/usr/bin/env python3
"""End-to-end rendering through the gateway, no cache hits.

A release Pixgate serves a folder with one generated 5120x2880 photo JPEG; C client threads
(default 2) each send `resize,w_<N>/quality,Q_80` with a width never asked before, for D seconds.
Reports req/s, latency percentiles, non-200 answers, and Pixgate's RSS (sampled every 100 ms,
and the kernel's peak VmHWM).

Usage: python3 benches/load/engine.py [--clients 2] [--duration 20] [--grain]
Needs: cargo build --release -p pixgate -p pixgate-benches --bins
"""

import argparse
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from common import start_pixgate, status_kb

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
REL = os.path.join(ROOT, "target", "release")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--duration", type=float, default=20)
    ap.add_argument("--grain", action="store_true", help="use the camera-like input with grain")
    ap.add_argument("--binary", default=os.path.join(REL, "pixgate"), help="the Pixgate build to measure")
    args = ap.parse_args()

    gen = [os.path.join(REL, "bench_input"), "retina.jpg", "5120", "2880"] + (["grain"] if args.grain else [])
    src = subprocess.run(gen, check=True, capture_output=True, text=True).stdout.strip()
    root = tempfile.mkdtemp(prefix="pixgate-engine-")
    os.makedirs(f"{root}/bench")
    shutil.copy(src, f"{root}/bench/photo.jpg")

    proc, port, _admin = start_pixgate(args.binary, "--root", root)
    idle_rss = status_kb(proc.pid, "VmRSS")

    lock = threading.Lock()
    next_width = [200]
    latencies, failures = [], []
    stop = time.perf_counter() + args.duration
    rss_samples = []

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.perf_counter() < stop:
            with lock:
                w = next_width[0]
                next_width[0] += 1
            t = time.perf_counter()
            conn.request("GET", f"/bench/photo.jpg?x-oss-process=image/resize,w_{w}/quality,Q_80")
            r = conn.getresponse()
            body = r.read()
            dt = time.perf_counter() - t
            with lock:
                if r.status == 200 and body[:2] == b"\xff\xd8":
                    latencies.append(dt)
                else:
                    failures.append(r.status)

    def sampler():
        while time.perf_counter() < stop:
            rss_samples.append(status_kb(proc.pid, "VmRSS"))
            time.sleep(0.1)

    threads = [threading.Thread(target=client) for _ in range(args.clients)] + [threading.Thread(target=sampler)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    peak = status_kb(proc.pid, "VmHWM")
    proc.terminate()
    proc.wait()
    shutil.rmtree(root)

    lat = sorted(latencies)
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000
    print(f"input {os.path.basename(src)} ({os.path.getsize(src)} bytes), {args.clients} clients, "
          f"{args.duration:.0f} s, every request a new width")
    print(f"{len(lat) / elapsed:.1f} req/s, p50 {q(0.5):.1f} ms, p99 {q(0.99):.1f} ms, "
          f"non-200 {len(failures)}")
    print(f"RSS: idle {idle_rss / 1024:.1f} MB, max sampled {max(rss_samples) / 1024:.1f} MB, "
          f"peak VmHWM {peak / 1024:.1f} MB")


if __name__ == "__main__":
    main()
