"""Read the prompt that AI image generators embed in their files.

extract_raw() keeps every text field of a file; interpret() turns those fields into a
Generation. The importer stores the raw fields, so a better reader can re-run later.
"""

from contextlib import suppress
from dataclasses import replace

from .a1111 import read_a1111
from .comfyui import read_comfyui
from .common import Generation, load_dict, parse_date
from .extract import extract_raw
from .fallback import read_caption, read_sidecar_json, read_sidecar_txt
from .invokeai import read_invokeai
from .jsonformats import (
    read_easy_diffusion,
    read_fooocus,
    read_generic_json,
    read_stability_matrix,
    read_swarmui,
    read_tensorart,
)
from .novelai import read_novelai
from .xmp import read_draw_things, read_xmp_parameters, xmp_date

__all__ = ["Generation", "extract_raw", "interpret", "read_generation"]

# Most specific first: explicit JSON formats before A1111 text, which many tools imitate,
# and A1111 text before a ComfyUI graph (save nodes that write both mean the text).
READERS = (
    read_tensorart,
    read_stability_matrix,
    read_invokeai,
    read_novelai,
    read_swarmui,
    read_fooocus,
    read_easy_diffusion,
    read_draw_things,
    read_a1111,
    read_comfyui,
    read_xmp_parameters,
    read_generic_json,
    read_sidecar_json,
    read_sidecar_txt,
    read_caption,
)
DATE_FIELDS = (
    "exif.DateTimeOriginal",
    "exif.DateTimeDigitized",
    "Creation Time",
    "creation_time",
    "Date",
)


def interpret(raw: dict[str, str]) -> Generation:
    """Turn extract_raw's fields into a Generation; never raises."""
    raw = raw if isinstance(raw, dict) else {}
    with suppress(Exception):  # odd stealth payloads only lose the stealth fields
        raw = _with_stealth(raw)
    fallback = None
    for reader in READERS:
        try:
            found = reader(raw)
        except Exception:  # a malformed field means this reader finds nothing
            continue
        if found is None:
            continue
        if found.prompt is not None:
            return _dated(found, raw)
        fallback = fallback or found
    return _dated(fallback or Generation(), raw)


def read_generation(source, sidecar: bool = True) -> Generation:
    """interpret(extract_raw(source, sidecar))."""
    return interpret(extract_raw(source, sidecar))


def _with_stealth(raw: dict) -> dict:
    # Stealth info is either NovelAI's whole chunk set as JSON or an A1111 parameters block;
    # fields the file also carries in the open win.
    hidden = raw.get("stealth_pnginfo")
    if not isinstance(hidden, str):
        return raw
    data = load_dict(hidden)
    if data is not None:
        extra = {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}
        return {**extra, **raw}
    return {"parameters": hidden, **raw}


def _dated(found: Generation, raw: dict) -> Generation:
    if found.generated_at is not None:
        return found
    for key in DATE_FIELDS:
        moment = parse_date(raw.get(key))
        if moment is not None:
            offset = raw.get("exif.OffsetTimeOriginal")
            if key == "exif.DateTimeOriginal" and isinstance(offset, str):
                moment = parse_date(raw[key] + offset) or moment
            return replace(found, generated_at=moment)
    moment = xmp_date(raw)
    return replace(found, generated_at=moment) if moment else found
