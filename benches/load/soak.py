#!/usr/bin/env python3
"""Soak: mixed traffic against a release Pixgate for a long time, RSS sampled every 10 s.

Traffic (wrk, Lua-scripted, 2 threads x 16 connections): 70% cache hits (a fixed set of
variants), 20% misses (random widths of three photos, so the result cache fills and evicts:
`cache.result_max_bytes` is 32 MiB), 10% errors (missing keys, bad parameters, a bad
signature). Passes when every answer is an intended one (200, 304, 400, 403, 404, 503) and RSS
is flat after warm-up: growth over the last two thirds of the run below 10%.

Usage: python3 benches/load/soak.py [--minutes 30] [--binary target/release/pixgate]
Needs: wrk; cargo build --release -p pixgate -p pixgate-benches --bins
"""

import argparse
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request

from common import start_pixgate, status_kb

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
REL = os.path.join(ROOT, "target", "release")

LUA = r"""
local threads = {}
local next_id = 1
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local hits = {
  "/bench/photo1.jpg?x-oss-process=image/resize,w_300/quality,Q_80",
  "/bench/photo2.jpg?x-oss-process=image/resize,w_200",
  "/bench/photo3.jpg?x-oss-process=image/resize,m_fill,w_120,h_120/format,webp",
  "/bench/photo1.jpg?x-oss-process=image/info",
  "/bench/photo2.jpg?x-oss-process=image/average-hue",
  "/bench/small.jpg",
}
local errors = {
  "/bench/missing.jpg?x-oss-process=image/resize,w_100",
  "/bench/photo1.jpg?x-oss-process=image/resize,w_0",
  "/bench/photo1.jpg?x-oss-process=image/nope",
  "/nobucket-here/x.jpg",
  "/bench/photo1.jpg?OSSAccessKeyId=AKIDSOAK&Expires=4102444800&Signature=bad",
}

function init(args)
  counts = {}
  math.randomseed(os.time() * 1000 + id)
end

function request()
  local r = math.random(100)
  local path
  if r <= 70 then
    path = hits[math.random(#hits)]
  elseif r <= 90 then
    path = "/bench/photo" .. math.random(3) .. ".jpg?x-oss-process=image/resize,w_" .. math.random(64, 1024)
  else
    path = errors[math.random(#errors)]
  end
  return wrk.format("GET", path)
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts")) do
      total[k] = (total[k] or 0) + v
    end
  end
  for k, v in pairs(total) do
    io.write(string.format("status %d %d\n", k, v))
  end
  io.write(string.format("errors connect %d read %d write %d timeout %d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
end
"""

INTENDED = {200, 304, 400, 403, 404, 503}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--binary", default=os.path.join(REL, "pixgate"))
    ap.add_argument("--csv", default="", help="also write the RSS samples here")
    args = ap.parse_args()

    root = tempfile.mkdtemp(prefix="pixgate-soak-")
    os.makedirs(f"{root}/bench")
    for i, (w, h) in enumerate([(2560, 1600), (1920, 1280), (1600, 1067)], start=1):
        gen = [os.path.join(REL, "bench_input"), "retina.jpg", str(w), str(h)]
        src = subprocess.run(gen, check=True, capture_output=True, text=True).stdout.strip()
        shutil.copy(src, f"{root}/bench/photo{i}.jpg")
    shutil.copy(os.path.join(ROOT, "samples", "photos", "rocket.jpg"), f"{root}/bench/small.jpg")
    config = os.path.join(root, "pixgate.toml")
    with open(config, "w") as f:
        f.write(f'[origin]\nkind = "fs"\nroot = "{root}"\n'
                '[cache]\nresult_max_bytes = "32MiB"\nsource_max_bytes = "64MiB"\n'
                '[[credentials]]\naccess_key_id = "AKIDSOAK"\naccess_key_secret = "soak"\n')
    lua = os.path.join(root, "soak.lua")
    with open(lua, "w") as f:
        f.write(LUA)

    proc, port, _admin = start_pixgate(args.binary, "--config", config)

    seconds = int(args.minutes * 60)
    samples = []  # (seconds since start, RSS kB)
    start = time.time()
    stop = threading.Event()

    def sampler():
        while not stop.is_set():
            samples.append((time.time() - start, status_kb(proc.pid, "VmRSS")))
            stop.wait(10)

    t = threading.Thread(target=sampler)
    t.start()
    wrk = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "--timeout", "30s", "-s", lua, f"http://127.0.0.1:{port}"],
        capture_output=True, text=True,
    )
    stop.set()
    t.join()
    alive = proc.poll() is None
    peak = status_kb(proc.pid, "VmHWM")
    proc.terminate()
    proc.wait()
    shutil.rmtree(root)

    counts, socket_errors = {}, ""
    for line in wrk.stdout.splitlines():
        if line.startswith("status "):
            _, code, n = line.split()
            counts[int(code)] = int(n)
        if line.startswith("errors "):
            socket_errors = line
    total = sum(counts.values())
    unintended = {k: v for k, v in counts.items() if k not in INTENDED}
    warm = [kb for s, kb in samples if s >= seconds / 3]
    base = warm[0] if warm else 0
    growth = (max(warm) - base) / base * 100 if base else 0.0
    print(f"{args.minutes:.0f} min, {total} requests ({total / seconds:.0f} req/s), statuses {dict(sorted(counts.items()))}")
    print(f"wrk socket {socket_errors}")
    print(f"RSS samples (MB, every 10 s): first {samples[0][1] / 1024:.1f}, at 1/3 {base / 1024:.1f}, "
          f"max after 1/3 {max(warm) / 1024:.1f}, last {samples[-1][1] / 1024:.1f}; peak VmHWM {peak / 1024:.1f}")
    print(f"growth over the last two thirds: {growth:.1f}% (budget < 10%)")
    print(f"process alive at the end: {alive}; unintended statuses: {unintended or 'none'}")
    if args.csv:
        with open(args.csv, "w") as f:
            f.write("seconds,rss_kb\n")
            for s, kb in samples:
                f.write(f"{s:.0f},{kb}\n")
    ok = alive and not unintended and growth < 10 and total > 0
    print("PASS" if ok else "FAIL")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
