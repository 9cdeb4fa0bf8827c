#!/usr/bin/env python3
"""Regenerate the animated WebP of the animation tests (ops/src/pipeline.rs, `anim.webp`).

Pillow writes it through libwebp's WebPAnimEncoder, as most tools do: the frames after the first
are stored as the rectangles that changed, with their offsets, blending and disposal, so a reader
must composite them on the canvas to get the frames back.

    pip install pillow
    python3 ops/tests/anim/make.py

anim.webp: a 48x32 canvas, lossless, three frames shown 80, 120 and 200 ms, played twice
(loop count 2). Every frame: grey, an 8x8 red square at (8i, 8) for frame i, the bottom-right
8x8 corner transparent. Frame 1 adds a green 4x4 square at (40, 0); frame 2 makes it transparent
again, so the encoder has to clear what frame 1 drew (disposal or a full frame).
"""

import io
import os

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))

GREY = (128, 128, 128, 255)
RED = (230, 20, 20, 255)
GREEN = (20, 200, 40, 255)
CLEAR = (0, 0, 0, 0)


def fill(im, x0, y0, w, h, colour):
    for y in range(y0, y0 + h):
        for x in range(x0, x0 + w):
            im.putpixel((x, y), colour)


def frame(i):
    im = Image.new("RGBA", (48, 32), GREY)
    fill(im, 8 * i, 8, 8, 8, RED)
    fill(im, 40, 24, 8, 8, CLEAR)
    if i == 1:
        fill(im, 40, 0, 4, 4, GREEN)
    if i == 2:
        fill(im, 40, 0, 4, 4, CLEAR)
    return im


def main():
    frames = [frame(i) for i in range(3)]
    out = io.BytesIO()
    frames[0].save(
        out,
        "WEBP",
        save_all=True,
        append_images=frames[1:],
        duration=[80, 120, 200],
        loop=2,
        lossless=True,
    )
    with open(os.path.join(HERE, "anim.webp"), "wb") as f:
        f.write(out.getvalue())


if __name__ == "__main__":
    main()
