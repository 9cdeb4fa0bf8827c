#!/usr/bin/env python3
"""A result-cache hit against nginx serving the same bytes as a static file, in one run.

Pixgate (release build, fs origin) renders a ~20 KB variant once; nginx (Debian's, started here
on a free loopback port with 2 workers) serves those exact bytes from a folder. Both log every
request to a file: Pixgate its access log (stdout to a file), nginx `access_log ... buffer=64k`;
`--no-log` turns both off. wrk (-t2 -c64) then loads each in turn, twice, alternating. Reports
req/s, p99, the ratio, and Pixgate's CPU time per hit (utime+stime from /proc over the run /
requests served).

Usage: python3 benches/load/cache_hit.py [--duration 10] [--no-log | --json-log]
Needs: cargo build --release -p pixgate; wrk and nginx (apt-get install wrk nginx-light).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from common import free_port

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PIXGATE = os.path.join(ROOT, "target", "release", "pixgate")
CHAIN = "image/resize,w_400/quality,Q_85"


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


ACCEPT = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"


def wrk(url, duration, accept=None):
    headers = ["-H", f"Accept: {accept}"] if accept else []
    out = subprocess.run(["wrk", "-t2", "-c64", f"-d{duration}s", "--latency", *headers, url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(\w+)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, total, float(p99.group(1)) * scale, int(non2xx.group(1)) if non2xx else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--binary", default=PIXGATE, help="the Pixgate build to measure")
    ap.add_argument("--browser-accept", action="store_true",
                    help="send a browser's Accept header (the baseline for --auto-format)")
    ap.add_argument("--no-log", action="store_true", help="neither server logs requests")
    ap.add_argument("--json-log", action="store_true", help="Pixgate's access log in its JSON format")
    ap.add_argument("--auto-format", action="store_true",
                    help="serve with auto_format = [\"webp\"] and send a browser's Accept (WebP variants)")
    args = ap.parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}"):
            sys.exit(f"{tool} not found: apt-get install wrk nginx-light")
    if not os.path.exists(args.binary):
        sys.exit("build first: cargo build --release -p pixgate")

    work = tempfile.mkdtemp(prefix="pixgate-hit-")
    os.chmod(work, 0o755)  # nginx's workers run as another user
    os.makedirs(f"{work}/root/photos")
    shutil.copy(os.path.join(ROOT, "samples/photos/rocket.jpg"), f"{work}/root/photos/rocket.jpg")
    port, admin = free_port(), free_port()
    extra = []
    if args.auto_format:
        with open(f"{work}/pixgate.toml", "w") as f:
            f.write('[server]\nauto_format = ["webp"]\n')
        extra = ["--config", f"{work}/pixgate.toml"]
    accept = ACCEPT if args.auto_format or args.browser_accept else None
    px_log = subprocess.DEVNULL if args.no_log else open(f"{work}/pixgate.log", "wb")
    env = dict(os.environ, PIXGATE_SERVER_ACCESS_LOG="false") if args.no_log else None
    if args.json_log:
        env = dict(env or os.environ, PIXGATE_SERVER_LOG_FORMAT="json")
    px = subprocess.Popen([args.binary, *extra, "--root", f"{work}/root", "--listen", f"127.0.0.1:{port}",
                           "--admin-listen", f"127.0.0.1:{admin}"],
                          stdout=px_log, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}/photos/rocket.jpg?x-oss-process={CHAIN}"
    for _ in range(500):
        try:
            req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
            with urllib.request.urlopen(req, timeout=2) as r:
                body = r.read()
                break
        except OSError:
            time.sleep(0.01)
    os.makedirs(f"{work}/static")
    with open(f"{work}/static/variant.jpg", "wb") as f:
        f.write(body)
    os.chmod(f"{work}/static/variant.jpg", 0o644)
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req) as r:
        assert r.headers["x-pixgate-cache"] == "hit", r.headers["x-pixgate-cache"]
        if args.auto_format:
            assert r.headers["content-type"] == "image/webp", r.headers["content-type"]

    nport = free_port()
    conf = f"""
worker_processes 2;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
  {"access_log off;" if args.no_log else f"access_log {work}/nginx-access.log combined buffer=64k;"}
  sendfile on;
  keepalive_requests 100000;
  types {{ image/jpeg jpg; }}
  default_type application/octet-stream;
  server {{
    listen 127.0.0.1:{nport};
    root {work}/static;
  }}
}}
"""
    with open(f"{work}/nginx.conf", "w") as f:
        f.write(conf)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    ng = subprocess.Popen([nginx, "-c", f"{work}/nginx.conf", "-g", "daemon off;"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    nurl = f"http://127.0.0.1:{nport}/variant.jpg"
    time.sleep(0.5)
    with urllib.request.urlopen(nurl) as r:
        assert r.read() == body, "nginx must serve the same bytes"

    logging = "neither logging" if args.no_log else "both logging every request to a file"
    print(f"variant: {len(body)} bytes ({CHAIN}); wrk -t2 -c64 -d{args.duration}s, alternating twice; {logging}")
    wrk(url, 2, accept)
    wrk(nurl, 2)
    results = {"pixgate": [], "nginx": []}
    cpu = []
    for _ in range(2):
        c0 = cpu_seconds(px.pid)
        r = wrk(url, args.duration, accept)
        cpu.append((cpu_seconds(px.pid) - c0) / r[1])
        results["pixgate"].append(r)
        results["nginx"].append(wrk(nurl, args.duration))
    for name, rs in results.items():
        best = max(rs, key=lambda r: r[0])
        print(f"{name}: {' / '.join(f'{r[0]:.0f}' for r in rs)} req/s, p99 {' / '.join(f'{r[2]:.2f}' for r in rs)} ms, "
              f"non-2xx {sum(r[3] for r in rs)}")
    p = sum(r[0] for r in results["pixgate"]) / 2
    n = sum(r[0] for r in results["nginx"]) / 2
    print(f"ratio pixgate/nginx (mean of the two rounds): {p / n:.2f}x")
    print(f"Pixgate CPU per hit: {' / '.join(f'{c * 1e6:.1f}' for c in cpu)} us (wrk shares the 2 cores)")
    px.terminate()
    ng.terminate()
    px.wait()
    ng.wait()
    if not args.no_log:
        lines = sum(1 for _ in open(f"{work}/pixgate.log", "rb"))
        nlines = sum(1 for _ in open(f"{work}/nginx-access.log", "rb"))
        print(f"access log lines: Pixgate {lines}, nginx {nlines}")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
