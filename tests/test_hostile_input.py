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

from gallery import store, tokens


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
    assert store.get_stats().total_uses == 1


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
import base64, os, resource, sys, tempfile
from gallery import create_app, tokens
folder = tempfile.mkdtemp()
app = create_app({"DATABASE_URL": f"sqlite:///{folder}/g.db"}, instance_path=folder)
with app.app_context():
    token = tokens.create_token("m")
client = app.test_client()
headers = {"Authorization": f"Bearer {token}"}
client.post("/api/prompts/", json={"prompt_text": "warm up"}, headers=headers)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
bomb = base64.b64encode(open(sys.argv[1], "rb").read()).decode()
answer = client.post("/api/prompts/", json={"prompt_text": "bomb", "image": bomb}, headers=headers)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(answer.status_code, answer.json["thumbnail_error"], (after - before) // 1024)
"""
RSS_BOUND_MB = 32


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
    status, *reason, grown = out.stdout.split()
    assert status == "201" and "too large" in " ".join(reason), out.stderr[-2000:]
    assert int(grown) < RSS_BOUND_MB, f"peak RSS grew by {grown} MB handling a bomb"


def test_base64_that_is_not(client, auth):
    body = {"prompt_text": "x", "image": base64.b64encode(b"abc").decode() + "!!"}
    assert client.post("/api/prompts/", json=body, headers=auth).status_code == 400
