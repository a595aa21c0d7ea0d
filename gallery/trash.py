"""Deleting a prompt keeps it aside for UNDO_MINUTES, so the delete can be undone.

A cleanup moves its prompts aside together, as one batch that is undone at once.
The `database` each function takes is the one behind the models (store passes
db.migrated_database()).
"""

from datetime import datetime, timedelta
from typing import NamedTuple

from peewee import JOIN, Select, Value, fn

from . import engines
from .config import current_settings
from .errors import NotFound
from .models import DeletedPrompt, Prompt, ThumbnailDigest, utcnow

# A prompt's columns, as the prompts table and the trash both name them.
COLUMNS = [field.name for field in Prompt._meta.sorted_fields]


class Deleted(NamedTuple):
    """One line of the recently deleted list: a prompt, or a cleanup's batch of them."""

    id: int  # the prompt's id; for a batch, its lowest
    prompt_text: str  # for a batch, the text of its lowest id
    deleted_at: datetime
    batch: str | None = None
    count: int = 1


def window():
    """How long a deleted prompt can be brought back."""
    return timedelta(minutes=float(current_settings()["UNDO_MINUTES"]))


def naive_utc(moment):
    """A datetime as the database stores it (naive UTC)."""
    return DeletedPrompt.deleted_at.db_value(moment)


def delete(database, prompt_id):
    """Move one prompt into the trash; False when there was no such prompt."""
    return move(database, Prompt.id == prompt_id) > 0


def move(database, condition, batch=None):
    """Move the prompts matching a Peewee condition into the trash; how many moved."""
    chosen = Prompt.select(Prompt.id).where(condition)
    # The thumbnail's digest goes along, so a restored picture keeps its URL.
    kept = [getattr(DeletedPrompt, name) for name in COLUMNS]
    kept += [DeletedPrompt.thumbnail_digest, DeletedPrompt.deleted_at, DeletedPrompt.batch]
    extra = [ThumbnailDigest.digest, Value(naive_utc(utcnow())), Value(batch)]
    with database.atomic():
        purge(database)
        if engines.is_sqlite(database):
            # The transaction holds the write lock from its start (IMMEDIATE), so no
            # other writer changes a row between keeping it and deleting it.
            gone = (
                Prompt.select(*Prompt._meta.sorted_fields, *extra)
                .join(ThumbnailDigest, JOIN.LEFT_OUTER, on=(ThumbnailDigest.id == Prompt.id))
                .where(Prompt.id.in_(chosen))
            )
            DeletedPrompt.insert_from(gone, kept).as_rowcount().execute()
            return Prompt.delete().where(Prompt.id.in_(chosen)).execute()
        # One statement: under READ COMMITTED a row could change between two, and the
        # trash would keep a copy that differs from what was deleted.
        deleted = Prompt.delete().where(Prompt.id.in_(chosen))
        gone = deleted.returning(*Prompt._meta.sorted_fields).cte("gone")
        rows = Select([gone], [*(gone.c[name] for name in COLUMNS), *extra]).join(
            ThumbnailDigest, JOIN.LEFT_OUTER, on=(ThumbnailDigest.id == gone.c.id)
        )
        return DeletedPrompt.insert_from(rows, kept).with_cte(gone).as_rowcount().execute()


def restore(database, prompt_id):
    """Bring a recently deleted prompt back (merged if it was recorded again meanwhile)."""
    with database.atomic():
        purge(database)
        found = DeletedPrompt.get_or_none(DeletedPrompt.id == prompt_id)
        if not found:
            raise NotFound(
                f"prompt {prompt_id} cannot be restored: it was never deleted, or "
                f"more than {current_settings()['UNDO_MINUTES']} minutes ago",
                "id",
            )
        bring_back(database, DeletedPrompt.id == prompt_id)
    return Prompt.cards().where(Prompt.prompt_hash == found.prompt_hash).first()


def restore_batch(database, batch):
    """Bring back every prompt a cleanup removed; how many came back."""
    with database.atomic():
        purge(database)
        count = bring_back(database, DeletedPrompt.batch == batch)
    if not count:
        raise NotFound(
            "this cleanup cannot be undone: it removed nothing, was undone already, or "
            f"ran more than {current_settings()['UNDO_MINUTES']} minutes ago",
            "batch",
        )
    return count


def bring_back(database, condition):
    """Move the trash rows matching a condition on DeletedPrompt back into prompts; how many."""
    rows = DeletedPrompt.select(*(getattr(DeletedPrompt, name) for name in COLUMNS))
    Prompt.insert_from(rows.where(condition), Prompt._meta.sorted_fields).on_conflict(
        conflict_target=[Prompt.prompt_hash], update=Prompt.merged_with_excluded(database)
    ).as_rowcount().execute()
    # A merged prompt that had a picture keeps it, and its digest; else the trash's.
    digests = (
        DeletedPrompt.select(Prompt.id, DeletedPrompt.thumbnail_digest)
        .join(Prompt, on=(Prompt.prompt_hash == DeletedPrompt.prompt_hash))
        .where(condition, DeletedPrompt.thumbnail_digest.is_null(False))
    )
    ThumbnailDigest.insert_from(digests, [ThumbnailDigest.id, ThumbnailDigest.digest]).on_conflict(
        conflict_target=[ThumbnailDigest.id], action="NOTHING"
    ).as_rowcount().execute()
    return DeletedPrompt.delete().where(condition).execute()


def batch_examples(database, batch, limit=20):
    """[(id, prompt_text)] of the first prompts a cleanup moved into the trash."""
    query = DeletedPrompt.select(DeletedPrompt.id, DeletedPrompt.prompt_text)
    query = query.where(DeletedPrompt.batch == batch).order_by(DeletedPrompt.id)
    return list(query.limit(int(limit)).tuples())


def recent(database):
    """[Deleted] that can still be restored, newest first; a cleanup is one line."""
    purge(database)
    line = [DeletedPrompt.id, DeletedPrompt.prompt_text, DeletedPrompt.deleted_at]
    singles = DeletedPrompt.select(*line).where(DeletedPrompt.batch.is_null())
    lowest = DeletedPrompt.alias("lowest")
    grouped = (
        lowest.select(
            lowest.batch, fn.MIN(lowest.id).alias("lowest"), fn.COUNT(lowest.id).alias("moved")
        )
        .where(lowest.batch.is_null(False))
        .group_by(lowest.batch)
        .alias("b")
    )
    batches = DeletedPrompt.select(*line, DeletedPrompt.batch, grouped.c.moved).join(
        grouped, on=(DeletedPrompt.id == grouped.c.lowest)
    )
    entries = [Deleted(*row) for row in [*singles.tuples(), *batches.tuples()]]
    return sorted(entries, key=lambda entry: entry.deleted_at, reverse=True)


def purge(database):
    """Remove for good what has been in the trash longer than the undo window."""
    DeletedPrompt.delete().where(DeletedPrompt.deleted_at < utcnow() - window()).execute()
