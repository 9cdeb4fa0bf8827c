#!/usr/bin/env python3
"""Regenerate the fixtures of ops/tests/exif.rs and ops/tests/containers.rs.

The files are made the way real tools write them (piexif, Pillow, pillow-heif), then, for the
damaged cases, edited byte by byte. Every image is tiny (16x16 or 16x12) so each file stays a
few KB.

    pip install piexif pillow pillow-heif   # a Pillow with AVIF: PIL.features.check("avif")
    apt-get install exiv2                   # only for exiv2-names.txt
    python3 ops/tests/exif/make.py

`exiv2-names.txt` lists the name exiv2 gives each tag number that Pixgate can print (exiv2 reads a
TIFF written here with every such tag); `ops/src/codec/exif.rs` checks its name table against it.
"""

import io
import os
import shutil
import struct
import subprocess
import tempfile

import piexif
import pillow_heif
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))

# The EXIF most cases carry: what a camera app writes, in IFD0, the Exif IFD and the GPS IFD.
BASE = {
    "0th": {
        piexif.ImageIFD.Make: b"PixCam",
        piexif.ImageIFD.Model: b"Z1",
        piexif.ImageIFD.Orientation: 6,
        piexif.ImageIFD.XResolution: (72, 1),
        piexif.ImageIFD.YResolution: (72, 1),
        piexif.ImageIFD.ResolutionUnit: 2,
        piexif.ImageIFD.Software: b"make.py",
        piexif.ImageIFD.DateTime: b"2024:05:06 07:08:09",
    },
    "Exif": {
        piexif.ExifIFD.ExposureTime: (1, 125),
        piexif.ExifIFD.FNumber: (28, 10),
        piexif.ExifIFD.ISOSpeedRatings: 200,
        piexif.ExifIFD.DateTimeOriginal: b"2024:05:06 07:08:09",
        piexif.ExifIFD.ExposureBiasValue: (-1, 3),
        piexif.ExifIFD.FocalLengthIn35mmFilm: 28,
        piexif.ExifIFD.SubjectDistanceRange: 2,
        piexif.ExifIFD.LensModel: b"Kit 4.2mm",
    },
    "GPS": {
        piexif.GPSIFD.GPSVersionID: (2, 2, 0, 0),
        piexif.GPSIFD.GPSLatitudeRef: b"N",
        piexif.GPSIFD.GPSLatitude: ((31, 1), (55, 1), (3870, 1000)),
        piexif.GPSIFD.GPSLongitudeRef: b"E",
        piexif.GPSIFD.GPSLongitude: ((117, 1), (18, 1), (4110, 1000)),
        piexif.GPSIFD.GPSMapDatum: b"WGS-84",
    },
}


def with_changes(**ifds):
    """BASE with some IFDs' entries added or replaced."""
    d = {k: dict(v) for k, v in BASE.items()}
    for ifd, entries in ifds.items():
        d[ifd].update(entries)
    return d


def image(w=16, h=16):
    return Image.new("RGB", (w, h), (200, 40, 40))


def save(img, fmt, **kw):
    out = io.BytesIO()
    img.save(out, format=fmt, **kw)
    return out.getvalue()


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    print(f"{name}: {len(data)} bytes")


# --- JPEG and TIFF structure --------------------------------------------------------------


def segments(jpeg):
    """(marker, start, end) of each segment before SOS; end is past the payload."""
    out, at = [], 2
    while jpeg[at + 1] != 0xDA:
        length = struct.unpack(">H", jpeg[at + 2 : at + 4])[0]
        out.append((jpeg[at + 1], at, at + 2 + length))
        at += 2 + length
    return out


def exif_app1(jpeg):
    """(start, end) of the first Exif APP1 segment's TIFF data."""
    for marker, start, end in segments(jpeg):
        if marker == 0xE1 and jpeg[start + 4 : start + 10] == b"Exif\0\0":
            return start + 10, end
    raise ValueError("no Exif APP1")


def endian(tiff):
    return "<" if tiff[:2] == b"II" else ">"


