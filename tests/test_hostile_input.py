"""Broken and hostile uploads: refused or recorded with a clear reason, memory bounded."""

import base64
import io
import os
import struct
import subprocess
import sys
import zlib

import pytest
from PIL import Image, PngImagePlugin

from gallery import tokens
from gallery.models import Stats
from tests.conftest import unavailable


@pytest.fixture
def auth(ctx):
    return {"Authorization": f"Bearer {tokens.create_token('hostile')}"}


def bomb_png(width=100_000, height=100_000):
    """A tiny PNG whose header promises 10 gigapixels."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def png(**text):
    info = PngImagePlugin.PngInfo()
    for key, value in text.items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", None),  # an empty file field: no image at all
        (b"GIF89a not really", "not an image"),
        (png()[:100], "truncated"),
        (bomb_png(), "too large"),
    ],
)
def test_bad_images_still_record_the_use_and_say_why(client, auth, data, reason):
    body = {"prompt_text": "hostile upload", "image": (io.BytesIO(data), "x.png")}
    response = client.post("/api/prompts/", data=body, headers=auth)
    assert response.status_code == 201
    assert response.json["thumbnail_updated"] is False
    if reason:
        assert reason in response.json["thumbnail_error"]
    assert Stats.current().total_uses == 1


def test_body_over_the_limit_is_refused_before_it_is_read(client, auth, app):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    stream = io.BytesIO(b"{}")  # far shorter than it claims: nothing may wait for the rest
    response = client.post(
        "/api/prompts/",
        input_stream=stream,
        headers={**auth, "Content-Type": "application/json"},
        environ_overrides={"CONTENT_LENGTH": "50000000"},
    )
    assert response.status_code == 413 and response.is_json


def test_png_with_a_huge_text_chunk(client, auth, app):
    app.config["MAX_IMAGE_BYTES"] = 64 * 1024 * 1024
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024 * 1024
    data = png(parameters="a prompt in a huge chunk\n" + "x" * (50 * 1024 * 1024))
    response = client.post(
        "/api/prompts/", data={"image": (io.BytesIO(data), "big.png")}, headers=auth
    )
    # The prompt is read from the chunk (bounded), or the image refused with a reason.
    assert response.status_code in (201, 400), response.get_data(as_text=True)[:300]


MEASURE = """
import base64, io, sys, tempfile
from PIL import Image
from gallery import create_app, tokens
folder = tempfile.mkdtemp()
app = create_app({"DATABASE_URL": f"sqlite:///{folder}/g.db"}, instance_path=folder)
with app.app_context():
    token = tokens.create_token("m")
client = app.test_client()
headers = {"Authorization": f"Bearer {token}"}


def post(prompt, data):
    body = {"prompt_text": prompt, "image": base64.b64encode(data).decode()}
    return client.post("/api/prompts/", json=body, headers=headers)


def peak_kb():  # VmHWM, not ru_maxrss: that one carries the parent's size over the exec
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmHWM:")).split()[1])


warm_up = io.BytesIO()
Image.linear_gradient("L").resize((2048, 2048)).convert("RGB").save(warm_up, "PNG")
assert post("warm up", warm_up.getvalue()).json["thumbnail_updated"]  # all code loaded once
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")  # the peak starts again from here
before = peak_kb()
answer = post("bomb", open(sys.argv[1], "rb").read())
print(answer.status_code, answer.json["thumbnail_error"], before, peak_kb() - before)
"""


def test_a_decompression_bomb_keeps_memory_bounded(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb_png(60_000, 60_000))  # 3.6 gigapixels: 10 GB if decoded
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("GALLERY_")},
    )
    status, *reason, before, grown = out.stdout.split()
    assert status == "201" and "too large" in " ".join(reason), out.stderr[-2000:]
    # Relative to the process itself, whatever this machine's libraries weigh: refusing
    # the bomb adds less than a quarter to its size (decoding it would add 10 GB).
    assert int(grown) < int(before) / 4, f"a bomb raised peak RSS from {before} KiB by {grown}"


def test_base64_that_is_not(client, auth):
    body = {"prompt_text": "x", "image": base64.b64encode(b"abc").decode() + "!!"}
    assert client.post("/api/prompts/", json=body, headers=auth).status_code == 400


def deflated(length, chunk=1 << 24):
    """zlib data of `length` zero bytes, compressed piece by piece (never all in memory)."""
    packer = zlib.compressobj(9)
    parts = []
    while length:
        part = min(chunk, length)
        parts.append(packer.compress(bytes(part)))
        length -= part
    parts.append(packer.flush())
    return b"".join(parts)


def float_tiff(side=7999):
    """A ~250 KB TIFF of side x side 32-bit float pixels: 256 MB once decoded."""
    data = deflated(side * side * 4)
    tags = [  # (tag, type, value): 3 SHORT, 4 LONG
        (256, 4, side),  # width
        (257, 4, side),  # height
        (258, 3, 32),  # bits per sample
        (259, 3, 8),  # deflate
        (262, 3, 1),  # black is zero
        (273, 4, 8),  # the strip starts right after the header
        (277, 3, 1),  # samples per pixel
        (278, 4, side),  # one strip
        (279, 4, len(data)),
        (339, 3, 3),  # IEEE float
    ]
    ifd = struct.pack("<H", len(tags))
    for tag, kind, value in tags:
        ifd += struct.pack("<HHII", tag, kind, 1, value)
    ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8 + len(data)) + data + ifd


def interlaced_png16(side=7999):
    """An Adam7-interlaced 16-bit RGBA PNG of side x side: 512 MB of samples, a few 100 KB."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2)]
    passes.append((0, 1, 1, 2))
    raw = 0
    for x0, y0, dx, dy in passes:
        columns, rows = -(-(side - x0) // dx), -(-(side - y0) // dy)
        raw += rows * (1 + columns * 8)  # a filter byte, then 8 bytes per pixel
    header = struct.pack(">IIBBBBB", side, side, 16, 6, 0, 0, 1)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", deflated(raw))
        + chunk(b"IEND", b"")
    )


