"""Stealth PNG info: A1111's extension and NovelAI hide metadata in the pixels' lowest bits."""

import zlib

from PIL import Image

MAX_PIXELS = 16_000_000  # decoding more just to look for hidden text is not worth it
SIGNATURES = {
    b"stealth_pnginfo": ("A", False),
    b"stealth_pngcomp": ("A", True),
    b"stealth_rgbinfo": ("RGB", False),
    b"stealth_rgbcomp": ("RGB", True),
}


def read_stealth(image: Image.Image) -> str | None:
    """The text hidden in the alpha or RGB low bits of a lossless image, if any."""
    width, height = image.size
    if image.format not in ("PNG", "WEBP") or width * height > MAX_PIXELS:
        return None
    if image.mode not in ("RGBA", "RGB", "LA"):
        return None
    try:
        for bands in ("A", "RGB") if "A" in image.mode else ("RGB",):
            text = _read_bands(image, bands)
            if text is not None:
                return text
    except Exception:  # truncated pixel data must not break extraction
        return None
    return None


def _read_bands(image: Image.Image, bands: str) -> str | None:
    channel = image.getchannel("A") if bands == "A" else image.convert("RGB")
    # The writer walks x in the outer loop and y in the inner one: transpose to read in order.
    lows = channel.transpose(Image.Transpose.TRANSPOSE).tobytes()
    signature = _pack(lows, 0, 15 * 8)
    kind = SIGNATURES.get(signature)
    if kind is None or kind[0] != bands:
        return None
    length = int.from_bytes(_pack(lows, 120, 32), "big")
    if length <= 0 or 152 + length > len(lows):
        return None
    payload = _pack(lows, 152, length)
    if kind[1]:
        payload = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(payload, 4 * 1024 * 1024)
    return payload.decode("utf-8", "replace")


def _pack(lows: bytes, start: int, bits: int) -> bytes:
    """Pack the low bits of lows[start:start+bits] into bytes, most significant bit first."""
    out = bytearray()
    for offset in range(start, start + bits - bits % 8, 8):
        byte = 0
        for value in lows[offset : offset + 8]:
            byte = (byte << 1) | (value & 1)
        out.append(byte)
    return bytes(out)