def entries(tiff, ifd):
    """{tag: position of its 12-byte entry} of the IFD at `ifd`, and the next-pointer position."""
    e = endian(tiff)
    count = struct.unpack(e + "H", tiff[ifd : ifd + 2])[0]
    found = {}
    for i in range(count):
        at = ifd + 2 + 12 * i
        found.setdefault(struct.unpack(e + "H", tiff[at : at + 2])[0], at)
    return found, ifd + 2 + 12 * count


def value(tiff, entry):
    return struct.unpack(endian(tiff) + "I", tiff[entry + 8 : entry + 12])[0]


def put32(tiff, at, v):
    tiff[at : at + 4] = struct.pack(endian(tiff) + "I", v)


def sub_ifd(tiff, pointer_tag):
    ifd0 = struct.unpack(endian(tiff) + "I", tiff[4:8])[0]
    found, _ = entries(tiff, ifd0)
    return value(tiff, found[pointer_tag])


def edit_tiff(jpeg, edit):
    """Apply `edit(tiff: bytearray)` to the first Exif APP1's TIFF data (same length)."""
    jpeg = bytearray(jpeg)
    start, end = exif_app1(jpeg)
    tiff = bytearray(jpeg[start:end])
    edit(tiff)
    assert len(tiff) == end - start
    jpeg[start:end] = tiff
    return bytes(jpeg)


def app1(payload):
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def jpeg_with(exif):
    """Pillow's JPEG: SOI, the JFIF APP0, then the Exif APP1 (the usual layout)."""
    return save(image(), "JPEG", quality=80, exif=exif)


# --- The EXIF corpus -----------------------------------------------------------------------


