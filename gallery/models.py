"""Every table as a Peewee model, with its named queries as classmethods."""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from peewee import (
    EXCLUDED,
    AutoField,
    BigIntegerField,
    BlobField,
    DateTimeField,
    Field,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
    fn,
)
from playhouse.sqlite_ext import FTS5Model, RowIDField, SearchField

from . import engines
from .db import migrated_database, proxy
from .errors import InvalidInput, NotFound
from .paging import decode_cursor, encode_cursor, page_from_rows, rows_after

DEFAULT_LIMIT = 24
MAX_LIMIT = 100


class UTCDateTimeField(DateTimeField):
    """Aware datetimes in Python, UTC in the database (naive text on SQLite)."""

    def db_value(self, value):
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return super().db_value(value)

    def python_value(self, value):
        value = super().python_value(value)
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utcnow():
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class Sort(NamedTuple):
    """One order of prompts, a row of Prompt.SORTS."""

    key: str  # in URLs and the API
    column: str | None  # the Prompt field; None: the search engine's score
    descending: bool | None  # None: as the engine ranks, the best match first
    label: str  # in the gallery's sort menu
    meaning: str  # in the API document
    listings: tuple  # which listings offer it: "list" (all prompts) and "search"


class StoredThumbnail(NamedTuple):
    """A thumbnail as the thumbnail routes serve it."""

    data: bytes
    mime: str
    version: str


class GalleryModel(Model):
    """Every table's model is bound to the proxy, which the app or a script points at
    its database (Peewee's base-model idiom: Meta is inherited)."""

    class Meta:
        database = proxy


class PromptColumns(GalleryModel):
    """A prompt's columns, the design document's: the prompts table's and the trash's."""

    id = AutoField()
    prompt_text = TextField()
    prompt_hash = TextField(unique=True)
    total_uses = IntegerField(default=1)
    first_used_at = UTCDateTimeField(default=utcnow)
    last_used_at = UTCDateTimeField(default=utcnow)
    model = TextField(null=True)
    thumbnail_data = BlobField(null=True)
    thumbnail_mime = TextField(null=True)
    thumbnail_width = IntegerField(null=True)
    thumbnail_height = IntegerField(null=True)


