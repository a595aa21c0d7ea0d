"""WebP thumbnails from untrusted image files: Pillow, with vips_thumbnails.py as the fast path."""

import ctypes
import io
import os
import threading
from contextlib import contextmanager
from typing import IO, NamedTuple

from PIL import Image, ImageOps, UnidentifiedImageError

from . import vips_thumbnails

# What browsers and image generators produce (camera MPO files open as "JPEG"). Naming them keeps
# the other plugins, some of which shell out (EPS runs Ghostscript), away from uploads.
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")

ImageSource = bytes | bytearray | memoryview | str | os.PathLike | IO[bytes]

# What one decode may hold at once (pixels, the decoder's own buffers, full-size
# conversions), estimated from the header before a pixel is decoded: a 380 KB float
# TIFF declares a gigabyte. With the thumbnail and the request, a worker then grows
# by less than 150 MB for any single image.
DECODE_MEMORY_LIMIT = 96 * 2**20


class MemoryBudget:
    """Bytes that the decodes of one process share: with gthread workers several requests
    decode at once, and a decode waits while the others hold what it needs."""

    def __init__(self, limit: int):
        self.limit = limit
        self.held = 0
        self.changed = threading.Condition()

    @contextmanager
    def hold(self, amount: int):
        amount = min(amount, self.limit)  # a larger one runs alone
        with self.changed:
            self.changed.wait_for(lambda: self.held + amount <= self.limit)
            self.held += amount
        try:
            yield
        finally:
            with self.changed:
                self.held -= amount
                self.changed.notify_all()


DECODING = MemoryBudget(DECODE_MEMORY_LIMIT)

try:  # glibc keeps freed blocks in the arena of the thread that freed them
    _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
except (OSError, AttributeError):  # another C library: nothing to do
    _malloc_trim = None


def _give_back(decoded: int) -> None:
    """Return a large decode's freed memory to the system: otherwise each thread keeps its
    own arena's worth, and a gthread worker stayed hundreds of MB above its baseline."""
    if _malloc_trim is not None and decoded >= 16 * 2**20:
        _malloc_trim(0)


# Bytes per pixel as Pillow holds each mode in memory (RGB takes 4, as RGBX does).
PILLOW_PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}


class Thumbnail(NamedTuple):
    """A WebP thumbnail and its size in pixels."""

    data: bytes
    mime: str
    width: int
    height: int


class ThumbnailError(ValueError):
    """The input cannot be made into a thumbnail; the message says why."""