def jpeg_cases():
    base = piexif.dump(BASE)
    # piexif writes the Exif and GPS IFDs without a next-IFD field: the four bytes after their
    # entries (the values that follow) are read as a non-zero next pointer.
    plain = jpeg_with(base)
    assert plain[2:4] == b"\xff\xe0" and exif_app1(plain)
    write("piexif-jfif.jpg", plain)

    # Little-endian (Pillow's own writer), with the Exif IFD's next pointer set to garbage.
    exif = Image.Exif()
    exif[0x010F] = "LECam"
    exif[0x0112] = 8
    exif[0x0132] = "2023:01:02 03:04:05"
    exif.get_ifd(0x8769)[0x9003] = "2023:01:02 03:04:05"
    exif.get_ifd(0x8825).update({1: "S", 2: (33.0, 51.0, 35.0), 3: "W", 4: (151.0, 12.0, 40.0)})
    le = jpeg_with(exif.tobytes())

    def bad_next(t):
        _, nxt = entries(t, sub_ifd(t, 0x8769))
        put32(t, nxt, 0x7FFFFFF0)

    write("le-bad-next.jpg", edit_tiff(le, bad_next))

    # A value offset and the GPS IFD pointer past the end of the data.
    def past_end(t):
        found, _ = entries(t, struct.unpack(">I", t[4:8])[0])
        put32(t, found[0x010F] + 8, 0x00FFFFF0)  # Make
        put32(t, found[0x8825] + 8, 0x00FFFF00)  # GPS IFD

    write("offset-past-end.jpg", edit_tiff(plain, past_end))

    # An APP1 segment that holds only the start of the TIFF data (IFD0 and its values): the
    # Exif and GPS IFDs it points to lie past the segment's end.
    start, end = exif_app1(plain)
    tiff = plain[start:end]
    cut = min(sub_ifd(tiff, 0x8769), sub_ifd(tiff, 0x8825))
    segs = segments(plain)
    app1_start = next(s for m, s, e in segs if s + 10 == start)
    short = plain[:app1_start] + app1(b"Exif\0\0" + tiff[:cut]) + plain[end:]
    write("short-segment.jpg", short)

    # A file cut off inside its Exif APP1 (the declared length runs past the end of the file).
    write("cut-in-app1.jpg", plain[: start + cut])

    # IFD0's next pointer points back at IFD0.
    def loop(t):
        ifd0 = struct.unpack(">I", t[4:8])[0]
        _, nxt = entries(t, ifd0)
        put32(t, nxt, ifd0)

    write("ifd-loop.jpg", edit_tiff(plain, loop))

    # Orientation twice in IFD0 (6, then 3): written as SamplesPerPixel, renumbered.
    dup = jpeg_with(piexif.dump(with_changes(**{"0th": {piexif.ImageIFD.SamplesPerPixel: 3}})))

    def duplicate(t):
        found, _ = entries(t, struct.unpack(">I", t[4:8])[0])
        t[found[0x0115] : found[0x0115] + 2] = struct.pack(">H", 0x0112)

    write("duplicate-tags.jpg", edit_tiff(dup, duplicate))

    # A MakerNote of garbage (it starts like an IFD of 65535 entries) whose count then claims
    # more bytes than the segment holds.
    junk = b"\xff\xff" + bytes(range(7, 255, 4)) * 2
    mk = jpeg_with(piexif.dump(with_changes(Exif={piexif.ExifIFD.MakerNote: junk})))

    def maker_note(t):
        found, _ = entries(t, sub_ifd(t, 0x8769))
        put32(t, found[0x927C] + 4, 0x7FFFFFF0)

    write("makernote.jpg", edit_tiff(mk, maker_note))

    # Several APP1 segments: XMP first, then the Exif, then a second Exif that must not win.
    xmp = app1(b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    second = app1(piexif.dump({"0th": {piexif.ImageIFD.Make: b"Second", piexif.ImageIFD.Orientation: 1}}))
    app0_end = segs[0][2]
    assert segs[0][0] == 0xE0
    write("xmp-first.jpg", plain[:app0_end] + xmp + plain[app0_end:end] + second + plain[end:])


def other_containers():
    base = piexif.dump(with_changes(**{"0th": {piexif.ImageIFD.Orientation: 3}}))
    # PNG: Pillow writes an eXIf chunk (without the "Exif\0\0" prefix).
    write("exif.png", save(image(), "PNG", exif=base))
    # WebP: VP8X with an EXIF chunk (Pillow strips the prefix too) ...
    webp = save(image(), "WEBP", quality=50, exif=piexif.dump(BASE))
    write("exif.webp", webp)
    # ... and the same with the prefix, as some writers leave it.
    at = webp.index(b"EXIF")
    size = struct.unpack("<I", webp[at + 4 : at + 8])[0]
    payload = b"Exif\0\0" + webp[at + 8 : at + 8 + size]
    chunk = b"EXIF" + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) % 2)
    rest = webp[at + 8 + size + size % 2 :]
    body = webp[12:at] + chunk + rest
    write("exif-prefixed.webp", b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body)


# --- HEIF and animations -------------------------------------------------------------------


def heif_and_animations():
    pillow_heif.register_heif_opener()
    exif = piexif.dump(BASE)
    # 16x12 stored; Orientation 6 becomes irot (270 degrees anticlockwise): 12x16 displayed.
    # libheif pads the coded picture to 64x64 and crops it back with clap.
    write("exif.heic", save(image(16, 12), "HEIF", quality=30, exif=exif))
    # Pillow's own AVIF writer (libavif): the orientation moves from the EXIF to irot.
    write("exif.avif", save(image(16, 12), "AVIF", quality=30, exif=exif))
    frames = [Image.new("RGB", (16, 16), (60 * i, 40, 40)) for i in range(4)]
    anim = dict(save_all=True, duration=100, loop=0)
    write("anim.webp", save(frames[0], "WEBP", append_images=frames[1:3], quality=50, **anim))
    write("anim.png", save(frames[0], "PNG", append_images=frames[1:4], **anim))
    # (libavif stamps the sequence's creation time: this file differs on every run.)
    write("anim.avif", save(frames[0], "AVIF", append_images=frames[1:3], quality=30, **anim))


# --- exiv2's names -------------------------------------------------------------------------

