"""Full-text search over prompts: the only module that knows how the engine does it."""

import functools
import sqlite3
import threading
from typing import NamedTuple

from peewee import SQL, Expression, Select, Value, fn

from .db import migrated_database
from .engines import is_sqlite
from .models import DEFAULT_LIMIT, ModelTotals, Prompt, PromptDocument, PromptIndex, check_limit
from .paging import Page, decode_cursor, encode_cursor, page_from_rows, rows_after
from .words import FTS5_TOKENIZER, words

MAX_TERMS = 16
MAX_TERM_LENGTH = 64


def query_terms(query):
    """The words of what a person typed, lowercased (for highlights too); each engine
    then spells them as its index does (SqliteSearch.terms, PostgresSearch.query)."""
    if not isinstance(query, str):
        return []
    return [w[:MAX_TERM_LENGTH] for w in words(query)[:MAX_TERMS]]


def search_prompts(query, model=None, sort=None, limit=DEFAULT_LIMIT, cursor=None):
    """A Page of prompts matching `query`, best match first unless `sort` says otherwise."""
    engine = SqliteSearch if is_sqlite(migrated_database()) else PostgresSearch
    sort = Prompt.sort_of(sort, "search")
    limit = check_limit(limit)
    terms = engine.terms(query)
    if not terms:
        return Page([], None)
    if sort.column is not None:
        return Prompt.page(sort.key, model, cursor, limit, where=engine.matches(terms))
    # Best match pages by (score, id), among the prompts that existed when the first
    # page was made (the snapshot, the newest id then): newer matches would move the
    # window of candidates under the visitor, so the next pages never show them.
    resume = decode_cursor(cursor, sort.key, float, snapshot=True) if cursor else None
    snapshot = resume.snapshot if resume else newest_prompt_id()
    query = engine.ranked(terms, model, limit + 1, resume, snapshot)

    def cursor_of(row):
        return encode_cursor(sort.key, row.score, row.id, snapshot)

    return page_from_rows(query, limit, cursor_of)


def newest_prompt_id():
    """The id of the newest prompt, 0 when there are none (ids only grow)."""
    return Prompt.select(fn.MAX(Prompt.id)).scalar() or 0


class SqliteSearch:
    """FTS5: the external-content index, ranked by bm25, with a plan chosen per query.

    How many prompts match decides the plan (document frequencies come from an
    fts5vocab table). A word in most prompts is cheapest found by walking the sort
    index and checking each row against the index until a page is full; a rarer one
    by collecting its matches and sorting those. bm25 ranks at most RANK_AT_MOST
    candidates - the newest matches - so a word in most of a million prompts ranks
    RANK_AT_MOST rows, not hundreds of thousands.
    """

    WALK_ABOVE = 0.05  # share of prompts matching above which walking the index wins
    RANK_AT_MOST = 2_000
    MAX_EXPANSION = 8  # a prefix that stands for at most this many words is spelled out

    @staticmethod
    def terms(query):
        """The query's words as the index spells them (its own tokenizer's output)."""
        return [word for term in query_terms(query) for word in index_words(term)][:MAX_TERMS]

    @classmethod
    def matches(cls, terms):
        """A condition on Prompt: the row matches every term."""
        expression, share, _ = cls.plan(terms)
        if share > cls.WALK_ABOVE:
            row_matches = PromptIndex.select(SQL("1")).where(
                PromptIndex.rowid == Prompt.id, PromptIndex.match(expression)
            )
            return fn.EXISTS(row_matches)
        index = PromptIndex.select(PromptIndex.rowid).where(PromptIndex.match(expression))
        return Prompt.id.in_(index)

    @classmethod
    def ranked(cls, terms, model=None, limit=DEFAULT_LIMIT, resume=None, snapshot=None):
        """Card rows that match, best first (among the newest RANK_AT_MOST matches up to
        the snapshot id), after the Cursor `resume` if given."""
        plan = cls.plan(terms)
        score = PromptIndex.rank().alias("score")
        index = PromptIndex.select(PromptIndex.rowid.alias("id"), score).where(
            PromptIndex.match(plan.expression)
        )
        if snapshot is not None:
            index = index.where(PromptIndex.rowid <= snapshot)
        if model is not None:
            # The bound applies to this model's matches, or a busy model's newest
            # matches would crowd out every match of a rarer one.
            index = index.where(cls.of_model(model, plan))
        candidates = index.order_by(PromptIndex.rowid.desc()).limit(cls.RANK_AT_MOST)
        # bm25 is lower for a better match.
        return best_cards(candidates, False, limit, resume)

    @classmethod
    def of_model(cls, model, plan):
        """A condition on PromptIndex: the match's prompt has `model`, checked cheaply.

        The index is read once, newest first (bm25 counts a word's documents per
        scan: driving it from a list of ids would count them once per id). Finding
        RANK_AT_MOST matches of a model means checking about RANK_AT_MOST / (its share)
        matches; each check is a lookup of the prompt, unless the model is small
        enough that listing its ids once costs less (for a small model and a common
        word, by several times: bench/RESULTS.md, "Figures behind the code").
        """
        of_model = ModelTotals.prompts_of(model)
        total = plan.prompts
        checked = min(plan.share * total, cls.RANK_AT_MOST * total / max(of_model, 1))
        if of_model < checked:
            ids = Prompt.with_model(Prompt.select(Prompt.id), model)
            # "+ 0" keeps the list a filter on the scan instead of a list of lookups.
            return (PromptIndex.rowid + 0).in_(ids)
        return has_model(PromptIndex.rowid, model)

    @classmethod
    def plan(cls, terms):
        """A Plan: the FTS5 expression, the estimated share of prompts matching it,
        and the number of prompts.

        The last word is a prefix. When it stands for a few indexed words they are
        spelled out ("detailed" OR "detailer"): FTS5 merges a prefix's doclists anew
        on every lookup, which made checking rows one by one orders of magnitude slower.
        """
        version = index_version()  # read once: it also holds the number of prompts
        total = max(version[1] or 0, 1)
        phrases, share = [], 1.0
        for term in terms[:-1]:
            phrases.append(quote(term))
            share *= min(1.0, document_frequency(term, False, version) / total)
        last = terms[-1]
        words = vocabulary(last, after_prefix(last), cls.MAX_EXPANSION + 1, version)
        if 0 < len(words) <= cls.MAX_EXPANSION:
            phrases.append("(" + " OR ".join(quote(word) for word, _ in words) + ")")
            frequency = sum(doc for _, doc in words)
        else:
            phrases.append(quote(terms[-1]) + "*")
            frequency = document_frequency(last, True, version)
        share *= min(1.0, frequency / total)
        return Plan(" AND ".join(phrases), share, total)


