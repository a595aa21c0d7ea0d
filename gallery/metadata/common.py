"""Shared pieces of the metadata readers: the Generation record and small text helpers."""

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

MAX_VALUE = 256 * 1024  # characters kept per field
MAX_TOTAL = 1024 * 1024  # characters kept per file


@dataclass(frozen=True)
class Generation:
    """What an image file says about how it was generated."""

    prompt: str | None = None
    negative_prompt: str | None = None
    model: str | None = None
    generated_at: datetime | None = None
    generator: str | None = None


def clean(value) -> str | None:
    """Strip a stored string; None for anything that is not a string."""
    # NULs are padding some writers leave around their text, never part of a prompt.
    return value.strip().strip("\x00").strip() if isinstance(value, str) else None


def text_or_none(value) -> str | None:
    """Strip a stored string and turn an empty one into None."""
    return clean(value) or None


def fix_mojibake(text: str) -> str:
    """Undo UTF-8 bytes that a writer stored as latin-1 (tEXt, EXIF ASCII)."""
    if text.isascii() or max(text) > "\xff":
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return text


def load_json(text):
    """Parse JSON (unwrapping one level of JSON-in-a-string); None when it is not JSON."""
    if not isinstance(text, str):
        return None
    text = text.strip().strip("\x00").strip()
    if not text or text[0] not in '{["':
        return None
    try:
        value = json.loads(text)
        # RuinedFooocus and some save nodes encode the object twice.
        if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
            value = json.loads(value)
    except (ValueError, RecursionError):
        return None
    return value


def load_dict(text) -> dict | None:
    """load_json, but only a JSON object counts."""
    value = load_json(text)
    return value if isinstance(value, dict) else None


def pick(data: dict, *keys):
    """The first of keys present in data with a non-None value (exact, then case-insensitive)."""
    for key in keys:
        if data.get(key) is not None:
            return data[key]
    lowered = {str(k).lower(): v for k, v in data.items()}
    for key in keys:
        if lowered.get(key.lower()) is not None:
            return lowered[key.lower()]
    return None


def model_name(value) -> str | None:
    """A model name from a string or from a {name|model_name|...} object."""
    if isinstance(value, dict):
        value = pick(value, "name", "model_name", "modelFileName", "modelName", "title", "content")
    return text_or_none(value) if isinstance(value, str) else None


_EXIF_DATE = re.compile(r"^(\d{4}):(\d\d):(\d\d)[ T](\d\d:\d\d:\d\d)")


def parse_date(value) -> datetime | None:
    """An aware UTC datetime from an ISO, EXIF or epoch value; naive times are taken as UTC."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        # Epoch seconds or milliseconds; anything outside 1990-2100 is not a timestamp.
        seconds = value / 1000 if value > 1e11 else value
        if 631152000 <= seconds <= 4102444800:
            return datetime.fromtimestamp(seconds, UTC)
        return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    text = _EXIF_DATE.sub(r"\1-\2-\3T\4", text)
    try:
        moment = datetime.fromisoformat(text)  # reads a trailing Z since 3.11
    except ValueError:
        try:
            from email.utils import parsedate_to_datetime

            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if moment.tzinfo is None:
        # EXIF and most generators write local time without a zone; UTC is the honest guess.
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
