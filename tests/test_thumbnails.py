"""make_thumbnail turns any supported image into a small WebP and refuses the rest clearly."""

import io
import json
import random
import statistics
import struct
import time
import warnings
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageOps, ImageStat, PngImagePlugin

from gallery import vips_thumbnails
from gallery.thumbnails import Thumbnail, ThumbnailError, make_thumbnail
from tests.conftest import SAMPLES, unavailable


@pytest.fixture(autouse=True, params=["pillow", "libvips"])
def engine(request, monkeypatch):
    """Every test runs on Pillow alone and on the libvips path (when installed)."""
    if request.param == "pillow":
        monkeypatch.setattr(vips_thumbnails, "pyvips", None)
    elif not vips_thumbnails.available():
        unavailable("pyvips is not installed: pip install -e '.[fast]'")
    return request.param


PHOTOS = SAMPLES / "photos"


def sample(*parts):
    """Path of a sample file in tests/data."""
    return SAMPLES.joinpath(*parts)


def photo_names():
    """Every image in the photos folder."""
    return sorted(p.name for p in PHOTOS.iterdir() if p.suffix != ".json")


def colour_bars_cmyk():
    """A CMYK JPEG of colour bars, as print workflows save them."""
    bars = Image.new("CMYK", (320, 240))
    for i, ink in enumerate([(255, 0, 0, 0), (0, 255, 0, 0), (0, 0, 255, 0), (0, 0, 0, 255)]):
        bars.paste(ink, (i * 80, 0, i * 80 + 80, 240))
    return encoded(bars, "JPEG", quality=95)


def palette_with_trns():
    """A palette PNG whose background index is transparent through a tRNS chunk."""
    im = Image.new("P", (256, 256), 0)
    im.putpalette([255, 255, 255, 200, 20, 60] + [0] * 762)
    im.paste(1, (64, 64, 192, 192))
    return encoded(im, "PNG", transparency=0)


BUILT = {"cmyk-bars.jpg": colour_bars_cmyk, "palette-trns.png": palette_with_trns}


def source(name):
    """A photo from tests/data, or the bytes of one drawn here."""
    return BUILT[name]() if name in BUILT else sample("photos", name)


def photos_json():
    return json.loads(sample("photos", "photos.json").read_text())


def upright(path):
    """The sample at path decoded and turned by its EXIF orientation, the reference to match."""
    with Image.open(path) as im:
        return ImageOps.exif_transpose(im)


def opened(thumb):
    """Decode a thumbnail's bytes again, as a browser would."""
    out = Image.open(io.BytesIO(thumb.data))
    out.load()
    return out


def encoded(im, fmt, **params):
    """Bytes of im saved in format fmt."""
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def png_claiming(width, height):
    """A tiny PNG whose header claims width x height pixels (CRC fixed, pixel data missing)."""
    data = bytearray(encoded(Image.new("L", (8, 8)), "PNG"))
    ihdr = data[12:29]  # chunk type + 13 bytes of IHDR fields
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(ihdr))
    return bytes(data)


def gradient(mode, size=(600, 400)):
    """A size-d image in mode with some variation, so resampling has work to do."""
    grey = Image.linear_gradient("L").resize(size)
    if mode == "LA":
        return Image.merge("LA", (grey, grey.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    if mode == "F":
        return grey.convert("F").point(lambda v: v / 255)
    if mode == "I":
        return grey.convert("I").point(lambda v: v * 257)  # the full 16-bit range
    if mode.startswith("I;16"):
        return Image.frombytes(mode, size, gradient("I", size).convert("I;16").tobytes("raw", mode))
    return grey.convert(mode)


@pytest.mark.parametrize("name", photo_names())
def test_every_sample_photo_becomes_a_webp(name):
    path = sample("photos", name)
    thumb = make_thumbnail(path)
    out = opened(thumb)
    assert out.format == "WEBP" and thumb.mime == "image/webp"
    assert out.size == (thumb.width, thumb.height)
    assert max(out.size) <= 512
    width, height = upright(path).size
    scale = min(1, 512 / max(width, height))
    assert abs(out.width - width * scale) <= 1 and abs(out.height - height * scale) <= 1
    expected_mode = "RGBA" if photos_json()[name]["transparency"] else "RGB"
    assert out.mode == expected_mode
    assert "exif" not in out.info  # no GPS or camera data leaks into the thumbnail


@pytest.mark.parametrize("name", ["Portrait_5.jpg", "Landscape_8.jpg"])
def test_exif_orientation_applied(name):
    path = sample("photos", name)
    assert photos_json()[name]["exif_orientation"] in (5, 8)
    expected = upright(path).convert("RGB")
    expected.thumbnail((512, 512))
    out = opened(make_thumbnail(path)).convert("RGB")
    assert (out.width > out.height) == name.startswith("Landscape")
    assert out.size == expected.size
    # Same picture, not merely the same shape: a wrong turn or flip differs by far more.
    diff = ImageStat.Stat(ImageChops.difference(out, expected)).mean
    assert max(diff) < 12, diff


def test_jpeg_decodes_at_reduced_scale_and_still_matches_full_resolution(monkeypatch):
    from PIL import JpegImagePlugin

    path = sample("photos", "Landscape_8.jpg")  # 1200x1800 stored
    decoded = []
    real_draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        result = real_draft(self, mode, size)
        decoded.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    out = opened(make_thumbnail(path)).convert("RGB")
    assert decoded[0] == (600, 900)  # DCT scale 1/2: still bigger than the 341x512 thumbnail
    expected = upright(path).convert("RGB")
    expected.thumbnail((512, 512), Image.Resampling.LANCZOS, reducing_gap=None)
    diff = ImageStat.Stat(ImageChops.difference(out, expected.resize(out.size))).mean
    # WebP at quality 80 alone accounts for 3.6 here; the reduced decode adds about 0.1.
    assert max(diff) < 4.2, diff


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        ("horse.png", "RGBA"),
        ("chelsea.png", "RGB"),
        ("palette-trns.png", "RGBA"),
        ("transparent.gif", "RGBA"),
        ("earthris.gif", "RGB"),
        ("cmyk-bars.jpg", "RGB"),
    ],
)
def test_alpha_kept_only_when_present(name, mode):
    out = opened(make_thumbnail(source(name)))
    assert out.mode == mode
    if mode == "RGBA":
        assert out.getchannel("A").getextrema()[0] < 128


