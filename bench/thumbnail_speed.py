"""Thumbnail generation: our Pillow path, our libvips path and libvips' own thumbnailer.

    python bench/thumbnail_speed.py [--rounds 9]

Photos (JPEG) from ../shared/samples and diffusion PNGs at 1024x1024 and 2048x2048 (the
sample InvokeAI image, and the same scaled up). The three are timed side by side per file,
rounds interleaved and the order rotated each round (whoever runs right after another finds
the CPU caches as that one left them); medians in ms and ours over libvips' thumbnailer.
"Ours, as installed" is make_thumbnail with pyvips present: libvips for PNG and WebP,
Pillow's draft mode for JPEG.
"""

import argparse
import io
import statistics
import time
from pathlib import Path

import pyvips
from PIL import Image

from gallery import vips_thumbnails
from gallery.thumbnails import make_thumbnail

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"


def inputs():
    """(label, bytes) of every file measured."""
    files = [
        ("JPEG photo 1200x1800", (SAMPLES / "photos" / "Landscape_8.jpg").read_bytes()),
        ("JPEG photo 1800x1200", (SAMPLES / "photos" / "Portrait_5.jpg").read_bytes()),
        ("JPEG diffusion 1024", (SAMPLES / "ai-metadata" / "forge-classic.jpeg").read_bytes()),
    ]
    png = (SAMPLES / "ai-metadata" / "invokeai-en.png").read_bytes()
    files.append(("PNG diffusion 1024", png))
    buffer = io.BytesIO()
    Image.open(io.BytesIO(png)).resize((2048, 2048), Image.Resampling.LANCZOS).save(buffer, "PNG")
    files.append(("PNG diffusion 2048", buffer.getvalue()))
    return files


def pillow_only(data):
    saved, vips_thumbnails.pyvips = vips_thumbnails.pyvips, None
    try:
        return make_thumbnail(data)
    finally:
        vips_thumbnails.pyvips = saved


def libvips_thumbnailer(data):
    """What vipsthumbnail does: shrink-on-load, then WebP at the same quality."""
    image = pyvips.Image.thumbnail_buffer(data, 512, height=512, size="down")
    return image.webpsave_buffer(Q=80, keep="none", effort=4)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    contenders = {
        "ours (Pillow only)": pillow_only,
        "ours, as installed": make_thumbnail,
        "libvips thumbnailer": libvips_thumbnailer,
    }
    print("| input | " + " | ".join(contenders) + " | ours / libvips |")
    print("|---|" + "---|" * (len(contenders) + 1))
    for label, data in inputs():
        times = {name: [] for name in contenders}
        order = list(contenders)
        for _ in range(args.rounds):
            for name in order:
                started = time.perf_counter()
                contenders[name](data)
                times[name].append(time.perf_counter() - started)
            order.append(order.pop(0))
        medians = {name: statistics.median(t) * 1000 for name, t in times.items()}
        cells = " | ".join(f"{m:.1f}" for m in medians.values())
        ratio = medians["ours, as installed"] / medians["libvips thumbnailer"]
        print(f"| {label} | {cells} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
