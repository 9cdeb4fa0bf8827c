#!/usr/bin/env python3
"""Camera-like JPEG inputs for the peer benchmark (benches/peers/run.py).

A real photo (default samples/photos/retina.jpg) is cropped, centred, to each target's aspect
ratio, resampled with Lanczos to the target size, given deterministic per-pixel gaussian grain
(numpy, fixed seed, sigma 7 per channel, like a sensor's noise: an upscaled photo alone is far
smoother, and so far cheaper to decode, than a camera's) and saved by Pillow at quality 90.
Files already there are kept (delete target/peers/inputs/ to make them again).

  photo-5120x2880-baseline.jpg      14.7 MP, baseline, 4:2:0
  photo-5120x2880-progressive.jpg   the same pixels, progressive, 4:2:0
  photo-4000x3000-422.jpg           12 MP, baseline, 4:2:2
  photo-6000x4000-444.jpg           24 MP, baseline, 4:4:4
  photo-6000x4000-progressive.jpg   24 MP, progressive, 4:2:0
  photo-2560x1600.jpg               4 MP, baseline, 4:2:0

Usage (after bash benches/peers/setup.sh):
  target/peers/venv/bin/python benches/peers/make_inputs.py [--source PATH] [--sigma 7] [--out DIR]
"""

import argparse
import os

import numpy as np
from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "target", "peers", "inputs")
SEED = 20240601

# (file name, width, height, Pillow subsampling: 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0, progressive)
INPUTS = [
    ("photo-5120x2880-baseline.jpg", 5120, 2880, 2, False),
    ("photo-5120x2880-progressive.jpg", 5120, 2880, 2, True),
    ("photo-4000x3000-422.jpg", 4000, 3000, 1, False),
    ("photo-6000x4000-444.jpg", 6000, 4000, 0, False),
    ("photo-6000x4000-progressive.jpg", 6000, 4000, 2, True),
    ("photo-2560x1600.jpg", 2560, 1600, 2, False),
]


def grainy(src, w, h, sigma):
    """`src` cropped to w:h, centred, Lanczos-resampled to w x h, plus gaussian grain."""
    sw, sh = src.size
    if sw / sh > w / h:
        cw, ch = round(sh * w / h), sh
    else:
        cw, ch = sw, round(sw * h / w)
    x0, y0 = (sw - cw) // 2, (sh - ch) // 2
    big = src.crop((x0, y0, x0 + cw, y0 + ch)).resize((w, h), Image.Resampling.LANCZOS)
    rng = np.random.default_rng(SEED + w * 7 + h)
    px = np.asarray(big, dtype=np.float32)
    px += rng.normal(0.0, sigma, size=px.shape).astype(np.float32)
    return Image.fromarray(np.clip(np.rint(px), 0, 255).astype(np.uint8), "RGB")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", default=os.path.join(ROOT, "samples", "photos", "retina.jpg"))
    ap.add_argument("--sigma", type=float, default=7.0, help="grain, standard deviation per channel")
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()

    os.makedirs(args.out, exist_ok=True)
    src = Image.open(args.source).convert("RGB")
    pixels = {}
    for name, w, h, subsampling, progressive in INPUTS:
        path = os.path.join(args.out, name)
        if not os.path.exists(path):
            if (w, h) not in pixels:
                pixels = {(w, h): grainy(src, w, h, args.sigma)}  # one size in memory at a time
            tmp = path + ".tmp"
            pixels[(w, h)].save(tmp, "JPEG", quality=90, subsampling=subsampling,
                                progressive=progressive, optimize=progressive)
            os.replace(tmp, path)
        sub = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}[subsampling]
        kind = "progressive" if progressive else "baseline"
        print(f"{path}  {w}x{h} {sub} {kind} q90  {os.path.getsize(path) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