def test_cmyk_colours_survive():
    data = colour_bars_cmyk()
    out = opened(make_thumbnail(data))
    diff = ImageStat.Stat(ImageChops.difference(out, upright(io.BytesIO(data)).convert("RGB"))).mean
    assert max(diff) < 12, diff


def test_opaque_alpha_channel_is_dropped():
    im = Image.new("RGBA", (50, 40), (10, 20, 30, 255))
    assert opened(make_thumbnail(encoded(im, "PNG"))).mode == "RGB"


@pytest.mark.parametrize(
    ("mode", "fmt"), [("I;16", "PNG"), ("I;16B", "TIFF"), ("I", "TIFF"), ("F", "TIFF")]
)
def test_deep_greyscale_scaled_not_clipped(mode, fmt):
    value = 0.5 if mode == "F" else 32768
    data = encoded(Image.new(mode, (40, 30), value), fmt)
    assert Image.open(io.BytesIO(data)).mode == mode
    red, green, blue = opened(make_thumbnail(data)).getpixel((20, 15))
    assert abs(red - 128) <= 3 and red == green == blue


@pytest.mark.parametrize(
    ("mode", "fmt", "out_mode"),
    [
        ("I;16", "PNG", "RGB"),
        ("I;16B", "TIFF", "RGB"),
        ("I", "TIFF", "RGB"),
        ("F", "TIFF", "RGB"),
        ("1", "PNG", "RGB"),
        ("1", "BMP", "RGB"),
        ("L", "PNG", "RGB"),
        ("LA", "PNG", "RGBA"),
        ("RGB", "BMP", "RGB"),
        ("RGB", "TIFF", "RGB"),
        ("CMYK", "TIFF", "RGB"),
        ("YCbCr", "TIFF", "RGB"),
        ("LAB", "TIFF", "RGB"),
        ("P", "PNG", "RGB"),
    ],
)
def test_synthetic_modes_and_formats(mode, fmt, out_mode):
    data = encoded(gradient(mode), fmt)
    assert Image.open(io.BytesIO(data)).mode == mode
    thumb = make_thumbnail(data)
    out = opened(thumb)
    assert (thumb.width, thumb.height) == (512, 341)
    assert out.mode == out_mode
    low, high = out.convert("L").getextrema()
    assert high - low > 100  # the gradient survived: nothing went all black or all white


def test_la_keeps_its_alpha():
    out = opened(make_thumbnail(encoded(gradient("LA"), "PNG")))
    low, high = out.getchannel("A").getextrema()
    assert low < 20 and high > 235


def test_animated_gif_uses_first_frame():
    frames = [Image.new("RGB", (90, 60), colour) for colour in ("red", "lime", "blue")]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert Image.open(io.BytesIO(data)).n_frames == 3
    red, green, blue = opened(make_thumbnail(data)).convert("RGB").getpixel((45, 30))
    assert red > 200 and green < 60 and blue < 60


def test_small_images_are_not_enlarged():
    thumb = make_thumbnail(encoded(Image.new("RGB", (40, 30), "navy"), "PNG"))
    assert (thumb.width, thumb.height) == (40, 30)
    thumb = make_thumbnail(sample("ai-metadata", "automatic1111_cropped.png"))
    assert (thumb.width, thumb.height) == opened(thumb).size == (1, 1)


def test_max_side_respected():
    thumb = make_thumbnail(encoded(gradient("RGB", (900, 300)), "JPEG"), max_side=90)
    assert (thumb.width, thumb.height) == (90, 30)