class Prompt(PromptColumns):
    class Meta:
        table_name = "prompts"

    # The one table of user-facing sort keys, read by the views, the API, its document
    # and the page's script. A listing offers its keys in this order, its default first;
    # the id ascending breaks ties. "oldest" is by first use, which a new use never
    # changes (only a use recorded with an earlier time), so its pages hold while prompts
    # are used.
    SORTS = {
        sort.key: sort
        for sort in [
            Sort("relevance", None, None, "Best match", "the best match first", ("search",)),
            Sort(
                "recent",
                "last_used_at",
                True,
                "Most recent",
                "the last use, newest first",
                ("list", "search"),
            ),
            Sort(
                "popular",
                "total_uses",
                True,
                "Most used",
                "the most uses first",
                ("list", "search"),
            ),
            Sort(
                "oldest",
                "first_used_at",
                False,
                "Earliest first use",
                "the first use, earliest first",
                ("list", "search"),
            ),
        ]
    }

    @property
    def has_thumbnail(self):
        return self.thumbnail_mime is not None

    @property
    def thumbnail_version(self):
        """The SHA-256 of the thumbnail's bytes: for URLs cached as immutable, and ETags."""
        return getattr(self, "thumbnail_digest", None)

    @classmethod
    def optional_columns(cls):
        """The columns a use may leave empty, its model and thumbnail: where two copies of
        a prompt are merged, what one lacks is filled from the other."""
        return [field for field in cls._meta.sorted_fields if field.null]

    @classmethod
    def merged_with_excluded(cls, database):
        """The ON CONFLICT update that merges an incoming copy of a prompt into the stored
        one: uses summed, first and last use widened, the stored model and thumbnail kept
        where it has them (an undo and copy-db --merge both merge this way)."""
        return {
            cls.total_uses: cls.total_uses + EXCLUDED.total_uses,
            cls.first_used_at: engines.least(database, cls.first_used_at, EXCLUDED.first_used_at),
            cls.last_used_at: engines.greatest(database, cls.last_used_at, EXCLUDED.last_used_at),
            **{
                column: fn.COALESCE(column, getattr(EXCLUDED, column.name))
                for column in cls.optional_columns()
            },
        }

    @classmethod
    def card_columns(cls):
        """Every column but the thumbnail BLOB, plus its size and digest: what cards show."""
        columns = [f for f in cls._meta.sorted_fields if f is not cls.thumbnail_data]
        digest = ThumbnailDigest.select(ThumbnailDigest.digest).where(ThumbnailDigest.id == cls.id)
        return [
            *columns,
            # length() of a BLOB is read from the record header, not the BLOB itself.
            fn.LENGTH(cls.thumbnail_data).alias("thumbnail_bytes"),
            digest.alias("thumbnail_digest"),
        ]

    @classmethod
    def cards(cls):
        """A select of card columns, never the BLOB."""
        return cls.select(*cls.card_columns())

    @classmethod
    def with_model(cls, query, model):
        """Restrict a query to one model ("" means prompts with no model)."""
        if model is None:
            return query
        if model == "":
            return query.where(cls.model.is_null())
        return query.where(cls.model == model)

    @classmethod
    def ordered(cls, query, sort):
        """Order by a user sort key, with the id as the tie-break the indexes hold."""
        column, descending = cls.sort_spec(sort)
        return query.order_by(column.desc() if descending else column.asc(), cls.id.asc())

    @classmethod
    def sort_spec(cls, sort):
        """(column, descending) for a user sort key, or InvalidInput."""
        order = cls.sort_of(sort, "list")
        return getattr(cls, order.column), order.descending

    @classmethod
    def sorts(cls, listing):
        """The Sorts a listing ("list" or "search") offers, its default first."""
        return [sort for sort in cls.SORTS.values() if listing in sort.listings]

    @classmethod
    def sort_of(cls, key, listing):
        """The Sort a listing offers as `key` (None: its default), or InvalidInput naming
        the ones it offers."""
        offered = cls.sorts(listing)
        if key is None:
            return offered[0]
        for sort in offered:
            if sort.key == key:
                return sort
        choices = ", ".join(sort.key for sort in offered)
        raise InvalidInput(f"unknown sort {key!r}; choose one of: {choices}", "sort")

    @classmethod
    def page(cls, sort=None, model=None, cursor=None, limit=DEFAULT_LIMIT, where=None):
        """One page of cards by keyset: as fast at page 2,000 as at page 1."""
        migrated_database()  # a script or the CLI reads through here too, outside a request
        limit = check_limit(limit)
        sort = cls.sort_of(sort, "list").key  # None: the default
        column, descending = cls.sort_spec(sort)
        query = cls.ordered(cls.with_model(cls.cards(), model), sort)
        if where is not None:
            query = query.where(where)
        if cursor:
            key_type = datetime if isinstance(column, DateTimeField) else int
            key, row_id, _ = decode_cursor(cursor, sort, key_type)
            query = query.where(rows_after(column, cls.id, key, row_id, descending))

        def cursor_of(row):
            return encode_cursor(sort, getattr(row, column.name), row.id)

        return page_from_rows(query.limit(limit + 1), limit, cursor_of)

    @classmethod
    def top(cls, sort, limit=10, model=None):
        """The first prompts of a sort order: the most used ("popular"), the most recent."""
        return cls.page(sort, model, limit=limit).items

    @classmethod
    def card(cls, prompt_id):
        """The prompt with this id, with the card's columns (no BLOB), or NotFound."""
        migrated_database()
        prompt = cls.cards().where(cls.id == check_id(prompt_id)).first()
        if prompt is None:
            raise NotFound(f"no prompt with id {prompt_id}", "id")
        return prompt

    @classmethod
    def thumbnail(cls, prompt_id):
        """A prompt's thumbnail (data, mime, version) in one indexed read, or NotFound."""
        database = migrated_database()
        # Plain SQL: this is the hottest route, and building the query cost more than running it.
        row = database.execute_sql(
            "SELECT p.thumbnail_data, p.thumbnail_mime, d.digest FROM prompts AS p "
            "LEFT JOIN thumbnail_digests AS d ON d.id = p.id "
            f"WHERE p.id = {database.param} AND p.thumbnail_data IS NOT NULL",
            (check_id(prompt_id),),
        ).fetchone()
        if row is None:
            raise NotFound(f"prompt {prompt_id} has no thumbnail", "id")
        data, mime, digest = row
        data = bytes(data)
        # Every write path records the digest; a row written by some other tool gets one here.
        return StoredThumbnail(data, mime, digest or hashlib.sha256(data).hexdigest())

    @classmethod
    def models(cls):
        """[(model, prompts, uses)] for every model, the most prompts first."""
        return [(row.model, row.prompts, row.uses) for row in ModelTotals.in_use()]