# The tag numbers Pixgate prints, by IFD; exiv2 names them in exiv2-names.txt.
TIFF_TAGS = [0x00FE, 0x0100, 0x0101, 0x0102, 0x0103, 0x0106, 0x010D, 0x010E, 0x010F, 0x0110, 0x0111, 0x0112,
             0x0115, 0x0116, 0x0117, 0x011A, 0x011B, 0x011C, 0x0128, 0x012D, 0x0131, 0x0132, 0x013B, 0x013C,
             0x013E, 0x013F, 0x0142, 0x0143, 0x0144, 0x0145, 0x0152, 0x0153, 0x0201, 0x0202, 0x0211,
             0x0212, 0x0213, 0x0214, 0x4746, 0x4749, 0x8298]
EXIF_TAGS = [0x829A, 0x829D, 0x8822, 0x8824, 0x8827, 0x8828, 0x8830, 0x8831, 0x8832, 0x8833, 0x8834, 0x8835,
             0x9000, 0x9003, 0x9004, 0x9010, 0x9011, 0x9012, 0x9101, 0x9102, 0x9201, 0x9202, 0x9203, 0x9204,
             0x9205, 0x9206, 0x9207, 0x9208, 0x9209, 0x920A, 0x9214, 0x927C, 0x9286, 0x9290, 0x9291, 0x9292,
             0x9400, 0x9401, 0x9402, 0x9403, 0x9404, 0x9405, 0xA000, 0xA001, 0xA002, 0xA003, 0xA004, 0xA20B,
             0xA20C, 0xA20E, 0xA20F, 0xA210, 0xA214, 0xA215, 0xA217, 0xA300, 0xA301, 0xA302, 0xA401, 0xA402,
             0xA403, 0xA404, 0xA405, 0xA406, 0xA407, 0xA408, 0xA409, 0xA40A, 0xA40B, 0xA40C, 0xA420, 0xA430,
             0xA431, 0xA432, 0xA433, 0xA434, 0xA435, 0xA460, 0xA461, 0xA462, 0xA500]
GPS_TAGS = list(range(0x00, 0x20))
IOP_TAGS = [0x0001, 0x0002, 0x1000, 0x1001, 0x1002]


def ifd(tags, pointers=()):
    """An IFD of SHORT entries (value 1) plus LONG pointer entries; returns its bytes."""
    all_entries = sorted([(t, 3, 1) for t in tags] + [(t, 4, v) for t, v in pointers])
    out = struct.pack(">H", len(all_entries))
    for tag, typ, v in all_entries:
        out += struct.pack(">HHI", tag, typ, 1)
        out += struct.pack(">HH", v, 0) if typ == 3 else struct.pack(">I", v)
    return out + b"\0\0\0\0"


def exiv2_names():
    if shutil.which("exiv2") is None:
        print("exiv2 not found: exiv2-names.txt left as it is")
        return
    size = lambda n: 2 + 12 * n + 4  # noqa: E731
    ifd0 = 8
    exif = ifd0 + size(len(TIFF_TAGS) + 2)
    gps = exif + size(len(EXIF_TAGS) + 1)
    iop = gps + size(len(GPS_TAGS))
    tiff = b"MM\0*" + struct.pack(">I", ifd0)
    tiff += ifd(TIFF_TAGS, [(0x8769, exif), (0x8825, gps)])
    tiff += ifd(EXIF_TAGS, [(0xA005, iop)])
    tiff += ifd(GPS_TAGS)
    tiff += ifd(IOP_TAGS)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "all.tif")
        with open(path, "wb") as f:
            f.write(tiff)
        version = subprocess.run(["exiv2", "--version"], capture_output=True, text=True).stdout
        # -pv: tag number, group, name, type, count, value; tags exiv2 does not know are left out.
        out = subprocess.run(["exiv2", "-q", "-pv", path], capture_output=True, text=True).stdout
    lines = [f"# {version.splitlines()[0]} -pv: group, tag number, name (written by make.py)"]
    for line in out.splitlines():
        number, group, name = line.split()[:3]
        if group in ("Image", "Photo", "GPSInfo", "Iop"):
            lines.append(f"{group} {number} {name}")
    with open(os.path.join(HERE, "exiv2-names.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"exiv2-names.txt: {len(lines) - 1} names")


if __name__ == "__main__":
    jpeg_cases()
    other_containers()
    heif_and_animations()
    exiv2_names()