def test_bytes_path_and_file_give_the_same_thumbnail():
    path = sample("photos", "chelsea.png")
    data = path.read_bytes()
    expected = make_thumbnail(data)
    assert isinstance(expected, Thumbnail)
    with path.open("rb") as f:
        from_file = make_thumbnail(f)
    for source in (bytearray(data), memoryview(data), str(path), path, io.BytesIO(data)):
        assert make_thumbnail(source) == expected
    assert from_file == expected


def test_bad_arguments_are_value_errors():
    data = encoded(Image.new("RGB", (4, 4)), "PNG")
    for kwargs in ({"max_side": 0}, {"quality": 0}, {"quality": 101}, {"max_pixels": 0}):
        with pytest.raises(ValueError) as info:
            make_thumbnail(data, **kwargs)
        assert not isinstance(info.value, ThumbnailError)


def half_of(*parts):
    data = sample(*parts).read_bytes()
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: b"", "empty file"),
        (lambda: random.Random(0).randbytes(4096), "not an image"),
        (lambda: b"a prompt, not a picture\n" * 40, "not an image"),
        (lambda: half_of("photos", "Portrait_5.jpg"), "image is truncated"),
        (lambda: half_of("photos", "chelsea.png"), "image is truncated"),
        (lambda: png_claiming(30_000, 30_000), "image too large"),
        (lambda: png_claiming(9_000, 9_000), "9000x9000 pixels exceeds the limit of 64000000"),
    ],
    ids=["empty", "random", "text", "truncated-jpeg", "truncated-png", "bomb", "over-limit"],
)
def test_bad_input_raises_thumbnail_error(make, message):
    with pytest.raises(ThumbnailError, match=message):
        make_thumbnail(make())


def test_lowered_max_pixels_refuses_a_normal_photo():
    with pytest.raises(ThumbnailError, match="451x300 pixels exceeds the limit of 100"):
        make_thumbnail(sample("photos", "chelsea.png"), max_pixels=100)


def test_pillow_bomb_limits_become_thumbnail_errors(engine):
    # Past twice Pillow's own limit, Image.open refuses before our check can run.
    with pytest.raises(ThumbnailError, match="image too large"):
        make_thumbnail(png_claiming(30_000, 30_000), max_pixels=10**10)
    # Between one and two times that limit Pillow only warns, unless warnings are errors.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with pytest.raises(ThumbnailError, match="image too large"):
            make_thumbnail(png_claiming(10_000, 10_000), max_pixels=10**10)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(ThumbnailError, match="file not found: .*nope.png"):
        make_thumbnail(tmp_path / "nope.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ThumbnailError, match="empty file"):
        make_thumbnail(tmp_path / "empty.png")


@pytest.mark.parametrize("compressed", [False, True], ids=["tEXt", "zTXt"])
def test_huge_text_chunk_is_thumbnailed_or_refused(compressed):
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "masterpiece, " * 1_600_000, zip=compressed)  # about 20 MB
    data = encoded(Image.new("RGB", (64, 48), "teal"), "PNG", pnginfo=info)
    try:
        thumb = make_thumbnail(data)
    except ThumbnailError as exc:
        assert str(exc)
    else:
        assert (thumb.width, thumb.height) == (64, 48)


def test_sample_thumbnails_are_small():
    if not PHOTOS.is_dir():
        pytest.skip(f"{PHOTOS} not found")
    sizes, seconds = [], []
    for name in photo_names():
        start = time.perf_counter()
        sizes.append(len(make_thumbnail(PHOTOS / name).data))
        seconds.append(time.perf_counter() - start)
    median = statistics.median(sizes)
    print(
        f"\n{len(sizes)} photos: median {median / 1024:.1f} KB, max {max(sizes) / 1024:.1f} KB,"
        f" {statistics.mean(seconds) * 1000:.0f} ms each on average"
    )
    assert median <= 30 * 1024


MAGIC = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"BM", b"II*\x00", b"RIFF"]


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about corrupt EXIF in noise
@settings(max_examples=300, deadline=None)
@given(prefix=st.sampled_from(MAGIC), rest=st.binary(max_size=2048))
def test_random_bytes_only_ever_raise_thumbnail_error(prefix, rest):
    try:
        thumb = make_thumbnail(prefix + rest)
    except ThumbnailError as exc:
        assert str(exc)
    else:
        assert opened(thumb).format == "WEBP"


def test_an_image_that_would_take_too_much_memory_to_decode_is_refused_unread():
    tiff = encoded(gradient("F", (1200, 800)), "TIFF")
    with pytest.raises(ThumbnailError, match="too large to decode"):
        make_thumbnail(tiff, max_memory=1200 * 800 * 4)
    thumb = make_thumbnail(tiff, max_memory=16 * 2**20)  # box-reduced, then mapped to 8 bits
    assert (thumb.width, thumb.height) == (512, 341)
    low, high = opened(thumb).convert("L").getextrema()
    assert low <= 2 and high >= 253  # the 0..1 range still maps onto black..white
    progressive = encoded(gradient("RGB", (1200, 800)), "JPEG", progressive=True)
    with pytest.raises(ThumbnailError, match="too large to decode"):
        make_thumbnail(progressive, max_memory=1200 * 800 * 2)  # its coefficients alone
