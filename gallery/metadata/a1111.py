"""AUTOMATIC1111 family (A1111, Forge, SD.Next, Civitai...): the "parameters" text."""

import json
import re

from .common import Generation, clean, load_json, text_or_none

NEGATIVE = "Negative prompt:"
# One "Key: value" pair of the settings line; values may be JSON-quoted and hold commas.
SETTING = re.compile(r'\s*([\w][\w \-/.()]*):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)')
SOURCES = ("parameters", "exif.UserComment", "Parameters")
# Fields other tools sometimes fill with A1111 text; only trusted when a settings line is there.
WEAK_SOURCES = ("stealth_pnginfo", "Description", "exif.ImageDescription", "comment")


def read_a1111(raw: dict[str, str]) -> Generation | None:
    """Split A1111-style parameters into prompt, negative prompt and the Model setting."""
    for key in SOURCES + WEAK_SOURCES:
        text = raw.get(key)
        if not isinstance(text, str) or not text.strip() or load_json(text) is not None:
            continue
        if key in WEAK_SOURCES and _settings_index(text.split("\n")) is None:
            continue
        return parse_parameters(text)
    return None


def parse_parameters(text: str, generator: str = "AUTOMATIC1111") -> Generation:
    """Parse one A1111 parameters block (prompt-only and no-negative variants included)."""
    text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    steps = _settings_index(lines)
    body = "\n".join(lines[:steps]) if steps is not None else text
    settings = parse_settings(lines[steps]) if steps is not None else {}
    if body.startswith(NEGATIVE):
        prompt, negative = "", body[len(NEGATIVE) :]
    elif f"\n{NEGATIVE}" in body:
        prompt, negative = body.split(f"\n{NEGATIVE}", 1)
    else:
        prompt, negative = body, None
    return Generation(
        prompt=text_or_none(prompt),
        negative_prompt=clean(negative),
        model=text_or_none(settings.get("Model")),
        generator=generator,
    )


def parse_settings(line: str) -> dict[str, str]:
    """The "Steps: 20, Sampler: Euler a, ..." line as a dict, with quoted values unquoted."""
    settings = {}
    for key, value in SETTING.findall(line):
        value = value.strip()
        if value.startswith('"') and value.endswith('"') and len(value) > 1:
            try:
                value = json.loads(value)
            except ValueError:
                value = value[1:-1]
        settings.setdefault(key.strip(), value)
    return settings


def _settings_index(lines: list[str]) -> int | None:
    """Index of the last line that starts with "Steps: " (extensions append lines after it)."""
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].startswith("Steps: "):
            return index
    return None
