"""Keyset pagination: opaque cursors and the conditions that resume after them."""

import base64
import json
import math
from datetime import UTC, datetime
from typing import NamedTuple

from .errors import InvalidInput

# A cursor the server makes is well under 200 characters; a longer one was made by hand
# (and could nest JSON deep enough to exhaust the parser's recursion).
MAX_CURSOR_LENGTH = 400
INT64 = range(-(2**63), 2**63)  # what both engines can compare an integer column with


class Page(NamedTuple):
    items: list
    next_cursor: str | None


class Cursor(NamedTuple):
    """Where the previous page stopped: its last row's sort key and id, and for best
    match the newest prompt id the first page saw (see search.search_prompts)."""

    key: object
    row_id: int
    snapshot: int | None = None


def encode_cursor(sort, key, row_id, snapshot=None):
    """An opaque, URL-safe token for "after this row, in this order"."""
    if isinstance(key, datetime):
        key = key.isoformat()
    fields = [sort, key, row_id] if snapshot is None else [sort, key, row_id, snapshot]
    raw = json.dumps(fields, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor, sort, key_type, snapshot=False):
    """The Cursor in a token made for `sort` with a key of `key_type` (datetime, int or
    float) and, when `snapshot`, a snapshot id; InvalidInput if it was tampered with."""
    fields = None
    if isinstance(cursor, str) and len(cursor) <= MAX_CURSOR_LENGTH:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            fields = json.loads(raw)
        except ValueError:  # base64, UTF-8 and JSON errors alike
            pass
    if isinstance(fields, list) and len(fields) == 3 + snapshot and fields[0] == sort:
        key = check_key(fields[1], key_type)
        numbers = fields[2:]
        if key is not None and all(type(n) is int and n in INT64 for n in numbers):
            return Cursor(key, *numbers)
    raise InvalidInput("invalid or expired cursor; start again from the first page", "cursor")


def check_key(key, key_type):
    """The key as `key_type`, or None when it is not one a cursor of ours could hold."""
    if key_type is datetime and isinstance(key, str):
        try:
            moment = datetime.fromisoformat(key)
            # In UTC now, as the database compares it: a time near year 1 or 9999
            # may leave the calendar on the way.
            if moment.tzinfo is None:
                return moment.replace(tzinfo=UTC)
            return moment.astimezone(UTC)
        except (ValueError, OverflowError):
            return None
    if key_type is int and type(key) is int and key in INT64:
        return key
    if key_type is float and type(key) in (int, float) and math.isfinite(key):
        return float(key)
    return None


def rows_after(column, id_column, key, row_id, descending):
    """Rows after (key, id) when ordered by column (ascending or not), then id ascending.

    Written as `key <= v AND (...)` rather than a row value so the first term
    is a range on the sort index on every engine.
    """
    if descending:
        return (column <= key) & ((column < key) | (id_column > row_id))
    return (column >= key) & ((column > key) | (id_column > row_id))


def page_from_rows(rows, limit, cursor_of):
    """A Page from `limit + 1` fetched rows: the extra row only says there is more."""
    rows = list(rows)
    if len(rows) <= limit:
        return Page(rows, None)
    rows = rows[:limit]
    return Page(rows, cursor_of(rows[-1]))
