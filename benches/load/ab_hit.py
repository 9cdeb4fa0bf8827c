#!/usr/bin/env python3
"""Two Pixgate builds side by side on the cache hit: CPU per hit and req/s, alternating rounds.

Both builds serve samples/ at once (the idle one costs nothing); each round runs wrk against
one, then the other, and reads the server's CPU time (utime+stime from /proc) before and after.
CPU per hit is steadier than req/s on a shared machine. Access logs go to files under
$TMPDIR. Prints every round's values sorted, and the medians.

Usage: python3 benches/load/ab_hit.py OLD_BINARY NEW_BINARY [--rounds 6] [--seconds 5]
Needs: wrk.
"""

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import urllib.request

from common import free_port, wait_ready

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CHAIN = "image/resize,w_400/quality,Q_85"


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--seconds", type=int, default=5)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="pixgate-ab-")
    servers = {}
    for name, binary in (("old", args.old), ("new", args.new)):
        port, admin = free_port(), free_port()
        log = open(os.path.join(work, f"{name}.log"), "wb")
        proc = subprocess.Popen([binary, "--root", os.path.join(ROOT, "samples"), "--listen",
                                 f"127.0.0.1:{port}", "--admin-listen", f"127.0.0.1:{admin}"],
                                stdout=log, stderr=subprocess.DEVNULL)
        wait_ready(admin, proc)
        url = f"http://127.0.0.1:{port}/photos/rocket.jpg?x-oss-process={CHAIN}"
        urllib.request.urlopen(url).read()
        with urllib.request.urlopen(url) as r:
            assert r.headers["x-pixgate-cache"] == "hit", r.headers["x-pixgate-cache"]
        servers[name] = (proc, url)
    results = {name: [] for name in servers}
    try:
        for _ in range(args.rounds):
            for name, (proc, url) in servers.items():
                c0 = cpu_seconds(proc.pid)
                out = subprocess.run(["wrk", "-t1", "-c32", f"-d{args.seconds}s", url],
                                     capture_output=True, text=True, check=True).stdout
                c1 = cpu_seconds(proc.pid)
                total = int(re.search(r"(\d+) requests in", out).group(1))
                rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
                results[name].append(((c1 - c0) / total * 1e6, rps))
    finally:
        for proc, _ in servers.values():
            proc.kill()
    print(f"wrk -t1 -c32 -d{args.seconds}s, {args.rounds} alternating rounds; {CHAIN} on samples/")
    for name, rows in results.items():
        us = sorted(r[0] for r in rows)
        rps = sorted(r[1] for r in rows)
        print(f"{name}: CPU per hit {' '.join(f'{u:.1f}' for u in us)} us (median "
              f"{statistics.median(us):.1f}); req/s {' '.join(f'{r:.0f}' for r in rps)} (median "
              f"{statistics.median(rps):.0f})")


if __name__ == "__main__":
    main()
