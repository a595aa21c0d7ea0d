"""extract_raw: every metadata text field of an image file, bounded and never raising."""

import io
import os
import struct
import zlib
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO

from PIL import ExifTags, Image, IptcImagePlugin

from .common import MAX_TOTAL, MAX_VALUE, fix_mojibake
from .stealth import MAX_PIXELS, read_stealth

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PILLOW_EXTRA = 8 * 1024 * 1024  # PNG ancillary bytes beyond which we skip Pillow
XMP_KEYS = ("xmp", "XML:com.adobe.xmp")
# EXIF tags whose bytes are text in a known encoding rather than Pillow-decoded strings.
XP_TAGS = {0x9C9B: "XPTitle", 0x9C9C: "XPComment", 0x9C9D: "XPAuthor", 0x9C9F: "XPSubject"}


class _Fields(dict):
    """A dict that truncates each value and stops growing at MAX_TOTAL characters."""

    total = 0

    def put(self, key: str, value) -> None:
        if not isinstance(value, str):
            return
        value = value[:MAX_VALUE]
        if not value.strip("\x00 \t\r\n") or key in self or self.total >= MAX_TOTAL:
            return
        value = value[: MAX_TOTAL - self.total]
        self.total += len(value)
        self[key] = value


def extract_raw(source, sidecar: bool = True) -> dict[str, str]:
    """Every metadata text field of an image file as {key: text}; {} for non-images."""
    fields = _Fields()
    try:
        with _open(source) as handle:
            _collect(handle, fields)
    except Exception:  # a hostile or damaged file must never break an import
        pass
    if sidecar and isinstance(source, str | os.PathLike):
        _sidecars(Path(source), fields)
    return dict(fields)


def _open(source) -> BinaryIO:
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(source)
    return Path(source).open("rb")


def _collect(handle: BinaryIO, fields: _Fields) -> None:
    if handle.read(8) == PNG_SIGNATURE and not _png_chunks(handle, fields):
        return
    handle.seek(0)
    try:
        image = Image.open(handle)
    except Exception:  # not an image Pillow knows: keep what the chunks gave
        return
    with image:
        _pillow_fields(image, fields)
        stealth = read_stealth(image)
        if stealth:
            fields.put("stealth_pnginfo", stealth)


def _png_chunks(handle: BinaryIO, fields: _Fields) -> bool:
    """Read text chunks wherever they sit (Pillow sees late ones only after a full decode).

    Streams the file so a huge chunk costs one bounded read; returns whether the file is
    small enough for Pillow to open as well (Pillow reads whole text chunks into memory).
    """
    pixels, extra = 0, 0
    while header := handle.read(8):
        if len(header) < 8:
            break
        length, kind = struct.unpack(">I4s", header)
        if kind == b"IEND":
            break
        if kind in (b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"IHDR"):
            body = handle.read(min(length, 4 * MAX_VALUE))
            if len(body) < min(length, 4 * MAX_VALUE):
                break  # the file ends inside this chunk: a truncated file, not a short text
            handle.seek(length - len(body) + 4, io.SEEK_CUR)
        else:
            handle.seek(length + 4, io.SEEK_CUR)
            body = b""
        if kind != b"IDAT":
            extra += length
        if kind == b"IHDR" and len(body) >= 8:
            width, height = struct.unpack(">II", body[:8])
            pixels = width * height
        elif kind == b"eXIf":
            exif = Image.Exif()
            exif.load(body)
            _exif_fields(exif, fields)
        elif body:
            try:
                key, text = _text_chunk(kind, body)
            except (ValueError, zlib.error):
                continue
            fields.put("xmp" if key in XMP_KEYS else key, text)
    return 0 < pixels <= MAX_PIXELS and extra <= MAX_PILLOW_EXTRA