class Plan(NamedTuple):
    """How SqliteSearch runs one query (see SqliteSearch.plan)."""

    expression: str
    share: float  # estimated share of prompts matching
    prompts: int


def has_model(prompt_id, model):
    """A condition: the prompt whose id is `prompt_id` (a column) has `model`."""
    row = Prompt.select(SQL("1")).where(Prompt.id == prompt_id)
    return fn.EXISTS(Prompt.with_model(row, model))


def quote(word):
    """A word as an FTS5 string: never syntax, whatever it holds."""
    return '"' + word.replace('"', '""') + '"'


# Python's own case and accent folding differ from prompts_fts's tokenizer in places
# (tests/test_words.py lists them), so query words are put through the same tokenizer,
# in a table in memory, to look them up in the index.
_tokenizer = threading.local()


@functools.lru_cache(maxsize=4096)
def index_words(text):
    """The words of `text` as prompts_fts stores them, in order."""
    connection = getattr(_tokenizer, "connection", None)
    if connection is None:
        connection = _tokenizer.connection = sqlite3.connect(":memory:", isolation_level=None)
        connection.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, tokenize='{FTS5_TOKENIZER}')")
        connection.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    connection.execute("BEGIN")
    try:
        connection.execute("INSERT INTO t (rowid, x) VALUES (1, ?)", (text,))
        return tuple(row[0] for row in connection.execute("SELECT term FROM v ORDER BY offset"))
    finally:
        connection.execute("ROLLBACK")


# fts5vocab counts a word's documents by reading its whole doclist (slow for a common
# word in a large store), so answers are kept while the index stays the same. FTS5 counts
# its writes in its structure record (row 10 of prompts_fts_data), so that record
# changes with every insert, delete or restore, in any process.
_vocabulary = {}
VOCABULARY_ENTRIES = 2048


def index_version():
    """(the index's structure record, number of prompts): changes with every write."""
    return (
        migrated_database()
        .execute_sql(
            "SELECT (SELECT block FROM prompts_fts_data WHERE id = 10), "
            "(SELECT SUM(prompts) FROM model_totals)"
        )
        .fetchone()
    )


def vocabulary(lower, upper, limit, version=None):
    """[(word, documents)] of indexed words in [lower, upper), at most `limit` of them."""
    database = migrated_database()
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
    """Prompts whose index holds the index word `term` (or, for a prefix, a word
    starting with it)."""
    upper = after_prefix(term) if prefix else term + "\0"
    return sum(doc for _, doc in vocabulary(term, upper, None, version))