class ModelTotals(GalleryModel):
    """Per-model counts that triggers keep in step with prompts (see migration 8)."""

    model_key = TextField(primary_key=True)  # "" for prompts recorded without a model
    prompts = IntegerField()
    uses = IntegerField()
    with_thumbnail = IntegerField()
    thumbnail_bytes = IntegerField()

    class Meta:
        table_name = "model_totals"

    @property
    def model(self):
        return self.model_key or None

    @classmethod
    def prompts_of(cls, model):
        """How many prompts `model` has ("" or None: prompts without one)."""
        row = cls.get_or_none(cls.model_key == (model or ""))
        return row.prompts if row else 0

    @classmethod
    def in_use(cls):
        """Models that still have prompts, the most prompts first."""
        return list(cls.select().where(cls.prompts > 0).order_by(cls.prompts.desc(), cls.model_key))


class ThumbnailDigest(GalleryModel):
    """The SHA-256 of each prompt's thumbnail, written with it (see THUMBNAIL_DIGESTS)."""

    id = BigIntegerField(primary_key=True)  # the prompt's id
    digest = TextField()

    class Meta:
        table_name = "thumbnail_digests"

    @classmethod
    def remember(cls, prompt_id, data):
        """Record the digest of a prompt's new thumbnail bytes; return it."""
        digest = hashlib.sha256(data).hexdigest()
        cls.insert(id=prompt_id, digest=digest).on_conflict(
            conflict_target=[cls.id], update={cls.digest: digest}
        ).execute()
        return digest


def check_id(prompt_id):
    """A positive int id, or InvalidInput."""
    try:
        value = int(prompt_id)
    except (TypeError, ValueError):
        raise InvalidInput(f"id must be a whole number, not {prompt_id!r}", "id") from None
    if isinstance(prompt_id, bool) or not 1 <= value <= 2**63 - 1:
        raise InvalidInput(f"id must be a positive whole number, not {prompt_id!r}", "id")
    return value


def check_limit(limit, maximum=MAX_LIMIT):
    """A page size as an int in 1..maximum, or InvalidInput."""
    try:
        value = int(limit)
    except (TypeError, ValueError):
        raise InvalidInput(f"limit must be a whole number, not {limit!r}", "limit") from None
    if not 1 <= value <= maximum:
        raise InvalidInput(f"limit must be between 1 and {maximum}, not {value}", "limit")
    return value


class ImportedFile(GalleryModel):
    """A file the importer read, by content hash; its raw metadata kept for re-reading."""

    IMPORTED = "imported"
    NO_PROMPT = "no_prompt"

    id = AutoField()
    sha256 = TextField(unique=True)
    path = TextField()
    status = TextField()
    prompt = ForeignKeyField(Prompt, null=True, on_delete="SET NULL", column_name="prompt_id")
    generator = TextField(null=True)
    raw_metadata = TextField(null=True)
    imported_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "imported_files"

    @classmethod
    def imported_among(cls, hashes):
        """The hashes, of those given, whose files were imported before."""
        query = cls.select(cls.sha256).where(
            cls.sha256.in_(list(hashes)), cls.status == cls.IMPORTED
        )
        return {row.sha256 for row in query}


