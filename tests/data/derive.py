"""Make tests/data from the shared samples: python tests/data/derive.py ../shared/samples

Files up to 200 kB whose licence permits are copied as they are. Larger AI samples keep
their metadata byte for byte on 8x8 pixels: the readers only look at the metadata, and
the check at the end proves they read the same from the copy as from the original.
See NOTICE.md for each file's source and licence.
"""

import hashlib
import io
import json
import shutil
import struct
import sys
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
LARGE = 200_000
# Not copied: LGPL-3.0 (img_cmyk.jpg) and GPL-3+/CC-BY-SA (debian-logo-256.png);
# tests/test_thumbnails.py draws a CMYK JPEG and a palette PNG with tRNS instead.
PHOTOS = ["chelsea.png", "horse.png", "Portrait_5.jpg", "Landscape_8.jpg"]
PHOTOS += ["transparent.gif", "flower.webp", "earthris.gif"]


def tiny(fmt, mode="RGB"):
    """An 8x8 picture in fmt, with no metadata of its own."""
    out = io.BytesIO()
    Image.new(mode, (8, 8), "teal").save(out, fmt)
    return out.getvalue()


def png_chunks(data):
    at, chunks = 8, []
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        chunks.append((data[at + 4 : at + 8], data[at : at + 12 + length]))
        at += 12 + length
    return chunks


def png_on_tiny_pixels(data):
    """The original's ancillary chunks, in place, around an 8x8 image's own chunks."""
    pixels = [raw for kind, raw in png_chunks(tiny("PNG")) if kind in (b"IHDR", b"IDAT")]
    before, after, seen_data = [], [], False
    for kind, raw in png_chunks(data):
        if kind in (b"IHDR", b"PLTE", b"tRNS", b"IEND"):
            continue
        if kind == b"IDAT":
            seen_data = True
        else:
            (after if seen_data else before).append(raw)
    return data[:8] + pixels[0] + b"".join(before) + pixels[1] + b"".join(after) + data[-12:]


def jpeg_on_tiny_pixels(data):
    """The original's APPn and COM segments, then an 8x8 JPEG's tables and scan."""

    def segments(jpeg):
        at, found = 2, []
        while True:
            marker = jpeg[at + 1]
            if marker == 0xDA:  # start of scan: the rest is pixel data
                found.append((marker, jpeg[at:]))
                return found
            (length,) = struct.unpack(">H", jpeg[at + 2 : at + 4])
            found.append((marker, jpeg[at : at + 2 + length]))
            at += 2 + length

    kept = [raw for marker, raw in segments(data) if 0xE0 <= marker <= 0xEF or marker == 0xFE]
    pixels = [raw for marker, raw in segments(tiny("JPEG")) if not 0xE0 <= marker <= 0xEF]
    return b"\xff\xd8" + b"".join(kept + pixels)


def webp_on_tiny_pixels(data):
    """A WebP carrying the original's EXIF and XMP chunks unchanged, on 8x8 pixels.

    A picture with text hidden in its alpha low bits (NovelAI does that) keeps, losslessly,
    the leftmost columns of pixels that hold it: the writer fills column after column.
    """
    from gallery.metadata.stealth import read_stealth

    with Image.open(io.BytesIO(data)) as image:
        extra = {k: image.info[k] for k in ("exif", "xmp", "icc_profile") if k in image.info}
        hidden = read_stealth(image)
        if hidden is None:
            pixels = Image.new("RGBA" if "A" in image.mode else "RGB", (8, 8), "teal")
        else:
            bits = 152 + 8 * len(hidden.encode()) + image.height  # signature, length, text
            pixels = image.crop((0, 0, -(-bits // image.height), image.height))
    out = io.BytesIO()
    pixels.save(out, "WEBP", lossless=True, exact=True, **extra)
    return out.getvalue()


DERIVE = {".png": png_on_tiny_pixels, ".jpg": jpeg_on_tiny_pixels, ".webp": webp_on_tiny_pixels}
DERIVE[".jpeg"] = jpeg_on_tiny_pixels


def main(samples):
    from gallery.metadata import extract_raw, read_generation

    source, target = samples / "ai-metadata", HERE / "ai-metadata"
    target.mkdir(parents=True, exist_ok=True)
    expected = json.loads((source / "expected.json").read_text())
    for name, entry in list(expected.items()):
        original = source / name
        if original.stat().st_size <= LARGE:
            shutil.copyfile(original, target / name)
            continue
        copy = target / f"{original.stem}_small{original.suffix}"
        copy.write_bytes(DERIVE[original.suffix.lower()](original.read_bytes()))
        assert extract_raw(copy, sidecar=False) == extract_raw(original, sidecar=False), name
        assert read_generation(copy) == read_generation(original), name
        with Image.open(copy) as small:
            entry = entry | {"width": small.width, "height": small.height}
        entry["sha256"] = hashlib.sha256(copy.read_bytes()).hexdigest()
        entry["notes"] = [*entry["notes"], f"derived from {name}: its metadata, fewer pixels"]
        del expected[name]
        expected[copy.name] = entry
    (target / "expected.json").write_text(
        json.dumps(dict(sorted(expected.items())), indent=1, ensure_ascii=False) + "\n"
    )

    source, target = samples / "photos", HERE / "photos"
    target.mkdir(parents=True, exist_ok=True)
    index = json.loads((source / "photos.json").read_text())
    for name in PHOTOS:
        shutil.copyfile(source / name, target / name)
    kept = {name: index[name] for name in sorted(PHOTOS)}
    (target / "photos.json").write_text(json.dumps(kept, indent=1) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
