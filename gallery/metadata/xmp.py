"""XMP packets: Draw Things' generation JSON and plain dc:description captions."""

import html
import re

from .a1111 import parse_parameters
from .common import Generation, clean, load_dict, model_name, parse_date, text_or_none

# Regexes rather than an XML parser: packets are often invalid XML, and we need three fields.
XMP_DATE = re.compile(r"xmp:CreateDate(?:=\"([^\"]*)\"|>([^<]*)<)")


def xmp_field(xmp: str, name: str) -> str | None:
    """A simple XMP property as text, written as an element (rdf:Alt/li) or an attribute."""
    element = re.search(rf"<{name}\b[^>]*>(.*?)</{name}>", xmp, re.DOTALL)
    if element:
        body = element.group(1)
        item = re.search(r"<rdf:li\b[^>]*>(.*?)</rdf:li>", body, re.DOTALL)
        value = item.group(1) if item else body
        if "<" not in value:
            return html.unescape(value)
        return None
    attribute = re.search(rf"\b{name}=\"([^\"]*)\"", xmp)
    return html.unescape(attribute.group(1)) if attribute else None


def read_draw_things(raw: dict[str, str]) -> Generation | None:
    """Draw Things: JSON {c, uc, model, ...} in XMP exif:UserComment."""
    xmp = raw.get("xmp")
    if not isinstance(xmp, str):
        return None
    data = load_dict(xmp_field(xmp, "exif:UserComment"))
    if not data or not isinstance(data.get("c"), str):
        return None
    return Generation(
        prompt=text_or_none(data.get("c")),
        negative_prompt=clean(data.get("uc")),
        model=model_name(data.get("model")),
        generated_at=xmp_date(raw),
        generator="Draw Things",
    )


def read_xmp_parameters(raw: dict[str, str]) -> Generation | None:
    """An A1111-style block in dc:description (Draw Things without JSON, some converters)."""
    xmp = raw.get("xmp")
    text = xmp_field(xmp, "dc:description") if isinstance(xmp, str) else None
    if not text or "\nSteps: " not in f"\n{text}":
        return None
    generator = "Draw Things" if "Draw Things" in xmp else "AUTOMATIC1111"
    return parse_parameters(text, generator)


def xmp_date(raw: dict[str, str]):
    """xmp:CreateDate as an aware datetime, if the packet has one."""
    xmp = raw.get("xmp")
    match = XMP_DATE.search(xmp) if isinstance(xmp, str) else None
    return parse_date(match.group(1) or match.group(2)) if match else None
