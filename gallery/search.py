"""Full-text search over prompts: the only module that knows how the engine does it."""

import re
import unicodedata

from playhouse.sqlite_ext import FTS5Model, RowIDField, SearchField

from .db import db, ready
from .errors import InvalidInput
from .models import DEFAULT_LIMIT, Prompt, check_limit
from .paging import Page, take

MAX_TERMS = 16
MAX_TERM_LENGTH = 64
MAX_OFFSET = 10_000
# Word characters as the FTS5 unicode61 tokenizer sees them (it splits on "_").
_WORD = re.compile(r"[^\W_]+")


class PromptIndex(FTS5Model):
    """The external-content FTS5 table over prompts.prompt_text (see migrations)."""

    rowid = RowIDField()
    prompt_text = SearchField()

    class Meta:
        database = db
        table_name = "prompts_fts"


def query_terms(query):
    """The words of what a person typed, as the index tokenizes them (for highlights too)."""
    if not isinstance(query, str):
        return []
    words = _WORD.findall(unicodedata.normalize("NFKC", query).casefold())
    return [w[:MAX_TERM_LENGTH] for w in words[:MAX_TERMS]]


def match_expression(terms):
    """An FTS5 query that cannot be malformed: every term quoted, the last a prefix.

    Operators people type (quotes, *, NEAR, -, parentheses) are not syntax here:
    the words are what a gallery search means, and nothing can raise.
    """
    phrases = [f'"{term}"' for term in terms]
    phrases[-1] += "*"  # people search while they type the last word
    return " AND ".join(phrases)


def search_prompts(query, model=None, sort="relevance", limit=DEFAULT_LIMIT, cursor=None):
    """A Page of prompts matching `query`, best match first unless `sort` says otherwise."""
    ready()
    limit = check_limit(limit)
    terms = query_terms(query)
    if not terms:
        return Page([], None)
    matches = PromptIndex.select(PromptIndex.rowid).where(
        PromptIndex.match(match_expression(terms))
    )
    if sort != "relevance":
        return Prompt.page(sort, model, cursor, limit, where=Prompt.id.in_(matches))
    return ranked(match_expression(terms), model, limit, cursor)


def ranked(expression, model, limit, cursor):
    """Matches ordered by bm25; pages by offset since a rank has no stable keyset."""
    offset = decode_offset(cursor)
    query = (
        Prompt.cards()
        .join(PromptIndex, on=(PromptIndex.rowid == Prompt.id))
        .where(PromptIndex.match(expression))
        .order_by(PromptIndex.rank(), Prompt.id)
    )
    query = Prompt.with_model(query, model).limit(limit + 1).offset(offset)
    return take(query, limit, lambda row: str(offset + limit))


def decode_offset(cursor):
    """The offset a relevance cursor stands for, or InvalidInput."""
    if not cursor:
        return 0
    if not (isinstance(cursor, str) and cursor.isascii() and cursor.isdigit()):
        raise InvalidInput("invalid cursor; start again from the first page", "cursor")
    offset = int(cursor)
    if offset > MAX_OFFSET:
        raise InvalidInput(f"search results stop after {MAX_OFFSET}; refine the search", "cursor")
    return offset