class PostgresSearch:
    """tsvector documents stored per prompt and a GIN index, ranked by ts_rank.

    The query is built with to_tsquery from quoted terms, never from user syntax:
    'red' & 'fo':* - so any string is safe and the last word matches as a prefix.
    Each term is first spelled as the documents are (gallery_search_text): quoting
    first let unaccent turn a modifier letter apostrophe (U+02BC, "donʼt") into a
    bare quote inside the quoted term, a syntax error.
    PostgreSQL's planner chooses between the GIN index and walking a sort index from
    its own statistics; ts_rank ranks at most RANK_AT_MOST candidates, the newest
    matches (of the model filtered on), as bm25 does on SQLite.
    """

    RANK_AT_MOST = 2_000

    @staticmethod
    def terms(query):
        """The query's words (PostgreSQL spells them as its documents in `query`)."""
        return query_terms(query)

    @staticmethod
    def query(terms):
        # gallery_search_text leaves no ASCII punctuation, so no quote or backslash
        # can end the quoted term; a term it leaves blank is dropped by to_tsquery.
        # Joined with || (immutable, unlike format and concat_ws), so the planner
        # computes the query once instead of once per row ranked.
        query = None
        for i, term in enumerate(terms):
            quoted = (
                Value("'")
                .concat(fn.gallery_search_text(term))
                .concat("':*" if i == len(terms) - 1 else "'")
            )
            query = quoted if query is None else query.concat(" & ").concat(quoted)
        return fn.to_tsquery(SQL("'simple'::regconfig"), query)

    @classmethod
    def matching(cls, terms):
        """A condition on PromptDocument: the document holds every term."""
        return Expression(PromptDocument.document, "@@", cls.query(terms))

    @classmethod
    def matches(cls, terms):
        """A condition on Prompt: the row matches every term."""
        documents = PromptDocument.select(PromptDocument.id).where(cls.matching(terms))
        return Prompt.id.in_(documents)

    @classmethod
    def ranked(cls, terms, model=None, limit=DEFAULT_LIMIT, resume=None, snapshot=None):
        """Card rows that match, best first (among the newest RANK_AT_MOST matches up to
        the snapshot id), after the Cursor `resume` if given."""
        rank = fn.ts_rank(PromptDocument.document, cls.query(terms)).alias("score")
        documents = PromptDocument.select(PromptDocument.id, rank).where(cls.matching(terms))
        if snapshot is not None:
            documents = documents.where(PromptDocument.id <= snapshot)
        if model is not None:
            documents = documents.where(has_model(PromptDocument.id, model))
        candidates = documents.order_by(PromptDocument.id.desc()).limit(cls.RANK_AT_MOST)
        return best_cards(candidates, True, limit, resume)


def best_cards(candidates, descending, limit, resume=None):
    """Card rows of one page of the (id, score) candidates, best first (the highest
    score when `descending`), then by id; after the Cursor `resume` if given.

    The page is cut before the prompts are joined, so only its rows are read: given
    all 2,000 candidates, PostgreSQL's planner scanned every prompt to join them.
    """
    if resume is None:
        source = candidates.alias("candidates")
        page = Select([source], [source.c.id, source.c.score])
    else:
        # Resume after the last card's score as it is now: bm25 scores move together
        # when the index changes (SQLite), so the score the cursor saw is only the
        # fallback for a last card deleted since. Both materialized, so the candidates
        # are scored once and the anchor is not looked up again for each of them.
        source = candidates.cte("candidates", materialized=True)
        now = Select([source], [source.c.score]).where(source.c.id == resume.row_id)
        anchor = Select(columns=[fn.COALESCE(now, resume.key).alias("score")])
        anchor = anchor.cte("anchor", materialized=True)
        page = Select([source, anchor], [source.c.id, source.c.score]).where(
            rows_after(source.c.score, source.c.id, anchor.c.score, resume.row_id, descending)
        )
    score, prompt_id = source.c.score, source.c.id
    page = page.order_by(score.desc() if descending else score, prompt_id).limit(limit)
    page = page.alias("page")
    best_first = page.c.score.desc() if descending else page.c.score
    query = (
        Prompt.select(*Prompt.card_columns(), page.c.score.alias("score"))
        .join(page, on=(page.c.id == Prompt.id))
        .order_by(best_first, Prompt.id)
        .objects()  # the score an attribute of each row, as the card columns are
    )
    return query if resume is None else query.with_cte(source, anchor)
