#!/usr/bin/env python3
"""Regenerate the fixtures of ops/tests/colour.rs and print the values it expects.

Each file is written the way real tools write it: JPEGs and PNGs by Pillow (libjpeg, zlib),
with the ICC profile embedded as Pillow embeds it (APP2 `ICC_PROFILE` chunks, a PNG `iCCP`
chunk). The profiles are built here, byte by byte, in the layouts real tools use (a v4 Display
P3 as phones embed it, a v4 profile as lcms/colord write them, a tiny v2 CMYK printer profile
with an `A2B0` lut16), except Adobe RGB (1998), which is the 580-byte profile Debian's
icc-profiles-free ships. Nothing but the fixtures is written: the profiles live only inside them.

    pip install pillow
    apt-get install icc-profiles-free     # /usr/share/color/icc/compatibleWithAdobeRGB1998.icc
    python3 ops/tests/colour/make.py      # writes the files, prints the expected values

Expected values come from Pillow's ImageCms (lcms2), relative colorimetric (the same function as
perceptual for these profiles: the RGB ones are matrix/TRC profiles, the CMYK one has only
`A2B0`), applied to what Pillow decodes from each file, so JPEG's own error is included. The
test allows 3 per channel between lcms2 and Pixgate (moxcms); colour.rs holds the numbers
printed at the end.
"""

import hashlib
import io
import os
import random
import struct
import zlib

from PIL import Image, ImageCms

HERE = os.path.dirname(os.path.abspath(__file__))
ADOBE_RGB = "/usr/share/color/icc/compatibleWithAdobeRGB1998.icc"

# Patches: 32x32 squares side by side (whole JPEG MCUs, so each stays flat), sampled at their
# centres.
PATCH = 32


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    print(f"{name}: {len(data)} bytes")


def patches(mode, colours):
    img = Image.new(mode, (PATCH * len(colours), PATCH))
    for i, c in enumerate(colours):
        img.paste(c, (i * PATCH, 0, (i + 1) * PATCH, PATCH))
    return img


