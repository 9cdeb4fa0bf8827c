#!/usr/bin/env python3
"""Zero-downtime restart: a graceful upgrade under steady mixed traffic.

A release Pixgate serves a folder; client threads send R requests per second in total (default
200), each on a new connection, mixing originals, cached and uncached variants, `info` and
intended 404s. After a few seconds a second Pixgate starts with `--upgrade` and the first gets
SIGQUIT: it hands its listening sockets over, stops accepting, drains and exits. Every request
must be answered (no connection error, no 5xx) across the switch.

Usage: python3 benches/load/upgrade.py [--rate 200] [--duration 20]
Needs: cargo build --release -p pixgate
"""

import argparse
import http.client
import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request

from common import free_port, wait_ready

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PIXGATE = os.path.join(ROOT, "target", "release", "pixgate")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=200)
    ap.add_argument("--duration", type=float, default=20)
    ap.add_argument("--binary", default=PIXGATE)
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="pixgate-upgrade-")
    os.makedirs(f"{work}/root/photos")
    for name in ("rocket.jpg", "chelsea.png"):
        shutil.copy(os.path.join(ROOT, "samples/photos", name), f"{work}/root/photos/{name}")
    port, admin = free_port(), free_port()
    config = f"{work}/pixgate.toml"
    with open(config, "w") as f:
        f.write(f'[server]\nlisten = "127.0.0.1:{port}"\nadmin_listen = "127.0.0.1:{admin}"\n'
                f'upgrade_sock = "{work}/upgrade.sock"\nshutdown_timeout = "10s"\n'
                f'[origin]\nkind = "fs"\nroot = "{work}/root"\n')
    log_old, log_new = open(f"{work}/old.log", "w"), open(f"{work}/new.log", "w")
    old = subprocess.Popen([args.binary, "--config", config], stdout=log_old, stderr=subprocess.STDOUT)
    wait_ready(admin, old)

    paths = ["/photos/rocket.jpg", "/photos/rocket.jpg?x-oss-process=image/resize,w_200",
             "/photos/chelsea.png?x-oss-process=image/info", "/photos/missing.jpg"]
    lock = threading.Lock()
    counts, failures = {}, []
    stop = time.time() + args.duration
    threads_n = 8
    interval = threads_n / args.rate

    def client(seed):
        rnd = random.Random(seed)
        next_at = time.time()
        while time.time() < stop:
            if rnd.random() < 0.2:
                path = f"/photos/rocket.jpg?x-oss-process=image/resize,w_{rnd.randint(50, 400)}"
            else:
                path = rnd.choice(paths)
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", path, headers={"Connection": "close"})
                r = conn.getresponse()
                r.read()
                conn.close()
                with lock:
                    counts[r.status] = counts.get(r.status, 0) + 1
                    if r.status >= 500:
                        failures.append(f"{r.status} {path}")
            except OSError as e:
                with lock:
                    failures.append(f"{type(e).__name__}: {e} ({path})")
            next_at += interval
            time.sleep(max(0.0, next_at - time.time()))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(threads_n)]
    start = time.time()
    for t in threads:
        t.start()
    time.sleep(args.duration / 4)
    new = subprocess.Popen([args.binary, "--config", config, "--upgrade"], stdout=log_new, stderr=subprocess.STDOUT)
    time.sleep(0.5)
    upgraded_at = time.time() - start
    old.send_signal(signal.SIGQUIT)
    old_rc = old.wait(timeout=60)
    old_exit = time.time() - start
    for t in threads:
        t.join()
    elapsed = time.time() - start
    new_alive = new.poll() is None
    with urllib.request.urlopen(f"http://127.0.0.1:{admin}/readyz", timeout=2) as r:
        ready = r.status
    new.send_signal(signal.SIGTERM)
    new_rc = new.wait(timeout=60)
    shutil.rmtree(work)

    total = sum(counts.values())
    print(f"{total} requests in {elapsed:.1f} s ({total / elapsed:.0f} req/s), statuses {dict(sorted(counts.items()))}")
    print(f"SIGQUIT to the old process at {upgraded_at:.1f} s; it exited (code {old_rc}) at {old_exit:.1f} s; "
          f"the new one served on, /readyz {ready}, alive {new_alive}, exit on SIGTERM {new_rc}")
    print(f"failed requests: {len(failures)}" + (f" e.g. {failures[:5]}" if failures else ""))
    raise SystemExit(0 if not failures and new_alive and old_rc == 0 else 1)


if __name__ == "__main__":
    main()