class ApiToken(GalleryModel):
    """An API token, kept as its SHA-256 only (tokens.py makes, checks and revokes them)."""

    SCOPES = ("read", "record", "admin")
    DEFAULT_SCOPES = ("record",)

    id = AutoField()
    name = TextField()
    token_hash = TextField(unique=True)
    created_at = UTCDateTimeField(default=utcnow)
    last_used_at = UTCDateTimeField(null=True)
    revoked_at = UTCDateTimeField(null=True)
    scopes = TextField(default=" ".join(DEFAULT_SCOPES))

    class Meta:
        table_name = "api_tokens"

    def allows(self, scope):
        """True when this token may do what `scope` covers (admin covers everything)."""
        granted = self.scopes.split()
        return scope in granted or "admin" in granted


class SignInFailure(GalleryModel):
    """A failed admin sign-in from an address (throttle.py counts them)."""

    id = AutoField()
    address = TextField()
    failed_at = UTCDateTimeField()

    class Meta:
        table_name = "sign_in_failures"


class AuthState(GalleryModel):
    """One row: the generation an admin session must carry to count. Signing out and a
    new admin password move it on, so every session cookie issued before stops working,
    copies included (a signed cookie alone cannot be taken back)."""

    id = IntegerField(primary_key=True)
    session_generation = BigIntegerField()

    class Meta:
        table_name = "auth_state"


class PromptIndex(FTS5Model):
    """SQLite: the external-content FTS5 table over prompts.prompt_text (see migrations)."""

    rowid = RowIDField()
    prompt_text = SearchField()

    class Meta:
        database = proxy
        table_name = "prompts_fts"


class PromptDocument(GalleryModel):
    """PostgreSQL's stored search document of each prompt (see migrations)."""

    id = BigIntegerField(primary_key=True)
    document = Field()  # tsvector

    class Meta:
        table_name = "prompt_search"


class DeletedPrompt(PromptColumns):
    """A deleted prompt waiting out the undo window, with its thumbnail's digest, when it
    went and the cleanup it went with (trash.py moves prompts in and out)."""

    id = BigIntegerField(primary_key=True)  # the prompt's own id, which a restore keeps
    prompt_hash = TextField()  # not unique: a prompt recorded again can be deleted again
    thumbnail_digest = TextField(null=True)
    deleted_at = UTCDateTimeField()
    batch = TextField(null=True)

    class Meta:
        table_name = "deleted_prompts"


@dataclass
class Stats:
    """What the store holds; the design document's total_prompts and total_uses first."""

    total_prompts: int
    total_uses: int
    with_thumbnail: int
    without_thumbnail: int
    thumbnail_bytes: int
    database_bytes: int
    first_activity: datetime | None
    last_activity: datetime | None
    models: list  # [(model or None, prompts, uses)], the most prompts first

    @classmethod
    def current(cls):
        """Totals, thumbnail coverage and size, per-model counts and activity span."""
        database = migrated_database()
        models = ModelTotals.in_use()  # kept by triggers: no scan of the prompts
        prompts = sum(m.prompts for m in models)
        with_thumbnail = sum(m.with_thumbnail for m in models)
        # Each of these walks one end of an index.
        first = Prompt.select(fn.MIN(Prompt.first_used_at)).scalar()
        last = Prompt.select(fn.MAX(Prompt.last_used_at)).scalar()
        return cls(
            total_prompts=prompts,
            total_uses=sum(m.uses for m in models),
            with_thumbnail=with_thumbnail,
            without_thumbnail=prompts - with_thumbnail,
            thumbnail_bytes=sum(m.thumbnail_bytes for m in models),
            database_bytes=engines.database_size(database),
            first_activity=Prompt.first_used_at.python_value(first),
            last_activity=Prompt.last_used_at.python_value(last),
            models=[(m.model, m.prompts, m.uses) for m in models],
        )
