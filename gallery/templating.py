"""Jinja filters: highlighted search matches, relative and exact times, counts."""

import re

from markupsafe import Markup, escape

from .models import utcnow
from .words import starting_with

_UNITS = [
    (365 * 86400, "year"),
    (30 * 86400, "month"),
    (86400, "day"),
    (3600, "hour"),
    (60, "minute"),
]


def highlight(text, terms):
    """The text escaped, with whole words that start with a search term wrapped in <mark>."""
    if not terms:
        return escape(text)
    pattern = starting_with(tuple(terms))
    parts, position = [], 0
    for match in pattern.finditer(text):
        parts.append(escape(text[position : match.start()]))
        parts.append(Markup("<mark>%s</mark>") % match.group())
        position = match.end()
    parts.append(escape(text[position:]))
    return Markup("").join(parts)


# Bidirectional controls (LRE..RLO, LRI..PDI, LRM, RLM) would reorder a tab title or an
# alt text around them; in page text CSS isolates them (unicode-bidi: plaintext).
_BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def plain(text):
    """Text for a title or an attribute: bidirectional controls removed (still escaped later)."""
    return _BIDI_CONTROLS.sub("", text or "")


def ago(moment, now=None):
    """'3 days ago', 'just now': how long since `moment`."""
    if moment is None:
        return "never"
    seconds = ((now or utcnow()) - moment).total_seconds()
    if seconds < 60:
        return "just now"
    for size, unit in _UNITS:
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def exact(moment):
    """The exact time in UTC, for a title attribute."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


def number(count):
    """12345 -> '12,345': every count a page shows, written one way."""
    return f"{count or 0:,}"


def plural(count, word):
    """'1 use', '3 uses', '1,200 prompts'."""
    return f"{number(count)} {word}{'' if count == 1 else 's'}"


def init_app(app):
    """Register the filters."""
    for function in (highlight, plain, ago, exact, number, plural):
        app.add_template_filter(function)
