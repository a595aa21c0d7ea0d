"""Full-text search over prompts: the only module that knows how the engine does it."""

import re
import unicodedata

from peewee import SQL, Expression, fn
from playhouse.sqlite_ext import FTS5Model, RowIDField, SearchField

from .db import db, ready
from .engines import is_sqlite
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
    engine = SqliteSearch if is_sqlite(ready()) else PostgresSearch
    limit = check_limit(limit)
    terms = query_terms(query)
    if not terms:
        return Page([], None)
    if sort != "relevance":
        return Prompt.page(sort, model, cursor, limit, where=engine.matches(terms))
    offset = decode_offset(cursor)
    query = Prompt.with_model(engine.ranked(terms), model).limit(limit + 1).offset(offset)
    # A rank has no stable keyset, so relevance pages by a bounded offset.
    return take(query, limit, lambda row: str(offset + limit))


class SqliteSearch:
    """FTS5: the external-content index, ranked by bm25."""

    @staticmethod
    def matches(terms):
        """A condition on Prompt: the row matches every term."""
        index = PromptIndex.select(PromptIndex.rowid).where(
            PromptIndex.match(match_expression(terms))
        )
        return Prompt.id.in_(index)

    @staticmethod
    def ranked(terms):
        """Card rows that match, best first."""
        return (
            Prompt.cards()
            .join(PromptIndex, on=(PromptIndex.rowid == Prompt.id))
            .where(PromptIndex.match(match_expression(terms)))
            .order_by(PromptIndex.rank(), Prompt.id)
        )


class PostgresSearch:
    """tsvector over the 'simple' configuration (see migrations), ranked by ts_rank.

    The query is built with to_tsquery from quoted terms, never from user syntax:
    'red' & 'fo':* - so any string is safe and the last word matches as a prefix.
    """

    @staticmethod
    def document():
        return fn.to_tsvector(
            SQL("'simple'::regconfig"), fn.gallery_search_text(Prompt.prompt_text)
        )

    @staticmethod
    def query(terms):
        quoted = ["'" + term.replace("'", "''") + "'" for term in terms]
        quoted[-1] += ":*"
        return fn.to_tsquery(SQL("'simple'::regconfig"), fn.gallery_unaccent(" & ".join(quoted)))

    @classmethod
    def matches(cls, terms):
        """A condition on Prompt: the row matches every term."""
        return Expression(cls.document(), "@@", cls.query(terms))

    @classmethod
    def ranked(cls, terms):
        """Card rows that match, best first."""
        rank = fn.ts_rank(cls.document(), cls.query(terms))
        return Prompt.cards().where(cls.matches(terms)).order_by(rank.desc(), Prompt.id)


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
