#!/usr/bin/env python3
"""Three Pixgates behind the consistent-hash nginx recipe vs one Pixgate (and vs round-robin).

The same request sequence (Zipf-distributed over N variants of one photo) goes to:
  1. one Pixgate;
  2. three Pixgates behind deploy/nginx/pixgate-hash.conf (hash of path + x-oss-process);
  3. the same three behind plain round-robin (every replica caches every popular variant).
Each Pixgate has a small result cache (--cache), so capacity matters. Reports the hit ratio
(x-pixgate-cache: hit) of each setup.

Usage: python3 benches/load/hash_proxy.py [--variants 600] [--requests 4000] [--cache 4MiB]
Needs: nginx; cargo build --release -p pixgate
"""

import argparse
import http.client
import os
import random
import shutil
import subprocess
import tempfile
import time
import urllib.request

from common import free_port, start_pixgate

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PIXGATE = os.path.join(ROOT, "target", "release", "pixgate")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def start_replica(work, name, cache):
    config = f"{work}/{name}.toml"
    with open(config, "w") as f:
        f.write(f'[origin]\nkind = "fs"\nroot = "{work}/root"\n[cache]\nresult_max_bytes = "{cache}"\n')
    proc, port, _admin = start_pixgate(PIXGATE, "--config", config)
    return proc, port


def start_nginx(work, ports, balance):
    conf = open(os.path.join(ROOT, "deploy/nginx/pixgate-hash.conf")).read()
    for i, p in enumerate(ports, start=1):
        conf = conf.replace(f"127.0.0.1:808{i}", f"127.0.0.1:{p}")
    listen = free_port()
    conf = conf.replace("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{listen};")
    if balance == "round-robin":
        conf = conf.replace('    hash "$uri?$pixgate_process" consistent;\n', "")
    d = f"{work}/nginx-{balance}"
    os.makedirs(d)
    with open(f"{d}/pixgate-hash.conf", "w") as f:
        f.write(conf)
    main = open(os.path.join(ROOT, "deploy/nginx/nginx.conf")).read().replace("/tmp/pixgate-nginx", f"{d}/tmp")
    with open(f"{d}/nginx.conf", "w") as f:
        f.write(main.replace("worker_processes auto;", "worker_processes 1;\ndaemon off;"))
    proc = subprocess.Popen([NGINX, "-p", d, "-c", "nginx.conf"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(500):
        try:
            http.client.HTTPConnection("127.0.0.1", listen, timeout=0.2).connect()
            return proc, listen
        except OSError:
            time.sleep(0.01)
    raise SystemExit("nginx did not start")


def run(port, sequence):
    hits = 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for path in sequence:
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            raise SystemExit(f"{r.status} for {path}")
        hits += r.getheader("x-pixgate-cache") == "hit"
    return hits / len(sequence)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variants", type=int, default=600)
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--cache", default="4MiB")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="pixgate-hash-")
    os.makedirs(f"{work}/root/photos")
    shutil.copy(os.path.join(ROOT, "samples/photos/rocket.jpg"), f"{work}/root/photos/rocket.jpg")
    rnd = random.Random(7)
    weights = [1 / (i + 1) for i in range(args.variants)]
    ranks = rnd.choices(range(args.variants), weights=weights, k=args.requests)
    # Tracking parameters vary per request: neither the replica nor the cache key may change.
    sequence = [f"/photos/rocket.jpg?x-oss-process=image/resize,w_{100 + r}&utm={rnd.randint(0, 9)}" for r in ranks]

    procs, results = [], {}
    try:
        single, port = start_replica(work, "single", args.cache)
        procs.append(single)
        results["one Pixgate"] = run(port, sequence)
        for balance in ("consistent-hash", "round-robin"):
            replicas = [start_replica(work, f"{balance}-{i}", args.cache) for i in range(3)]
            procs += [p for p, _ in replicas]
            nginx, listen = start_nginx(work, [port for _, port in replicas], balance)
            procs.append(nginx)
            results[f"three Pixgates, nginx {balance}"] = run(listen, sequence)
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        shutil.rmtree(work)
    print(f"{args.requests} requests over {args.variants} variants (Zipf), result cache {args.cache} per Pixgate")
    for name, ratio in results.items():
        print(f"  {name}: hit ratio {ratio * 100:.1f}%")


if __name__ == "__main__":
    main()