def progressive_jpeg_header(side=7999):
    """A progressive JPEG of a few hundred bytes that declares side x side pixels: libjpeg
    zeroes its whole coefficient buffer (hundreds of MB) before reading the first scan."""
    small = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(small, "JPEG", progressive=True, subsampling=0)
    data = bytearray(small.getvalue())
    sof = data.index(b"\xff\xc2")
    data[sof + 5 : sof + 9] = struct.pack(">HH", side, side)  # height, width
    return bytes(data)


def large(fmt, **params):
    """A 6000x4000 photo-sized image: big, but within the limits, so it is made."""

    def make():
        grey = Image.linear_gradient("L").resize((6000, 4000))
        picture = Image.merge("RGB", (grey, grey.transpose(Image.Transpose.FLIP_LEFT_RIGHT), grey))
        buffer = io.BytesIO()
        picture.save(buffer, fmt, **params)
        return buffer.getvalue()

    make.__name__ = f"large_{fmt.lower()}{'_progressive' if params else ''}"
    return make


RSS_MEASURE = """
import os, sys
from concurrent.futures import ThreadPoolExecutor
from gallery import vips_thumbnails
from gallery.thumbnails import ThumbnailError, make_thumbnail
from PIL import Image
from gallery.models import Stats

if sys.argv[2] == "pillow":
    vips_thumbnails.pyvips = None


def status_mb(field):
    # VmHWM, not ru_maxrss: that one carries the parent's size over the fork and exec.
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(field + ":"))
    return int(line.split()[1]) / 1024


warm = Image.new("RGB", (600, 400), "red")
for fmt in ("PNG", "JPEG", "TIFF", "WEBP"):  # load every decoder once: the baseline
    path = os.path.join(os.path.dirname(sys.argv[1]), "warm." + fmt)
    warm.save(path, fmt)
    make_thumbnail(path)
data = open(sys.argv[1], "rb").read()
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")  # the peak starts again from here
baseline = status_mb("VmRSS")


def thumbnail():
    try:
        return "made %dx%d" % make_thumbnail(data)[2:]
    except ThumbnailError as exc:
        return str(exc)


at_once = int(sys.argv[3])  # requests of one gthread worker, decoding together
with ThreadPoolExecutor(at_once) as pool:
    outcome = list(pool.map(lambda _: thumbnail(), range(at_once)))[0]
print(round(status_mb("VmHWM") - baseline), round(status_mb("VmRSS") - baseline), outcome)
"""
RSS_LIMIT_MB = 150  # a worker's growth for any single input, at peak and afterwards


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["pillow", "libvips"])
@pytest.mark.parametrize(
    "make",
    [
        float_tiff,
        interlaced_png16,
        progressive_jpeg_header,
        large("PNG"),
        large("JPEG", progressive=True),
    ],
    ids=lambda make: make.__name__,
)
def test_decoding_a_hostile_image_keeps_memory_bounded(tmp_path, engine, make):
    peak, kept, outcome = measure_rss(tmp_path, engine, make)
    assert int(peak) < RSS_LIMIT_MB, f"peak RSS grew by {peak} MB ({outcome})"
    assert int(kept) < RSS_LIMIT_MB, f"RSS stayed {kept} MB above the baseline"
    assert "too large" in outcome or outcome.startswith("made"), outcome


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["pillow", "libvips"])
def test_four_large_decodes_at_once_share_one_budget(tmp_path, engine):
    peak, kept, outcome = measure_rss(tmp_path, engine, large("PNG"), at_once=4)
    assert outcome.startswith("made"), outcome
    assert int(peak) < RSS_LIMIT_MB, f"peak RSS grew by {peak} MB with four decodes at once"


def measure_rss(tmp_path, engine, make, at_once=1):
    """(peak MB, MB kept afterwards, outcome) of thumbnailing make()'s image in a fresh process."""
    from gallery import vips_thumbnails

    if engine == "libvips" and not vips_thumbnails.available():
        unavailable("pyvips is not installed: pip install -e '.[fast]'")
    path = tmp_path / "hostile"
    path.write_bytes(make())
    out = subprocess.run(
        [sys.executable, "-c", RSS_MEASURE, str(path), engine, str(at_once)],
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if not k.startswith("GALLERY_")},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    peak, kept, outcome = out.stdout.split(maxsplit=2)
    print(f"{make.__name__} x{at_once} on {engine}: peak +{peak} MB, kept +{kept} MB: {outcome}")
    return peak, kept, outcome.strip()
