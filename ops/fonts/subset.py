#!/usr/bin/env python3
"""Rebuild the two fonts Pixgate compiles in as the last resort for text watermarks.

* pixgate-fallback-latin.ttf: DejaVu Sans (Bitstream Vera licence; Debian fonts-dejavu-core),
  ASCII, Latin-1, Latin Extended-A and general punctuation.
* pixgate-fallback-cjk.ttf: Droid Sans Fallback (Apache-2.0; Debian fonts-droid-fallback),
  CJK punctuation, full-width forms, hiragana, katakana and the 3,755 level-1 characters of
  GB 2312 (the common simplified Chinese characters). Droid Sans Fallback has no Latin letters.

    apt-get install fonts-dejavu-core fonts-droid-fallback && pip install fonttools
    python3 ops/fonts/subset.py
"""
import os

from fontTools import subset

HERE = os.path.dirname(os.path.abspath(__file__))
DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DROID = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"


def gb2312_level1():
    chars = []
    for hi in range(0xB0, 0xD8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.append(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def build(source, points, name):
    options = subset.Options()
    options.layout_features = ["kern"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    font = subset.load_font(source, options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(points))
    subsetter.subset(font)
    out = os.path.join(HERE, name)
    subset.save_font(font, out, options)
    print(f"{out}: {len(font.getBestCmap())} characters, {os.path.getsize(out)} bytes")


def main():
    latin = set(range(0x20, 0x7F)) | set(range(0xA0, 0x180)) | set(range(0x2000, 0x2070)) | {0x20AC}
    build(DEJAVU, latin, "pixgate-fallback-latin.ttf")
    cjk = set(range(0x3000, 0x3100)) | set(range(0xFF00, 0xFFF0))
    cjk |= {ord(c) for c in gb2312_level1()}
    build(DROID, cjk, "pixgate-fallback-cjk.ttf")


if __name__ == "__main__":
    main()
