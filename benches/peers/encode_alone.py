#!/usr/bin/env python3
"""The WebP encode alone, on the same pixels: Pixgate's libwebp, sharp's and libvips' (pyvips).

Scenario f of run.py (2560x1600 -> w1280 WebP q75) spends most of its time in the WebP encoder.
This takes the 1280-wide image once (libvips `thumbnail`), hands the same RGB pixels to each
encoder at q75 with its defaults (method / effort 4), one thread, and prints the median time
and the size: equal sizes mean the same encoder doing the same work. Then libvips at efforts
0..6 with the PSNR of each result against the pixels, to show what a lower effort trades.

Usage: target/peers/venv/bin/python benches/peers/encode_alone.py [--runs 15]
Needs: benches/peers/setup.sh and make_inputs.py; cargo build --release -p pixgate-benches.
"""

import argparse
import math
import os
import subprocess
import tempfile
import time

os.environ.setdefault("VIPS_CONCURRENCY", "1")  # one thread, as the other two (read at import)
import pyvips  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PEERS = os.path.join(ROOT, "target", "peers")
SOURCE = os.path.join(PEERS, "inputs", "photo-2560x1600.jpg")
ENCODE_TIME = os.path.join(ROOT, "target", "release", "encode_time")
Q = 75

SHARP = """
const sharp = require('sharp');
const fs = require('fs');
const [file, w, h, q, runs] = process.argv.slice(2);
const raw = fs.readFileSync(file);
(async () => {
  const ts = []; let len = 0;
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    const b = await sharp(raw, {raw: {width: +w, height: +h, channels: 3}}).webp({quality: +q}).toBuffer();
    ts.push(Number(process.hrtime.bigint() - t) / 1e6); len = b.length;
  }
  ts.sort((a, b) => a - b);
  console.log(ts[Math.floor(runs / 2)].toFixed(2) + ' ' + len + ' libwebp ' + sharp.versions.webp +
              ', sharp.concurrency() ' + sharp.concurrency());
})();
"""


def median_ms(f, runs):
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        out = f()
        ts.append(time.perf_counter() - t)
    ts.sort()
    return ts[runs // 2] * 1000, out


def psnr(a, b):
    d = a.cast("float") - b.cast("float")
    return 10 * math.log10(255 * 255 / (d * d).avg())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    pyvips.cache_set_max(0)
    im = pyvips.Image.thumbnail(SOURCE, 1280).copy_memory()
    w, h = im.width, im.height
    work = tempfile.mkdtemp(prefix="pixgate-encode-")
    raw = os.path.join(work, "pixels.rgb")
    with open(raw, "wb") as f:
        f.write(im.write_to_memory())
    print(f"{w}x{h} RGB from {os.path.basename(SOURCE)}, WebP q{Q}, median of {args.runs}, one thread\n")
    print("| encoder | ms | bytes |\n| --- | ---: | ---: |")
    out = subprocess.run([ENCODE_TIME, raw, str(w), str(h), str(Q), str(args.runs)],
                         capture_output=True, text=True, check=True).stdout.split()
    print(f"| Pixgate (libwebp-sys, method 4) | {out[0]} | {out[5].lstrip('(')} |")
    ipx = os.path.join(PEERS, "ipx")
    script = os.path.join(ipx, "encode_alone.cjs")
    with open(script, "w") as f:
        f.write(SHARP)
    try:
        out = subprocess.run(["node", script, raw, str(w), str(h), str(Q), str(args.runs)], cwd=ipx,
                             capture_output=True, text=True, check=True).stdout.split(" ", 2)
    finally:
        os.remove(script)
    print(f"| sharp ({out[2].strip()}, effort 4) | {out[0]} | {out[1]} |")
    ms, b = median_ms(lambda: im.webpsave_buffer(Q=Q), args.runs)
    print(f"| libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)} (effort 4) | {ms:.2f} | {len(b)} |")
    print("\nlibvips at each effort (the size and the PSNR of the result against the pixels):\n")
    print("| effort | ms | bytes | PSNR dB |\n| ---: | ---: | ---: | ---: |")
    for effort in range(7):
        ms, b = median_ms(lambda: im.webpsave_buffer(Q=Q, effort=effort), max(5, args.runs // 2))
        back = pyvips.Image.new_from_buffer(b, "")
        print(f"| {effort} | {ms:.1f} | {len(b)} | {psnr(back, im):.2f} |")
    os.remove(raw)
    os.rmdir(work)


if __name__ == "__main__":
    main()
