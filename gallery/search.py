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


def search_prompts(query, model=None, sort="relevance", limit=DEFAULT_LIMIT, cursor=None):
    """A Page of prompts matching `query`, best match first unless `sort` says otherwise."""
    engine = SqliteSearch if is_sqlite(ready()) else PostgresSearch
    if sort != "relevance" and sort not in Prompt.SORTS:
        choices = ", ".join(["relevance", *Prompt.SORTS])
        raise InvalidInput(f"unknown sort {sort!r}; choose one of: {choices}", "sort")
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
    """FTS5: the external-content index, ranked by bm25, with a plan chosen per query.

    How many prompts match decides the plan (document frequencies come from an
    fts5vocab table). A word in most prompts is cheapest found by walking the sort
    index and checking each row against the index until a page is full; a rarer one
    by collecting its matches and sorting those. bm25 ranks at most RANK_AT_MOST
    candidates - the newest matches - so a word in 80% of a million prompts ranks
    2,000 rows, not 800,000.
    """

    WALK_ABOVE = 0.05  # share of prompts matching above which walking the index wins
    RANK_AT_MOST = 2_000
    MAX_EXPANSION = 8  # a prefix that stands for at most this many words is spelled out

    @classmethod
    def matches(cls, terms):
        """A condition on Prompt: the row matches every term."""
        expression, share = cls.plan(terms)
        if share > cls.WALK_ABOVE:
            row_matches = PromptIndex.select(SQL("1")).where(
                PromptIndex.rowid == Prompt.id, PromptIndex.match(expression)
            )
            return fn.EXISTS(row_matches)
        index = PromptIndex.select(PromptIndex.rowid).where(PromptIndex.match(expression))
        return Prompt.id.in_(index)

    @classmethod
    def ranked(cls, terms):
        """Card rows that match, best first (among the newest RANK_AT_MOST matches)."""
        expression, _ = cls.plan(terms)
        candidates = (
            PromptIndex.select(PromptIndex.rowid, PromptIndex.rank().alias("score"))
            .where(PromptIndex.match(expression))
            .order_by(PromptIndex.rowid.desc())
            .limit(cls.RANK_AT_MOST)
            .alias("candidates")
        )
        return (
            Prompt.cards()
            .join(candidates, on=(candidates.c.rowid == Prompt.id))
            .order_by(candidates.c.score, Prompt.id)
        )

    @classmethod
    def plan(cls, terms):
        """(FTS5 expression, estimated share of prompts matching it).

        The last word is a prefix. When it stands for a few indexed words they are
        spelled out ("detailed" OR "detailer"): FTS5 merges a prefix's doclists anew
        on every lookup, which made checking rows one by one 1,000 times slower.
        """
        version = index_version()  # read once: it also holds the number of prompts
        total = max(version[1] or 0, 1)
        phrases, share = [], 1.0
        for term in terms[:-1]:
            phrases.append(quote(term))
            share *= min(1.0, document_frequency(term, False, version) / total)
        last = folded(terms[-1])
        words = vocabulary(last, after_prefix(last), cls.MAX_EXPANSION + 1, version)
        if 0 < len(words) <= cls.MAX_EXPANSION:
            phrases.append("(" + " OR ".join(quote(word) for word, _ in words) + ")")
            frequency = sum(doc for _, doc in words)
        else:
            phrases.append(quote(terms[-1]) + "*")
            frequency = document_frequency(last, True, version)
        share *= min(1.0, frequency / total)
        return " AND ".join(phrases), share


def quote(word):
    """A word as an FTS5 string: never syntax, whatever it holds."""
    return '"' + word.replace('"', '""') + '"'


def folded(term):
    """A term as the index stores it (unicode61 with remove_diacritics drops accents)."""
    return "".join(c for c in unicodedata.normalize("NFD", term) if not unicodedata.combining(c))


# fts5vocab counts a word's documents by reading its whole doclist (20 ms for a word
# in 800,000 prompts), so answers are kept while the index holds the same prompts:
# the newest id and the number of prompts tell when that changes.
_vocabulary = {}
VOCABULARY_ENTRIES = 2048


def index_version():
    """(newest prompt id, number of prompts): changes whenever the index's words may have."""
    return (
        ready()
        .execute_sql(
            "SELECT (SELECT MAX(id) FROM prompts), (SELECT SUM(prompts) FROM model_totals)"
        )
        .fetchone()
    )


def vocabulary(lower, upper, limit, version=None):
    """[(word, documents)] of indexed words in [lower, upper), at most `limit` of them."""
    database = ready()
    version = version or index_version()
    key = (id(database), lower, upper, limit)
    cached = _vocabulary.get(key)
    if cached and cached[0] == version:
        return cached[1]
    sql = "SELECT term, doc FROM prompts_fts_vocab WHERE term >= ? AND term < ? ORDER BY term"
    if limit:
        sql += f" LIMIT {int(limit)}"
    words = database.execute_sql(sql, (lower, upper)).fetchall()
    if len(_vocabulary) >= VOCABULARY_ENTRIES:
        _vocabulary.clear()  # bounded; a cleared entry costs one recount
    _vocabulary[key] = (version, words)
    return words


def after_prefix(prefix):
    """The smallest string greater than every word that starts with `prefix`."""
    if not prefix:
        return "\U0010ffff"
    return prefix[:-1] + chr(min(ord(prefix[-1]) + 1, 0x10FFFF))


def document_frequency(term, prefix, version=None):
    """Prompts whose index holds `term` (or, for a prefix, a word starting with it)."""
    term = folded(term)
    upper = after_prefix(term) if prefix else term + "\0"
    return sum(doc for _, doc in vocabulary(term, upper, None, version))


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
