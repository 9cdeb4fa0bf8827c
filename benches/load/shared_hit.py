#!/usr/bin/env python3
"""Shared-level hits: what a replica pays for a variant another replica rendered.

Two release Pixgates share a folder origin with `[cache.shared]`. Replica A renders N variants
of ~20 KB (resize,w_<380..>/quality,Q_85 of samples/photos/rocket.jpg); once A has stored them,
replica B asks for each once: every answer must say `x-pixgate-cache: shared`. Reports B's
latency percentiles, and from B's metrics the origin requests and renders per hit.

Usage: python3 benches/load/shared_hit.py [--variants 200]
Needs: cargo build --release -p pixgate
"""

import argparse
import http.client
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request

from common import start_pixgate

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PIXGATE = os.path.join(ROOT, "target", "release", "pixgate")


def metric(admin, series):
    text = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics").read().decode()
    m = re.search("^" + re.escape(series) + r" (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variants", type=int, default=200)
    ap.add_argument("--binary", default=PIXGATE)
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="pixgate-shared-")
    os.makedirs(f"{work}/root/photos")
    os.makedirs(f"{work}/root/render-cache")
    shutil.copy(os.path.join(ROOT, "samples/photos/rocket.jpg"), f"{work}/root/photos/rocket.jpg")
    config = f"{work}/pixgate.toml"
    with open(config, "w") as f:
        f.write(f'[origin]\nkind = "fs"\nroot = "{work}/root"\n[cache.shared]\nbucket = "render-cache"\n')
    a, a_port, a_admin = start_pixgate(args.binary, "--config", config)
    b, b_port, b_admin = start_pixgate(args.binary, "--config", config)
    paths = [f"/photos/rocket.jpg?x-oss-process=image/resize,w_{380 + i}/quality,Q_85"
             for i in range(args.variants)]
    sizes = []
    try:
        conn = http.client.HTTPConnection("127.0.0.1", a_port)
        for p in paths:
            conn.request("GET", p)
            r = conn.getresponse()
            sizes.append(len(r.read()))
        while metric(a_admin, 'pixgate_shared_writes_total{outcome="ok"}') < len(paths):
            time.sleep(0.05)
        conn = http.client.HTTPConnection("127.0.0.1", b_port)
        lat, labels = [], {}
        for p in paths:
            t = time.perf_counter()
            conn.request("GET", p)
            r = conn.getresponse()
            r.read()
            lat.append(time.perf_counter() - t)
            label = r.getheader("x-pixgate-cache")
            labels[label] = labels.get(label, 0) + 1
        origin = metric(b_admin, 'pixgate_origin_requests_total{outcome="ok"}')
        renders = metric(b_admin, 'pixgate_stage_duration_seconds_count{stage="decode"}')
    finally:
        for p in (a, b):
            p.terminate()
            p.wait()
        shutil.rmtree(work)
    lat.sort()
    q = lambda x: lat[min(len(lat) - 1, int(x * len(lat)))] * 1000
    print(f"{len(paths)} variants of {min(sizes) / 1024:.1f}-{max(sizes) / 1024:.1f} KiB; replica B answers: {labels}")
    print(f"shared hit latency: p50 {q(0.5):.2f} ms, p90 {q(0.9):.2f} ms, p99 {q(0.99):.2f} ms (budget p50 <= 5 ms)")
    print(f"replica B: {origin:.0f} origin requests for {len(paths)} hits "
          f"(one HEAD for the source, then one GET per hit), {renders:.0f} renders")


if __name__ == "__main__":
    main()
