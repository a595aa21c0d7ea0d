"""Last resorts: sidecar files beside the image, then a plain caption field."""

import re

from .common import Generation, clean, load_dict, model_name, pick, text_or_none
from .xmp import xmp_field

CAPTIONS = ("Description", "exif.ImageDescription", "iptc.caption", "exif.XPComment")
# Cameras, phones and editors fill the caption with their own name; that is no prompt.
BOILERPLATE = re.compile(
    r"^(olympus digital camera|sony dsc|kodak digital still camera|minolta digital camera"
    r"|digital camera|exif_jpeg_picture|default|untitled|image|picture|photo|screenshot"
    r"|created with gimp|ai generated image|novelai generated image|lead technologies.*"
    r"|samsung|nikon|canon|casio|panasonic|fujifilm|dcim|hdr|description|no description"
    r"|\W*|[\w\s]{0,3})$",
    re.IGNORECASE,
)


def read_sidecar_json(raw: dict[str, str]) -> Generation | None:
    """A same-stem .json beside the image with prompt / negative_prompt / model keys."""
    data = load_dict(raw.get("sidecar.json"))
    prompt = pick(data, "prompt", "positive_prompt", "Prompt") if data else None
    if not isinstance(prompt, str):
        return None
    negative = pick(data, "negative_prompt", "negativePrompt", "negative")
    return Generation(
        prompt=text_or_none(prompt),
        negative_prompt=clean(negative) if isinstance(negative, str) else None,
        model=model_name(pick(data, "model", "model_name", "checkpoint")),
        generator="sidecar",
    )


def read_sidecar_txt(raw: dict[str, str]) -> Generation | None:
    """A same-stem .txt beside the image: the whole text is the prompt."""
    prompt = text_or_none(raw.get("sidecar.txt"))
    return Generation(prompt=prompt, generator="sidecar") if prompt else None


def read_caption(raw: dict[str, str]) -> Generation | None:
    """A caption someone typed (Description, ImageDescription, dc:description, IPTC)."""
    xmp = raw.get("xmp")
    candidates = [raw.get(k) for k in CAPTIONS]
    candidates.append(xmp_field(xmp, "dc:description") if isinstance(xmp, str) else None)
    makers = {clean(raw.get(k)) for k in ("exif.Make", "exif.Model", "exif.Software")}
    for text in candidates:
        text = clean(text)
        if text and text not in makers and not BOILERPLATE.match(text):
            return Generation(prompt=text, generator="description")
    return None