def make_thumbnail(
    image: ImageSource,
    max_side: int = 512,
    quality: int = 80,
    max_pixels: int = 64_000_000,
    max_memory: int = DECODE_MEMORY_LIMIT,
) -> Thumbnail:
    """Return a WebP thumbnail of image, at most max_side pixels on its longest side.

    Images whose decoding would take more than max_memory bytes are refused unread.
    """
    if max_side < 1 or not 1 <= quality <= 100 or max_pixels < 1:
        raise ValueError("need max_side >= 1, 1 <= quality <= 100 and max_pixels >= 1")
    data = _read(image)
    if not data:
        raise ThumbnailError("empty file")
    if vips_thumbnails.available() and vips_thumbnails.handles(data):
        # libvips already spreads one thumbnail over every core, so more than two at once
        # gain nothing, and each holds tens of MB of pipeline buffers (bench/RESULTS.md).
        needed = max(vips_thumbnails.interlaced_png_bytes(data), DECODE_MEMORY_LIMIT // 2)
        with DECODING.hold(needed):
            try:
                made = vips_thumbnails.webp_thumbnail(
                    data, max_side, quality, max_pixels, max_memory
                )
            except vips_thumbnails.Refused as exc:
                raise ThumbnailError(str(exc)) from None
            finally:
                _give_back(needed)
        return Thumbnail(made[0], "image/webp", made[1], made[2])
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as im:
            _check_size(im, max_pixels)
            needed = _draft_within(im, max_side, max_memory)
            with DECODING.hold(needed):
                try:
                    small = _shrink(im, max_side)  # always a new image
                finally:
                    im.close()  # the full-size pixels go now, not at the end of the block
                    _give_back(needed)
            return _encode(small, quality)
    except ThumbnailError:
        raise
    # Pillow promises no particular exception types for malformed files, so take them all.
    except Exception as exc:
        raise ThumbnailError(_reason(exc)) from exc


def _read(image: ImageSource) -> bytes:
    """Return the encoded bytes of image, whichever form it was given in."""
    if isinstance(image, bytes | bytearray | memoryview):
        return bytes(image)
    if isinstance(image, str | os.PathLike):
        try:
            with open(image, "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise ThumbnailError(f"file not found: {os.fspath(image)}") from None
        except OSError as exc:
            raise ThumbnailError(f"cannot read {os.fspath(image)}: {exc.strerror}") from exc
    data = image.read()
    if not isinstance(data, bytes):
        raise TypeError("image must be bytes, a path or a file opened in binary mode")
    return data


def _check_size(im: Image.Image, max_pixels: int) -> None:
    """Refuse an image whose header promises too many pixels, before any are decoded."""
    width, height = im.size
    if width * height > max_pixels:
        raise ThumbnailError(
            f"image too large: {width}x{height} pixels exceeds the limit of {max_pixels}"
        )


def _draft_within(im: Image.Image, max_side: int, max_memory: int) -> int:
    """Choose the decoding scale; return the bytes decoding will take, or refuse the image."""
    coefficients, size = _jpeg_coefficient_bytes(im), im.size
    if im.format in ("JPEG", "MPO"):
        # Decode at the smallest DCT scale (1/2, 1/4, 1/8) still at least as big as the
        # thumbnail: faster than libvips' shrink-on-load, with LANCZOS doing the rest.
        im.draft(None, _fitted(im.size, max_side))
    needed = coefficients + _decoded_bytes(im)
    _check_memory(size, im.mode, needed, max_memory)
    return needed


def _shrink(im: Image.Image, max_side: int) -> Image.Image:
    """Return im reduced to fit max_side (never enlarged), upright, in RGB or RGBA."""
    # Resizing would pick palette entries by nearest neighbour and smear colour-key
    # transparency, so convert those first. Floats are box-reduced first (which cannot
    # overshoot their range), then mapped: a full-size float copy would double the memory.
    if "transparency" in im.info or im.mode == "PA":
        im = im.convert("RGBA")
    elif im.mode in ("1", "P"):
        im = im.convert("L" if im.mode == "1" else "RGB")
    elif im.mode == "F":
        factor = max(im.size) // (2 * max_side)
        im = _floats_to_8bit(im.reduce(factor) if factor > 1 else im)
    im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=2.0)
    im.load()  # thumbnail() skips decoding small images; damage must surface here, not in _upright
    return _to_rgb(_upright(im))


def _decoded_bytes(im: Image.Image) -> int:
    """Bytes Pillow will hold at once to decode im and convert it at full size."""
    pixels = im.width * im.height
    held = PILLOW_PIXEL_BYTES.get(im.mode, 4)
    if "transparency" in im.info or im.mode in ("PA", "P"):
        held += 4  # the RGB(A) copy made before resizing
    elif im.mode == "1":
        held += 1
    if im.format == "WEBP":
        held += 4  # libwebp decodes into a buffer of its own, then Pillow copies it
    total = pixels * held
    if im.format == "PNG" and im.info.get("interlace"):
        total += pixels * 8  # the interlaced passes, at up to 16-bit RGBA
    if im.format == "TIFF":
        total += _tiff_buffer_bytes(im)
    return total


def _tiff_buffer_bytes(im: Image.Image) -> int:
    """libtiff decodes a whole strip or tile at a time: one strip may be the whole image."""
    tags = im.tag_v2
    bits = tags.get(258, 8)
    pixel_bits = (max(bits) if isinstance(bits, tuple) else bits) * tags.get(277, 1)
    if 322 in tags and 323 in tags:
        width, rows = tags[322], tags[323]
    else:
        width, rows = im.width, min(tags.get(278, im.height), im.height)
    return width * rows * pixel_bits // 8


def _jpeg_coefficient_bytes(im: Image.Image) -> int:
    """A progressive JPEG holds every DCT coefficient of the full-size image, whatever
    the scale it is drafted to: 2 bytes each, per component at its own sampling."""
    if im.format not in ("JPEG", "MPO") or not im.info.get("progressive"):
        return 0
    layers = getattr(im, "layer", None) or [("", 1, 1, 0)] * len(im.getbands())
    h_max = max(layer[1] for layer in layers) or 1
    v_max = max(layer[2] for layer in layers) or 1
    total = 0
    for _, h, v, _ in layers:
        columns = -(-im.width * h // h_max) // 8 + 1
        rows = -(-im.height * v // v_max) // 8 + 1
        total += columns * rows * 64 * 2
    return total


def _check_memory(size: tuple[int, int], mode: str, needed: int, max_memory: int) -> None:
    """Refuse an image whose decoding would take more than max_memory bytes."""
    if needed > max_memory:
        raise ThumbnailError(
            f"image too large to decode: {size[0]}x{size[1]} pixels ({mode}) would "
            f"take {needed // 2**20} MB, more than the limit of {max_memory // 2**20} MB"
        )


def _fitted(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """(width, height) of `size` scaled to fit max_side, never enlarged."""
    width, height = size
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _upright(im: Image.Image) -> Image.Image:
    """Return im turned the way its EXIF orientation says."""
    try:
        return ImageOps.exif_transpose(im)
    # Damaged EXIF fails in many ways; browsers show such files unrotated, and so do we.
    except Exception:
        return im


def _to_rgb(im: Image.Image) -> Image.Image:
    """Return im as RGBA if any pixel is see-through, else as RGB."""
    if im.mode == "I" or im.mode.startswith("I;16"):
        # Read as 16-bit; convert("L") alone would clip everything above 255 to white.
        im = im.convert("I").point(lambda v: v / 256).convert("L")
    if im.has_transparency_data:
        rgba = im.convert("RGBA")
        if rgba.getchannel("A").getextrema()[0] < 255:
            return rgba
    return im.convert("RGB")


def _floats_to_8bit(im: Image.Image) -> Image.Image:
    """Map a float image onto 0..255: 0..1 and 0..255 data as they are, wider ranges stretched."""
    low, high = im.getextrema()
    low, high = min(low, 0.0), max(high, 1.0 if high <= 1 else 255.0)
    return im.point(lambda v: (v - low) * (255 / (high - low))).convert("L")


def _encode(im: Image.Image, quality: int) -> Thumbnail:
    """Encode im as WebP without its EXIF, XMP or ICC metadata."""
    out = io.BytesIO()
    # method 4, as the libvips path's effort 4: method 5 saves little of the bytes for
    # noticeably more time, and method 6 is far slower on alpha.
    im.save(out, "WEBP", quality=quality, method=4)
    return Thumbnail(out.getvalue(), "image/webp", im.width, im.height)


def _reason(exc: Exception) -> str:
    """Say in a few words why Pillow could not read an image."""
    if isinstance(exc, UnidentifiedImageError):
        return "not an image (or not a supported format)"
    if isinstance(exc, Image.DecompressionBombError | Image.DecompressionBombWarning):
        return f"image too large: {exc}"
    if isinstance(exc, EOFError) or "truncated" in str(exc).lower():
        return "image is truncated"
    return f"image is damaged or unsupported ({type(exc).__name__}: {exc})"
