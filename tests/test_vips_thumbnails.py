"""The libvips path makes the thumbnails the Pillow path makes, and refuses the same files."""

import io

import pytest
from PIL import Image, ImageChops, ImageStat

from gallery import vips_thumbnails
from gallery.thumbnails import make_thumbnail
from tests.conftest import SAMPLES, unavailable


@pytest.fixture(autouse=True)
def needs_libvips():
    if not vips_thumbnails.available():
        unavailable("pyvips is not installed: pip install -e '.[fast]'")


@pytest.mark.parametrize(
    "name",
    [
        "photos/horse.png",
        "photos/flower.webp",
        "photos/chelsea.png",
        "ai-metadata/comfyui-save-image-extended.webp",
        "ai-metadata/NovelAI.png",
        "ai-metadata/novelai-full-3char_small.webp",  # RGBA
    ],
)
def test_equivalent_to_pillow(name, monkeypatch):
    data = (SAMPLES / name).read_bytes()
    fast = make_thumbnail(data)
    monkeypatch.setattr(vips_thumbnails, "pyvips", None)
    plain = make_thumbnail(data)
    assert abs(fast.width - plain.width) <= 1 and abs(fast.height - plain.height) <= 1
    a, b = (Image.open(io.BytesIO(t.data)) for t in (fast, plain))
    assert a.mode == b.mode
    diff = ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB").resize(a.size)))
    assert max(diff.mean) < 8, diff.mean


def test_only_generator_formats_reach_libvips():
    # JPEG stays with Pillow, whose draft mode is the faster of the two there.
    assert not vips_thumbnails.handles(b"\xff\xd8\xff\xe0rest")
    assert vips_thumbnails.handles(b"\x89PNG\r\n\x1a\nrest")
    assert vips_thumbnails.handles(b"RIFF\x00\x00\x00\x00WEBPVP8 ")
    assert not vips_thumbnails.handles(b"%PDF-1.7")
    assert not vips_thumbnails.handles(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    assert not vips_thumbnails.handles(b"GIF89a")
