"""The accelerated thumbnail path: libvips (pyvips), used for PNG and WebP when installed.

libvips decodes PNG faster than Pillow and shrinks while it decodes, so imports of
diffusion PNGs go faster. JPEG stays with Pillow: its draft mode decodes at a reduced DCT
scale and, with the WebP encoder, beats libvips' thumbnailer on photos (bench/RESULTS.md,
bench/thumbnail_speed.py). Its answers match thumbnails.py's: same size rules, upright,
8-bit sRGB, alpha kept only when some pixel is see-through, metadata dropped, and the same
refusals (too many pixels before decoding, truncated files, not an image).
"""

from PIL import Image

try:
    import pyvips
except (ImportError, OSError):  # not installed, or libvips missing: Pillow does it all
    pyvips = None
else:
    # Every upload is new, so libvips' cache of recent operations (100 MB by default)
    # would only keep their pixels alive after the thumbnail is made.
    pyvips.cache_set_max(0)

# Only the formats generators write: libvips reads many more (PDF, SVG...) that an upload
# has no business reaching.
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# Pillow warns above this and refuses twice it; libvips has no such guard, so never
# decode more than Pillow would accept without a warning, whatever max_pixels says.
PILLOW_LIMIT = Image.MAX_IMAGE_PIXELS


def available():
    """True when libvips can be used."""
    return pyvips is not None


def use_one_thread():
    """Run libvips on one thread: for worker processes that already fill the cores."""
    if pyvips is not None:
        pyvips.concurrency_set(1)


def handles(data):
    """True for PNG and WebP bytes."""
    return data.startswith(PNG_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


class Refused(Exception):
    """An image libvips will not thumbnail; the message is the reason (thumbnails.py
    turns it into a ThumbnailError, as its Pillow path would raise)."""


def webp_thumbnail(data, max_side, quality, max_pixels, max_memory):
    """(webp bytes, width, height), or Refused with a reason."""
    try:
        width, height = png_size(data) or header_size(data)
        limit = min(max_pixels, PILLOW_LIMIT)
        if width * height > limit:
            raise Refused(f"image too large: {width}x{height} pixels exceeds the limit of {limit}")
        needed = interlaced_png_bytes(data)
        if needed > max_memory:
            raise Refused(
                f"image too large to decode: {width}x{height} interlaced PNG would take "
                f"{needed // 2**20} MB, more than the limit of {max_memory // 2**20} MB"
            )
        # fail_on=truncated: a cut-off file is refused, as Pillow refuses it, rather
        # than thumbnailed with a grey band where the missing rows would be.
        thumb = pyvips.Image.thumbnail_buffer(
            data, max_side, height=max_side, size="down", option_string="fail_on=truncated"
        )
        if thumb.hasalpha():
            # Materialised once (a thumbnail is small): the alpha check and the encoder
            # both read it, and a streamed pipeline can only be read once.
            thumb = thumb.copy_memory()
        thumb = eight_bit_srgb(thumb)
        encoded = thumb.webpsave_buffer(Q=quality, keep="none", effort=4)
    except pyvips.Error as exc:
        raise Refused(reason(str(exc))) from None
    return encoded, thumb.width, thumb.height


def png_size(data):
    """(width, height) from a PNG's IHDR chunk, which must come first; else None.

    Read by hand: asking libvips for the header costs a measurable share of a whole
    thumbnail, and the IHDR chunk holds the answer at a fixed place.
    """
    if data.startswith(PNG_MAGIC) and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return None


def interlaced_png_bytes(data):
    """Bytes libvips holds to decode an interlaced PNG, which it reads whole; else 0.

    Other PNGs and WebP are read a few lines at a time (sequential access) and shrunk
    as they load, so their size costs no memory.
    """
    if not png_size(data) or len(data) < 29 or data[28] != 1:
        return 0
    width, height = png_size(data)
    depth, colour = data[24], data[25]
    channels = {0: 1, 2: 3, 3: 4, 4: 2, 6: 4}.get(colour, 4)  # a palette becomes RGB(A)
    return width * height * channels * (2 if depth == 16 else 1)


def header_size(data):
    """(width, height) as libvips reads them from the header, decoding no pixels."""
    header = pyvips.Image.new_from_buffer(data, "", access="sequential")
    return header.width, header.height


def eight_bit_srgb(image):
    """8-bit sRGB (or grey), with an alpha band only if some pixel is see-through."""
    if image.interpretation not in ("srgb", "b-w") or image.format != "uchar":
        grey = image.bands - image.hasalpha() == 1
        image = image.colourspace("b-w" if grey else "srgb").cast("uchar")
    if image.hasalpha() and image[image.bands - 1].min() >= 255:
        image = image.extract_band(0, n=image.bands - 1)
    return image


def reason(message):
    """A readable reason from a libvips error message."""
    lowered = message.lower()
    if "not a known" in lowered or "unsupported image format" in lowered:
        return "not an image (or not a supported format)"
    # libjpeg says "premature end", libpng "read error", libwebp "truncated".
    if any(word in lowered for word in ("truncat", "premature end", "read error", "not enough")):
        return "image is truncated"
    first = message.strip().splitlines()[0] if message.strip() else "unknown error"
    return f"image is damaged or unsupported (libvips: {first})"
