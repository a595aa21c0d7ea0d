"""Prompt normalization and hashing: pure functions, no database."""

import hashlib
import re
import unicodedata

from .errors import InvalidPrompt

# \s in a str pattern matches every Unicode whitespace (NBSP, ideographic
# space, line separators...), which is what "collapse whitespace" means here.
_WHITESPACE = re.compile(r"\s+")
# Half of a UTF-16 pair on its own (JSON's "\ud800" decodes to one): not a
# character, and neither UTF-8 nor either database can store it.
_SURROGATE = re.compile("[\ud800-\udfff]")
# Letters that draw nothing: Hangul fillers and the blank Braille pattern.
_BLANK_LETTERS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}


def normalize(text):
    """Return the form two prompts share when they are "the same prompt"."""
    text = unicodedata.normalize("NFKC", text)
    # casefold after NFKC so compatibility characters fold too (Straße == STRASSE).
    return _WHITESPACE.sub(" ", text.casefold()).strip()


def prompt_hash(text):
    """SHA-256 hex digest of the normalized prompt: the uniqueness key."""
    return hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()


def clean_prompt(text, max_length=10_000):
    """Return the prompt as it will be stored (trimmed), or raise InvalidPrompt."""
    if not isinstance(text, str):
        raise InvalidPrompt(f"prompt must be text, not {type(text).__name__}")
    text = text.strip()
    if "\x00" in text:
        raise InvalidPrompt("prompt must not contain NUL characters")
    if surrogate := lone_surrogate(text):
        raise InvalidPrompt(f"prompt contains {surrogate}; send the text as valid UTF-8")
    if not normalize(text):
        raise InvalidPrompt("prompt is empty")
    if not has_visible(text):
        raise InvalidPrompt("prompt is empty: it has only invisible characters")
    if len(text) > max_length:
        raise InvalidPrompt(f"prompt is {len(text)} characters long; the limit is {max_length}")
    return text


def lone_surrogate(text):
    """A description of the first lone surrogate in `text`, or None when there is none."""
    match = _SURROGATE.search(text)
    return match and f"U+{ord(match.group()):04X}, a lone surrogate that is not a character"


def has_visible(text):
    """True when `text` has a character that shows: a letter, digit, mark of punctuation
    or symbol. Private-use and unassigned characters count (an icon font, an emoji newer
    than this Python); format characters (zero-width space, BOM, direction marks),
    separators and combining marks on their own do not."""
    for char in text:
        category = unicodedata.category(char)
        if category in ("Co", "Cn") or (category[0] in "LNPS" and char not in _BLANK_LETTERS):
            return True
    return False
