"""Keyset pagination: opaque cursors and the conditions that resume after them."""

import base64
import binascii
import json
from datetime import datetime
from typing import NamedTuple

from .errors import InvalidInput


class Page(NamedTuple):
    items: list
    next_cursor: str | None


def encode_cursor(sort, key, row_id):
    """An opaque, URL-safe token for "after this row, in this order"."""
    if isinstance(key, datetime):
        key = key.isoformat()
    raw = json.dumps([sort, key, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor, sort, key_is_time):
    """(key, id) from a cursor made for `sort`; InvalidInput if it was tampered with."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, key, row_id = json.loads(raw)
        if key_is_time:
            key = datetime.fromisoformat(key)
        valid = cursor_sort == sort and isinstance(row_id, int)
        valid = valid and isinstance(key, datetime if key_is_time else int)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        valid = False
    if not valid or isinstance(key, bool) or isinstance(row_id, bool):
        raise InvalidInput("invalid or expired cursor; start again from the first page", "cursor")
    return key, row_id


def after(column, id_column, key, row_id, descending):
    """Rows after (key, id) when ordered by column (desc: id asc; asc: id desc).

    Written as `key <= v AND (...)` rather than a row value so the first term
    is a range on the sort index on every engine.
    """
    if descending:
        return (column <= key) & ((column < key) | (id_column > row_id))
    return (column >= key) & ((column > key) | (id_column < row_id))


def take(rows, limit, cursor_of):
    """A Page from `limit + 1` fetched rows: the extra row only says there is more."""
    rows = list(rows)
    if len(rows) <= limit:
        return Page(rows, None)
    rows = rows[:limit]
    return Page(rows, cursor_of(rows[-1]))
