#!/usr/bin/env python3
"""Pixgate's engine against libvips, same inputs, same task, single thread, one run.

Installs pyvips + pyvips-binary (libvips 8.18 wheels from PyPI) into target/compare-venv on
first use, builds Pixgate's timing binaries in release, then alternates the two tools three
times and reports the medians and their ratio.

Usage: python3 benches/compare/vips_compare.py
"""

import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VENV = os.path.join(ROOT, "target", "compare-venv")
RUNS = 15

TASKS = [
    # (name, sample, w, h, grain, pixgate chain, vips function)
    ("thumbnail 5120x2880 -> w300 Q80", "retina.jpg", 5120, 2880, False, "image/resize,w_300/quality,Q_80", "thumb"),
    ("thumbnail 5120x2880 grain -> w300 Q80", "retina.jpg", 5120, 2880, True, "image/resize,w_300/quality,Q_80", "thumb"),
    ("webp 2560x1600 -> w1280 Q75", "retina.jpg", 2560, 1600, False, "image/resize,w_1280/format,webp/quality,Q_75", "webp"),
    ("webp 2560x1600 grain -> w1280 Q75", "retina.jpg", 2560, 1600, True, "image/resize,w_1280/format,webp/quality,Q_75", "webp"),
]

VIPS = r"""
import os, sys, time, statistics
os.environ["VIPS_CONCURRENCY"] = "1"
import pyvips
pyvips.cache_set_max(0)
path, task, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(path, "rb").read()
times = []
for _ in range(runs):
    t = time.perf_counter()
    if task == "thumb":
        out = pyvips.Image.thumbnail_buffer(data, 300).jpegsave_buffer(Q=80)
    else:
        out = pyvips.Image.thumbnail_buffer(data, 1280).webpsave_buffer(Q=75)
    times.append(time.perf_counter() - t)
print("%.2f ms median of %d (%d output bytes) libvips %s" % (statistics.median(times) * 1000, runs, len(out), pyvips.version(0) if hasattr(pyvips, "version") else ""))
"""


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout.strip()


def main():
    py = os.path.join(VENV, "bin", "python")
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([py, "-m", "pip", "install", "--quiet", "pyvips", "pyvips-binary"], check=True)
    vips_version = sh([py, "-c", "import pyvips; print(pyvips.__version__, pyvips.version(0), pyvips.version(1), pyvips.version(2))"])
    env = dict(os.environ)
    sh(["cargo", "build", "--release", "-p", "pixgate-benches", "--bins"], cwd=ROOT, env=env)
    bindir = os.path.join(ROOT, "target", "release")
    print(f"pyvips / libvips: {vips_version}")
    for name, sample, w, h, grain, chain, vtask in TASKS:
        path = sh([os.path.join(bindir, "bench_input"), sample, str(w), str(h)] + (["grain"] if grain else []))
        ours, theirs = [], []
        for _ in range(3):
            out = sh([os.path.join(bindir, "pipeline_time"), path, chain, str(RUNS)])
            ours.append(float(re.match(r"([\d.]+) ms", out).group(1)))
            out = sh([py, "-c", VIPS, path, vtask, str(RUNS)], env={**env, "VIPS_CONCURRENCY": "1"})
            theirs.append(float(re.match(r"([\d.]+) ms", out).group(1)))
        o, t = statistics.median(ours), statistics.median(theirs)
        print(f"{name}: pixgate {o:.1f} ms, libvips {t:.1f} ms, ratio {o / t:.2f}x "
              f"(medians of 3 rounds x {RUNS} runs; rounds pixgate {ours}, libvips {theirs})")


if __name__ == "__main__":
    main()