def _text_chunk(kind: bytes, body: bytes) -> tuple[str, str]:
    key, _, rest = body.partition(b"\x00")
    name = key.decode("latin-1")
    if kind == b"tEXt":
        return name, fix_mojibake(rest.decode("latin-1"))
    if kind == b"zTXt":
        return name, fix_mojibake(_inflate(rest[1:]).decode("latin-1"))
    compressed, rest = rest[0], rest[2:]
    _language, _, rest = rest.partition(b"\x00")
    _translated, _, rest = rest.partition(b"\x00")
    raw = _inflate(rest) if compressed else rest
    return name, raw.decode("utf-8", "replace")


def _inflate(data: bytes) -> bytes:
    # max_length bounds a zip bomb: we never need more than one value's worth of text.
    return zlib.decompressobj().decompress(data, 4 * MAX_VALUE)


def _pillow_fields(image: Image.Image, fields: _Fields) -> None:
    for key, value in image.info.items():
        if key in XMP_KEYS:
            key = "xmp"
        if isinstance(value, bytes):
            # Other byte values (exif, icc_profile, transparency...) are binary, not text.
            value = _decode_bytes(value) if key in ("xmp", "comment") else None
        if key == "version":  # GIF87a / GIF89a
            continue
        if isinstance(value, str):
            fields.put(key, fix_mojibake(value) if key != "xmp" else value)
    with suppress(Exception):  # a broken IFD loses EXIF, not the rest
        _exif_fields(image.getexif(), fields)
    _iptc_fields(image, fields)


def _exif_fields(exif: Image.Exif, fields: _Fields) -> None:
    try:
        tags = dict(exif.items())
        tags.update(exif.get_ifd(ExifTags.IFD.Exif))
    except Exception:  # a broken IFD loses EXIF, not the rest
        return
    for tag, value in tags.items():
        name = ExifTags.TAGS.get(tag, str(tag))
        if tag == 0x9286:
            text = decode_user_comment(value)
        elif tag in XP_TAGS and isinstance(value, bytes | tuple):
            text = bytes(value).decode("utf-16-le", "replace").rstrip("\x00")
        elif isinstance(value, bytes) and tag == 0x927C:
            # MakerNote: Fooocus writes its scheme name here; cameras write binary.
            text = _decode_bytes(value)
            text = text if text and text.isprintable() else None
        elif isinstance(value, str):
            text = fix_mojibake(value).strip("\x00")
        else:
            continue
        fields.put(f"exif.{name}", text)


def decode_user_comment(value) -> str | None:
    """Decode an EXIF UserComment: an 8-byte charset header, then the text."""
    if isinstance(value, str):
        return fix_mojibake(value).strip("\x00")
    if not isinstance(value, bytes):
        return None
    header, body = value[:8], value[8:]
    if header.startswith(b"UNICODE"):
        return _utf16(body).strip("\x00")
    if header.startswith(b"JIS"):
        return body.decode("shift_jis", "replace").strip("\x00")
    if header.startswith(b"ASCII") or header == b"\x00" * 8:
        return _decode_bytes(body).strip("\x00")
    return _decode_bytes(value).strip("\x00")


def _utf16(body: bytes) -> str:
    if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return body.decode("utf-16", "replace")
    # No BOM: writers disagree on byte order. ASCII-heavy text puts its NULs in the high
    # byte, so whichever half of the pairs holds more NULs tells the order.
    sample = body[:4096]
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    return body.decode("utf-16-be" if even > odd else "utf-16-le", "replace")


def _decode_bytes(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _iptc_fields(image: Image.Image, fields: _Fields) -> None:
    try:
        iptc = IptcImagePlugin.getiptcinfo(image) or {}
    except Exception:  # IPTC blocks are often malformed
        return
    caption = iptc.get((2, 120))
    if isinstance(caption, list):
        caption = caption[0] if caption else None
    if isinstance(caption, bytes):
        fields.put("iptc.caption", _decode_bytes(caption))


def _sidecars(path: Path, fields: _Fields) -> None:
    for suffix in (".txt", ".json"):
        for candidate in (path.with_suffix(suffix), path.with_name(path.name + suffix)):
            try:
                if candidate != path and candidate.is_file():
                    with candidate.open("rb") as handle:
                        fields.put(f"sidecar{suffix}", _decode_bytes(handle.read(MAX_VALUE)))
                    break
            except OSError:
                continue