def centres(img, n):
    return [img.getpixel((i * PATCH + PATCH // 2, PATCH // 2)) for i in range(n)]


def save(img, fmt, **kw):
    out = io.BytesIO()
    img.save(out, format=fmt, **kw)
    return out.getvalue()


# --- Colour arithmetic (no numpy) -----------------------------------------------------------

D50 = (0.9642, 1.0, 0.8249)  # the ICC PCS illuminant
BRADFORD = [[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]]


def xy_to_xyz(x, y):
    return (x / y, 1.0, (1 - x - y) / y)


def mat_vec(m, v):
    return tuple(sum(m[r][c] * v[c] for c in range(3)) for r in range(3))


def mat_mul(a, b):
    return [[sum(a[r][k] * b[k][c] for k in range(3)) for c in range(3)] for r in range(3)]


def inverse(m):
    (a, b, c), (d, e, f), (g, h, i) = m
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    return [
        [(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
        [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
        [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det],
    ]


def adaptation(src_white, dst_white):
    """Bradford chromatic adaptation from one white to another (what `chad` holds)."""
    s, d = mat_vec(BRADFORD, src_white), mat_vec(BRADFORD, dst_white)
    scale = [[d[0] / s[0], 0, 0], [0, d[1] / s[1], 0], [0, 0, d[2] / s[2]]]
    return mat_mul(inverse(BRADFORD), mat_mul(scale, BRADFORD))


def colourants(primaries, white_xy):
    """The D50-adapted rXYZ, gXYZ, bXYZ of an RGB space, and its `chad` matrix."""
    white = xy_to_xyz(*white_xy)
    p = [xy_to_xyz(*xy) for xy in primaries]
    cols = [[p[c][r] for c in range(3)] for r in range(3)]
    s = mat_vec(inverse(cols), white)
    m = [[cols[r][c] * s[c] for c in range(3)] for r in range(3)]
    chad = adaptation(white, D50)
    adapted = mat_mul(chad, m)
    return [tuple(adapted[r][c] for r in range(3)) for c in range(3)], chad


def srgb_to_linear(v):
    v /= 255
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def xyz_d50(rgb8):
    """PCS XYZ (D50) of an sRGB colour, through the D50-adapted sRGB colourants."""
    (r, g, b), _ = colourants(SRGB_PRIMARIES, D65_XY)
    lin = [srgb_to_linear(v) for v in rgb8]
    return [r[i] * lin[0] + g[i] * lin[1] + b[i] * lin[2] for i in range(3)]


def lab_d50(rgb8):
    """CIELAB (D50) of an sRGB colour."""
    xyz = xyz_d50(rgb8)

    def f(t):
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    fx, fy, fz = (f(xyz[i] / D50[i]) for i in range(3))
    return (116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz))


D65_XY = (0.3127, 0.3290)
SRGB_PRIMARIES = [(0.64, 0.33), (0.30, 0.60), (0.15, 0.06)]
P3_PRIMARIES = [(0.680, 0.320), (0.265, 0.690), (0.150, 0.060)]
ROMM_PRIMARIES = [(0.7347, 0.2653), (0.1596, 0.8404), (0.0366, 0.0001)]
D50_XY = (0.3457, 0.3585)


# --- ICC profile bytes ------------------------------------------------------------------------


def s15(v):
    return struct.pack(">i", round(v * 65536))


def xyz_tag(v):
    return b"XYZ \0\0\0\0" + b"".join(s15(c) for c in v)


def para(function, *params):
    return b"para\0\0\0\0" + struct.pack(">HH", function, 0) + b"".join(s15(p) for p in params)


def mluc(text):
    s = text.encode("utf-16-be")
    return b"mluc\0\0\0\0" + struct.pack(">II", 1, 12) + b"enUS" + struct.pack(">II", len(s), 28) + s


def desc_v2(text):
    """textDescriptionType: ASCII, then empty Unicode and ScriptCode parts."""
    a = text.encode("ascii") + b"\0"
    return b"desc\0\0\0\0" + struct.pack(">I", len(a)) + a + struct.pack(">IIHB", 0, 0, 0, 0) + bytes(67)


def text_v2(text):
    return b"text\0\0\0\0" + text.encode("ascii") + b"\0"


def sf32(m):
    return b"sf32\0\0\0\0" + b"".join(s15(v) for row in m for v in row)


def profile(version, cls, space, pcs, tags, cmm=b"lcms", platform=b"APPL", creator=b"lcms"):
    """Header, tag table and tag data (4-byte aligned; equal data shared, as lcms does). v4
    profiles carry their MD5 profile ID."""
    start = 128 + 4 + 12 * len(tags)
    table, body, seen = b"", b"", {}
    for sig, data in tags:
        if data not in seen:
            seen[data] = start + len(body)
            body += data + bytes(-len(data) % 4)
        table += struct.pack(">4sII", sig, seen[data], len(data))
    size = start + len(body)
    header = (
        struct.pack(">I4sI4s4s4s", size, cmm, version, cls, space, pcs)
        + struct.pack(">6H", 2024, 5, 6, 7, 8, 9)
        + b"acsp"
        + platform
        + bytes(4)  # flags
        + bytes(8)  # manufacturer, model
        + bytes(8)  # attributes
        + bytes(4)  # rendering intent: perceptual
        + b"".join(s15(c) for c in D50)
        + creator
        + bytes(16)  # profile ID
        + bytes(28)
    )
    data = bytearray(header + struct.pack(">I", len(tags)) + table + body)
    assert len(data) == size and len(header) == 128
    if version >= 0x04000000:
        data[84:100] = hashlib.md5(bytes(data)).digest()  # flags, intent and ID are zero here
    return bytes(data)


def display_p3():
    """Display P3 as phones embed it: v4, `mluc` texts, D50-adapted colourants, the sRGB curve
    as a `para` type 3 shared by the three channels, a Bradford `chad`."""
    (r, g, b), chad = colourants(P3_PRIMARIES, D65_XY)
    srgb_curve = para(3, 2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
    return profile(
        0x04000000,
        b"mntr",
        b"RGB ",
        b"XYZ ",
        [
            (b"desc", mluc("Display P3")),
            (b"cprt", mluc("No copyright, use freely")),
            (b"wtpt", xyz_tag(D50)),
            (b"rXYZ", xyz_tag(r)),
            (b"gXYZ", xyz_tag(g)),
            (b"bXYZ", xyz_tag(b)),
            (b"rTRC", srgb_curve),
            (b"chad", sf32(chad)),
            (b"bTRC", srgb_curve),
            (b"gTRC", srgb_curve),
        ],
        cmm=b"appl",
        creator=b"appl",
    )


def romm_v4():
    """ROMM (ProPhoto) RGB as lcms and colord write v4 profiles: `mluc` texts, `chad`, a pure
    gamma 1.8 `para` curve shared by the three channels."""
    (r, g, b), chad = colourants(ROMM_PRIMARIES, D50_XY)
    gamma = para(0, 1.8)
    return profile(
        0x04400000,
        b"mntr",
        b"RGB ",
        b"XYZ ",
        [
            (b"desc", mluc("ROMM RGB")),
            (b"cprt", mluc("No copyright, use freely")),
            (b"wtpt", xyz_tag(D50)),
            (b"chad", sf32(chad)),
            (b"rXYZ", xyz_tag(r)),
            (b"bXYZ", xyz_tag(b)),
            (b"gXYZ", xyz_tag(g)),
            (b"rTRC", gamma),
            (b"gTRC", gamma),
            (b"bTRC", gamma),
        ],
    )


# A small subtractive model for the CMYK profile's 16 grid corners: each ink filters the light
# (sRGB of a solid ink on the paper). As in print profiles, the table is relative to the paper:
# bare paper is the PCS white, and the paper's own colour is only the media white point.
PAPER = (250, 248, 243)
INKS = [(0, 160, 226), (226, 0, 122), (255, 236, 0), (40, 38, 38)]  # C, M, Y, K


def cmyk_corner(c, m, y, k):
    lin = [1.0, 1.0, 1.0]
    for on, ink in zip((c, m, y, k), INKS):
        if on:
            lin = [a * srgb_to_linear(b) for a, b in zip(lin, ink)]
    return lab_d50([255 * linear_to_srgb(v) for v in lin])


def linear_to_srgb(v):
    return 12.92 * v if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055


def lut16_cmyk_to_lab():
    """`mft2`: 4 inputs, 3 outputs, a 2-point grid, identity input and output tables; Lab in
    the v2 16-bit encoding (L 100 = 0xFF00, a/b 0 = 0x8000). The first input varies slowest."""
    out = b"mft2\0\0\0\0" + bytes([4, 3, 2, 0])
    out += b"".join(s15(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
    out += struct.pack(">HH", 2, 2)
    out += struct.pack(">HH", 0, 65535) * 4
    for c in (0, 1):
        for m in (0, 1):
            for y in (0, 1):
                for k in (0, 1):
                    lab = cmyk_corner(c, m, y, k)
                    enc = (
                        round(lab[0] * 652.8),
                        round((min(max(lab[1], -128), 127.99) + 128) * 256),
                        round((min(max(lab[2], -128), 127.99) + 128) * 256),
                    )
                    out += struct.pack(">HHH", *(min(max(v, 0), 65535) for v in enc))
    out += struct.pack(">HH", 0, 65535) * 3
    return out


def tiny_cmyk():
    """A v2 output (printer) profile, CMYK to Lab through `A2B0`, as print profiles are (only
    much smaller: a 2-point grid)."""
    return profile(
        0x02100000,
        b"prtr",
        b"CMYK",
        b"Lab ",
        [
            (b"desc", desc_v2("Tiny CMYK")),
            (b"cprt", text_v2("No copyright, use freely")),
            (b"wtpt", xyz_tag(xyz_d50(PAPER))),
            (b"A2B0", lut16_cmyk_to_lab()),
        ],
        cmm=b"\0\0\0\0",
        platform=b"\0\0\0\0",
        creator=b"\0\0\0\0",
    )


# --- Expected values ----------------------------------------------------------------------

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def to_srgb(img, icc, mode):
    src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    # lcms's white fix-up (snapping near-white to white) is its own; moxcms has none
    t = ImageCms.buildTransform(
        src,
        SRGB,
        mode,
        "RGB",
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
        flags=ImageCms.Flags.NOWHITEONWHITEFIXUP,
    )
    return ImageCms.applyTransform(img, t)


ROWS = []  # (fixture, what, stored, expected)


def expect(name, stored, expected, what=""):
    for i, (s, e) in enumerate(zip(stored, expected)):
        ROWS.append((name, i, what[i] if what else "", tuple(s) if isinstance(s, tuple) else (s,), e))


def rgb_jpeg(name, icc, colours, labels):
    """An RGB JPEG of `colours` with `icc` embedded; expects lcms's sRGB of what it decodes."""
    data = save(patches("RGB", colours), "JPEG", quality=95, icc_profile=icc)
    write(name, data)
    img = Image.open(io.BytesIO(data))
    assert img.info.get("icc_profile") == icc
    stored = centres(img.convert("RGB"), len(colours))
    expected = centres(to_srgb(img.convert("RGB"), icc, "RGB"), len(colours))
    expect(name, stored, expected, labels)
    return data


def main():
    p3 = display_p3()
    assert p3[8] == 4, "Display P3 is a v4 profile"
    romm = romm_v4()
    assert romm[8] == 4
    cmyk_icc = tiny_cmyk()
    with open(ADOBE_RGB, "rb") as f:
        adobe = f.read()
    assert adobe[8] == 2 and adobe[16:20] == b"RGB "
    for icc in (p3, romm, cmyk_icc, adobe):
        ImageCms.ImageCmsProfile(io.BytesIO(icc))  # lcms accepts it
    print(f"profiles: Display P3 {len(p3)} B, ROMM v4 {len(romm)} B, CMYK {len(cmyk_icc)} B, "
          f"Adobe RGB {len(adobe)} B")

    # Display P3 (v4), as a phone writes it: pure red, then colours inside sRGB's gamut.
    rgb_jpeg(
        "display-p3.jpg",
        p3,
        [(255, 0, 0), (200, 120, 80), (170, 70, 70), (90, 130, 170), (255, 255, 255)],
        ["P3 red", "tan", "brick", "steel blue", "white"],
    )
    # Adobe RGB (1998), v2 (ArgyllCMS's compatible profile).
    rgb_jpeg(
        "adobe-rgb.jpg",
        adobe,
        [(255, 0, 0), (200, 120, 80), (90, 130, 170), (128, 128, 128)],
        ["Adobe red", "tan", "steel blue", "grey"],
    )

    # A v4 profile in a PNG iCCP chunk (lossless: the expected values are lcms's, exactly).
    colours = [(150, 120, 100), (110, 120, 140), (128, 128, 128), (64, 64, 64)]
    img = patches("RGB", colours)
    data = save(img, "PNG", icc_profile=romm)
    write("romm-v4.png", data)
    labels = ["warm grey", "cool grey", "grey", "dark grey"]
    expect("romm-v4.png", colours, centres(to_srgb(img, romm, "RGB"), 4), labels)

    # Broken profiles: the image decodes as stored, the profile ignored.
    colours = [(200, 60, 60), (60, 160, 90)]
    img = patches("RGB", colours)

    def broken(name, icc):
        data = save(img, "JPEG", quality=95, icc_profile=icc)
        write(name, data)
        stored = centres(Image.open(io.BytesIO(data)).convert("RGB"), 2)
        expect(name, stored, stored, ["red", "green"])
        return data

    # cut after its tag table and the first tags: the header promises more than there is
    broken("icc-truncated.jpg", p3[:200])
    # not a profile at all
    rng = random.Random(7)
    broken("icc-garbage.jpg", bytes(rng.randrange(256) for _ in range(400)))
    # a whole profile in a chunk that says it is 1 of 2, the second chunk missing
    data = bytearray(save(img, "JPEG", quality=95, icc_profile=p3))
    at = data.index(b"ICC_PROFILE\0\x01\x01")
    data[at + 13] = 2
    write("icc-missing-chunk.jpg", bytes(data))
    stored = centres(Image.open(io.BytesIO(bytes(data))).convert("RGB"), 2)
    expect("icc-missing-chunk.jpg", stored, stored, ["red", "green"])
    # PNG with a garbage iCCP (valid zlib, not a profile)
    data = save(img, "PNG", icc_profile=bytes(rng.randrange(256) for _ in range(300)))
    write("icc-garbage.png", data)
    expect("icc-garbage.png", colours, colours, ["red", "green"])

    # CMYK, as Pillow (libjpeg) and Photoshop store it: Adobe APP14, inverted values.
    inks = [(0, 0, 0, 0), (0, 255, 255, 0), (255, 0, 0, 0), (0, 0, 0, 255), (128, 0, 0, 128)]
    labels = ["paper", "red (M+Y)", "cyan", "black (K)", "half C + half K"]
    img = patches("CMYK", inks)
    data = save(img, "JPEG", quality=95)
    assert b"Adobe" in data[:200]
    write("cmyk.jpg", data)
    got = Image.open(io.BytesIO(data))
    assert got.mode == "CMYK"
    # without a profile: the usual naive conversion, R = (255 - C)(255 - K) / 255 (Pillow's)
    expect("cmyk.jpg", centres(got, 5), centres(got.convert("RGB"), 5), labels)
    data = save(img, "JPEG", quality=95, icc_profile=cmyk_icc)
    write("cmyk-profile.jpg", data)
    got = Image.open(io.BytesIO(data))
    expect("cmyk-profile.jpg", centres(got, 5), centres(to_srgb(got, cmyk_icc, "CMYK"), 5), labels)

    # 16-bit PNGs: RGB written here (Pillow keeps no 16-bit RGB), grey through Pillow's I;16.
    samples = [(0, 65535, 32768), (4660, 40000, 257), (65280, 128, 1000), (12345, 54321, 30000)]
    raw = b"\0" + b"".join(struct.pack(">3H", *s) for s in samples)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", len(samples), 1, 16, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )
    write("rgb16.png", png)
    eight = lambda v: (v + 128) // 257  # round(v * 255 / 65535)
    for i, s in enumerate(samples):
        ROWS.append(("rgb16.png", i, "pixel", s, tuple(eight(v) for v in s)))
    grey = [0, 257 * 100 + 100, 32768, 65535, 1234]
    img = Image.new("I;16", (len(grey), 1))
    img.putdata(grey)
    data = save(img, "PNG")
    assert data[24:26] == b"\x10\x00", "16-bit greyscale"
    write("grey16.png", data)
    for i, v in enumerate(grey):
        ROWS.append(("grey16.png", i, "pixel", (v,), (eight(v),) * 3))

    # Grey + alpha (LA).
    la = [(0, 255), (90, 128), (200, 30), (255, 0), (128, 255)]
    img = Image.new("LA", (len(la), 1))
    img.putdata(la)
    write("grey-alpha.png", save(img, "PNG"))
    for i, (g, a) in enumerate(la):
        ROWS.append(("grey-alpha.png", i, "pixel", (g, a), (g, g, g, a)))

    print()
    print("fixture, patch, label: stored -> expected")
    for name, i, label, stored, exp in ROWS:
        print(f"{name} #{i} {label}: {stored} -> {tuple(exp)}")


if __name__ == "__main__":
    main()
