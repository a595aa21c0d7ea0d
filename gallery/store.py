"""The write path: recording uses, deleting and undoing, cleanup; one transaction each.

Reads are the models' named queries (Prompt.page, Prompt.card, Stats.current, ...).
Every write of the API, the CLI, the importer and Python scripts comes through here. It needs no
request: outside an app it reads the settings from the environment (config.py), and
db.migrated_database() opens the database they name.
"""

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from peewee import EXCLUDED, DatabaseError, fn

from . import db, engines, trash
from .config import current_settings
from .errors import InvalidInput, NotFound
from .models import Prompt, ThumbnailDigest, check_id, utcnow
from .normalize import clean_prompt, prompt_hash
from .thumbnails import ThumbnailError, make_thumbnail
from .validation import clean_model, clean_time

log = logging.getLogger(__name__)

MAX_CLEANUP_DAYS = 36_500  # a century: anything longer is a typo, and overflows dates


@dataclass
class Recorded:
    """The outcome of record_use: the prompt as stored, and what happened to it."""

    prompt: Prompt
    created: bool
    thumbnail_updated: bool
    thumbnail_error: str | None = None

    def __getattr__(self, name):
        # Reads like the prompt it recorded: response.id, response.total_uses, ...
        # Not before `prompt` is set, nor for dunder names: copy and pickle make the
        # object without __init__ and look up __setstate__ and the like, which asked
        # self.prompt, which came back here for ever.
        if name.startswith("__") or "prompt" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.prompt, name)


def record_use(
    prompt_text, model=None, image_path=None, image_data=None, used_at=None, thumbnail=None
):
    """Count one use of a prompt (inserting it the first time); return a Recorded.

    `thumbnail` takes a Thumbnail made beforehand (the importer makes them in
    worker processes) instead of an image to make one from.
    """
    settings = current_settings()
    text = clean_prompt(prompt_text, settings["MAX_PROMPT_LENGTH"])
    model = clean_model(model)
    used_at = clean_time(used_at)
    if thumbnail is None:
        thumbnail, thumbnail_error = thumbnail_for(image_path, image_data, settings)
    elif image_path is not None or image_data is not None:
        raise InvalidInput("give a thumbnail or an image, not both", "image")
    else:
        thumbnail_error = None
    database = db.migrated_database()
    row = {
        Prompt.prompt_text: text,
        Prompt.prompt_hash: prompt_hash(text),
        Prompt.total_uses: 1,
        Prompt.first_used_at: used_at,
        Prompt.last_used_at: used_at,
        Prompt.model: model,
    }
    if not thumbnail:
        stored = retry_when_busy(lambda: upsert(database, row))
        return Recorded(stored, stored.total_uses == 1, False, thumbnail_error)
    row.update(thumbnail_columns(thumbnail))

    def write():
        # The picture and its digest (its URL version) change together or not at all.
        with database.atomic():
            stored = upsert(database, row)
            stored.thumbnail_digest = ThumbnailDigest.remember(stored.id, thumbnail.data)
        return stored

    stored = retry_when_busy(write)
    return Recorded(stored, stored.total_uses == 1, True, thumbnail_error)


def retry_when_busy(
    operation, budget=None, first_wait=0.05, clock=time.monotonic, sleep=time.sleep
):
    """Run `operation()`; if the database stays locked past its busy timeout, or
    PostgreSQL ends it as a deadlock or serialization failure, back off and retry,
    within one budget.

    Writers already queue on SQLite's busy timeout, which is the whole budget
    (DATABASE_TIMEOUT, below the worker timeout): a retry only gets what is left of it,
    so a write waits that long at most, then raises. Inside a transaction it runs
    once: retrying part of a transaction would be wrong.
    """
    database = db.proxy.obj
    budget = database.gallery_timeout if budget is None else budget
    deadline = clock() + budget
    wait = first_wait
    shortened = False
    try:
        while True:
            try:
                return operation()
            except DatabaseError as exc:
                left = deadline - clock() - wait
                transient = engines.worth_retrying(exc)
                if not transient or left <= 0 or database.in_transaction():
                    raise
            sleep(wait)
            wait *= 2
            if engines.is_sqlite(database):
                engines.set_busy_timeout(database, left)
                shortened = True
    finally:
        if shortened:  # the pooled connection keeps its full busy timeout for the next caller
            engines.set_busy_timeout(database, database.gallery_timeout)


def upsert(database, row):
    """Insert, or count one more use: a single atomic statement, no read-then-write."""
    keep_or_replace = {
        column: fn.COALESCE(getattr(EXCLUDED, column.name), column)
        for column in Prompt.optional_columns()
    }
    query = (
        Prompt.insert(row)
        .on_conflict(
            conflict_target=[Prompt.prompt_hash],
            update={
                Prompt.total_uses: Prompt.total_uses + 1,
                # Imports may bring older uses: the first use stays the earliest.
                Prompt.first_used_at: engines.least(
                    database, Prompt.first_used_at, EXCLUDED.first_used_at
                ),
                Prompt.last_used_at: engines.greatest(
                    database, Prompt.last_used_at, EXCLUDED.last_used_at
                ),
                **keep_or_replace,
            },
        )
        .returning(*Prompt.card_columns())
    )
    return next(iter(query.execute()))


def thumbnail_columns(thumbnail):
    """Column values for a Thumbnail."""
    return {
        Prompt.thumbnail_data: thumbnail.data,
        Prompt.thumbnail_mime: thumbnail.mime,
        Prompt.thumbnail_width: thumbnail.width,
        Prompt.thumbnail_height: thumbnail.height,
    }


