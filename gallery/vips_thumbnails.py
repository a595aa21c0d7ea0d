"""The accelerated thumbnail path: libvips (pyvips), used for JPEG, PNG and WebP when installed.

libvips decodes PNG 1.2-1.7x faster than Pillow and shrinks while it decodes, so imports of
diffusion PNGs go faster. Its answers match thumbnails.py's: same size rules, upright,
8-bit sRGB, alpha kept only when some pixel is see-through, metadata dropped, and the same
refusals (too many pixels before decoding, truncated files, not an image).
"""

from PIL import Image

try:
    import pyvips
except (ImportError, OSError):  # not installed, or libvips missing: Pillow does it all
    pyvips = None

# Only the formats generators write: libvips reads many more (PDF, SVG...) that an upload
# has no business reaching.
MAGIC = {
    b"\xff\xd8\xff": "jpeg",
    b"\x89PNG\r\n\x1a\n": "png",
}


# Pillow warns above this and refuses twice it; libvips has no such guard, so never
# decode more than Pillow would accept without a warning, whatever max_pixels says.
PILLOW_LIMIT = Image.MAX_IMAGE_PIXELS


def available():
    """True when libvips can be used."""
    return pyvips is not None


def handles(data):
    """True for JPEG, PNG and WebP bytes."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return True
    return any(data.startswith(magic) for magic in MAGIC)


def vips_thumbnail(data, max_side, quality, max_pixels, error):
    """(webp bytes, width, height), or None to leave the image to Pillow.

    Raises `error` (ThumbnailError) with a reason, as the Pillow path would.
    """
    try:
        header = pyvips.Image.new_from_buffer(data, "", access="sequential")
        if header.interpretation == "cmyk":
            return None  # colour-managed CMYK would differ from Pillow's conversion
        pixels = header.width * header.height
        limit = min(max_pixels, PILLOW_LIMIT)
        if pixels > limit:
            raise error(
                f"image too large: {header.width}x{header.height} pixels exceeds the limit "
                f"of {limit}"
            )
        # fail_on=truncated: a cut-off file is refused, as Pillow refuses it, rather
        # than thumbnailed with a grey band where the missing rows would be.
        thumb = pyvips.Image.thumbnail_buffer(
            data, max_side, height=max_side, size="down", option_string="fail_on=truncated"
        )
        # Materialised once (a thumbnail is small): the alpha check and the encoder
        # both read it, and a streamed pipeline can only be read once.
        thumb = eight_bit_srgb(thumb.copy_memory())
        encoded = thumb.webpsave_buffer(Q=quality, keep="none", effort=4)
    except pyvips.Error as exc:
        raise error(reason(str(exc))) from None
    return encoded, thumb.width, thumb.height


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