def thumbnail_for(image_path, image_data, settings):
    """(Thumbnail or None, reason it failed or None); a bad image never stops a use."""
    if image_path is not None and image_data is not None:
        raise InvalidInput("give image_path or image_data, not both", "image")
    image = image_data if image_data is not None else image_path
    if image is None:
        return None, None
    try:
        thumbnail = make_thumbnail(image, **thumbnail_options(settings))
    except ThumbnailError as exc:
        log.warning("use recorded without a new thumbnail: %s", exc)
        return None, str(exc)
    return thumbnail, None


def thumbnail_options(settings):
    """make_thumbnail's keyword arguments from the settings."""
    return {
        "max_side": settings["THUMBNAIL_MAX_SIDE"],
        "quality": settings["THUMBNAIL_QUALITY"],
        "max_pixels": settings["MAX_IMAGE_PIXELS"],
    }


def delete_prompt(prompt_id):
    """Delete a prompt and its thumbnail (restorable for UNDO_MINUTES), or NotFound."""
    if not trash.delete(db.migrated_database(), check_id(prompt_id)):
        raise NotFound(f"no prompt with id {prompt_id}", "id")


def restore_prompt(prompt_id):
    """Undo a recent delete; returns the prompt as it now stands, or NotFound."""
    return trash.restore(db.migrated_database(), check_id(prompt_id))


def recently_deleted():
    """[trash.Deleted] of deletes and cleanups that can still be undone, newest first."""
    return trash.recent(db.migrated_database())


@dataclass
class CleanupReport:
    """What cleanup removed, or would remove on a dry run.

    A dry run's cutoff and highest_id, given back to cleanup(), make it remove exactly
    the prompts the dry run counted, whatever was recorded or has aged since.
    """

    count: int
    dry_run: bool
    examples: list = field(default_factory=list)  # [(id, prompt_text)], at most 20
    cutoff: datetime | None = None  # "unused" means last used before this
    highest_id: int | None = None  # the highest id the cleanup covers
    batch: str | None = None  # a real cleanup: restore_cleanup(batch) undoes it
    restorable_until: datetime | None = None


def cleanup(
    without_thumbnail=False, unused_for_days=None, dry_run=False, cutoff=None, highest_id=None
):
    """Remove prompts without a thumbnail and/or unused for N days, restorably, at once."""
    cutoff = cleanup_cutoff(unused_for_days, cutoff)
    condition = cleanup_condition(without_thumbnail, cutoff)
    if highest_id is not None:
        condition &= Prompt.id <= clean_highest_id(highest_id)
    database = db.migrated_database()
    if dry_run:
        highest = Prompt.select(fn.MAX(Prompt.id)).where(condition).scalar()
        # Counted up to that id, so the count is what a confirmation with it removes.
        selected = Prompt.select(Prompt.id, Prompt.prompt_text).where(
            condition, Prompt.id <= (highest or 0)
        )
        examples = list(selected.order_by(Prompt.id).limit(20).tuples())
        return CleanupReport(selected.count(), True, examples, cutoff, highest)
    batch = uuid.uuid4().hex
    with database.atomic():
        removed = trash.move(database, condition, batch)
        examples = trash.batch_examples(database, batch)
    until = utcnow() + trash.window()
    return CleanupReport(removed, False, examples, cutoff, highest_id, batch, until)


def restore_cleanup(batch):
    """Undo a recent cleanup as a whole; returns how many prompts came back, or NotFound."""
    if not (isinstance(batch, str) and len(batch) == 32 and batch.isascii() and batch.isalnum()):
        raise NotFound(f"no cleanup {batch!r} to undo", "batch")
    return trash.restore_batch(db.migrated_database(), batch)


def cleanup_cutoff(unused_for_days, cutoff=None):
    """The time before which a prompt counts as unused: now - N days, or a dry run's."""
    if unused_for_days is None:
        if cutoff is not None:
            raise InvalidInput("a cutoff goes with unused_for_days", "cutoff")
        return None
    try:
        days = int(unused_for_days)
    except (TypeError, ValueError):
        raise InvalidInput("unused_for_days must be a whole number", "unused_for_days") from None
    if not 1 <= days <= MAX_CLEANUP_DAYS:
        raise InvalidInput(
            f"unused_for_days must be between 1 and {MAX_CLEANUP_DAYS}", "unused_for_days"
        )
    if cutoff is None:
        return utcnow() - timedelta(days=days)
    try:
        moment = datetime.fromisoformat(cutoff) if isinstance(cutoff, str) else cutoff
    except ValueError:
        moment = None
    if not isinstance(moment, datetime):
        raise InvalidInput(
            f"the cleanup's cutoff is not an ISO 8601 time: {cutoff!r}; preview it again",
            "cutoff",
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment > utcnow():
        raise InvalidInput("the cleanup's cutoff is in the future; preview it again", "cutoff")
    return moment


def clean_highest_id(value):
    """A dry run's highest id as an int, or InvalidInput."""
    try:
        return check_id(value)
    except InvalidInput:
        raise InvalidInput(
            f"the cleanup's highest_id is not a prompt id: {value!r}; preview it again",
            "highest_id",
        ) from None


def cleanup_condition(without_thumbnail, cutoff):
    """The WHERE clause for the chosen cleanup criteria (either matches)."""
    conditions = []
    if without_thumbnail:
        conditions.append(Prompt.thumbnail_data.is_null())
    if cutoff is not None:
        conditions.append(Prompt.last_used_at < cutoff)
    if not conditions:
        raise InvalidInput("choose what to clean up: without_thumbnail and/or unused_for_days")
    condition = conditions[0]
    for other in conditions[1:]:
        condition |= other
    return condition


def optimize():
    """Optimize the database; return its size in bytes (before, after)."""
    database = db.migrated_database()
    before = engines.database_size(database)
    engines.optimize(database)
    return before, engines.database_size(database)
