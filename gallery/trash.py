"""Deleting a prompt keeps it aside for UNDO_MINUTES, so the delete can be undone.

A cleanup moves its prompts aside together, as one batch that is undone at once.
"""

from datetime import datetime, timedelta
from typing import NamedTuple

from . import engines
from .config import current_settings
from .errors import NotFound
from .models import Prompt, utcnow

COLUMNS = ", ".join(field.column_name for field in Prompt._meta.sorted_fields)
GONE_COLUMNS = ", ".join(f"gone.{field.column_name}" for field in Prompt._meta.sorted_fields)
KEPT_ON_MERGE = ("model", "thumbnail_data", "thumbnail_mime", "thumbnail_width", "thumbnail_height")


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
    return Prompt.last_used_at.db_value(moment)


def delete(database, prompt_id):
    """Move one prompt into the trash; False when there was no such prompt."""
    return move(database, Prompt.id == prompt_id) > 0


def move(database, condition, batch=None):
    """Move the prompts matching a Peewee condition into the trash; how many moved."""
    chosen, params = Prompt.select(Prompt.id).where(condition).sql()
    moment = naive_utc(utcnow())
    keep = f"INSERT INTO deleted_prompts ({COLUMNS}, thumbnail_digest, deleted_at, batch)"
    # The thumbnail's digest goes along, so a restored picture keeps its URL.
    digest = "LEFT JOIN thumbnail_digests AS d ON d.id = gone.id"
    with database.atomic():
        purge(database)
        if engines.is_sqlite(database):
            # The transaction holds the write lock from its start (IMMEDIATE), so no
            # other writer changes a row between keeping it and deleting it.
            database.execute_sql(
                f"{keep} SELECT {GONE_COLUMNS}, d.digest, ?, ? FROM prompts AS gone {digest} "
                f"WHERE gone.id IN ({chosen})",
                (moment, batch, *params),
            )
            deleted = database.execute_sql(f"DELETE FROM prompts WHERE id IN ({chosen})", params)
            return deleted.rowcount
        # One statement: under READ COMMITTED a row could change between two, and the
        # trash would keep a copy that differs from what was deleted.
        return database.execute_sql(
            f"WITH gone AS (DELETE FROM prompts WHERE id IN ({chosen}) RETURNING {COLUMNS}) "
            f"{keep} SELECT {GONE_COLUMNS}, d.digest, %s, %s FROM gone {digest}",
            (*params, moment, batch),
        ).rowcount


def restore(database, prompt_id):
    """Bring a recently deleted prompt back (merged if it was recorded again meanwhile)."""
    with database.atomic():
        purge(database)
        found = database.execute_sql(
            f"SELECT prompt_hash FROM deleted_prompts WHERE id = {database.param}", (prompt_id,)
        ).fetchone()
        if not found:
            raise NotFound(
                f"prompt {prompt_id} cannot be restored: it was never deleted, or "
                f"more than {current_settings()['UNDO_MINUTES']} minutes ago",
                "id",
            )
        bring_back(database, "id", prompt_id)
    return Prompt.cards().where(Prompt.prompt_hash == found[0]).first()


def restore_batch(database, batch):
    """Bring back every prompt a cleanup removed; how many came back."""
    with database.atomic():
        purge(database)
        count = bring_back(database, "batch", batch)
    if not count:
        raise NotFound(
            "this cleanup cannot be undone: it removed nothing, was undone already, or "
            f"ran more than {current_settings()['UNDO_MINUTES']} minutes ago",
            "batch",
        )
    return count


def bring_back(database, column, value):
    """Move the trash rows whose `column` is `value` back into prompts; how many."""
    param = database.param
    least, greatest = engines.scalar_min_max(database)
    keep = ", ".join(f"{c} = COALESCE(prompts.{c}, excluded.{c})" for c in KEPT_ON_MERGE)
    database.execute_sql(
        f"INSERT INTO prompts ({COLUMNS}) SELECT {COLUMNS} FROM deleted_prompts "
        f"WHERE {column} = {param} ON CONFLICT (prompt_hash) DO UPDATE SET "
        "total_uses = prompts.total_uses + excluded.total_uses, "
        f"first_used_at = {least}(prompts.first_used_at, excluded.first_used_at), "
        f"last_used_at = {greatest}(prompts.last_used_at, excluded.last_used_at), {keep}",
        (value,),
    )
    # A merged prompt that had a picture keeps it, and its digest; else the trash's.
    database.execute_sql(
        "INSERT INTO thumbnail_digests (id, digest) SELECT p.id, t.thumbnail_digest "
        "FROM deleted_prompts AS t JOIN prompts AS p ON p.prompt_hash = t.prompt_hash "
        f"WHERE t.{column} = {param} AND t.thumbnail_digest IS NOT NULL "
        "ON CONFLICT (id) DO NOTHING",
        (value,),
    )
    emptied = database.execute_sql(
        f"DELETE FROM deleted_prompts WHERE {column} = {param}", (value,)
    )
    return emptied.rowcount


def batch_examples(database, batch, limit=20):
    """[(id, prompt_text)] of the first prompts a cleanup moved into the trash."""
    return database.execute_sql(
        f"SELECT id, prompt_text FROM deleted_prompts WHERE batch = {database.param} "
        f"ORDER BY id LIMIT {int(limit)}",
        (batch,),
    ).fetchall()


def recent(database):
    """[Deleted] that can still be restored, newest first; a cleanup is one line."""
    purge(database)
    singles = database.execute_sql(
        "SELECT id, prompt_text, deleted_at FROM deleted_prompts WHERE batch IS NULL"
    ).fetchall()
    batches = database.execute_sql(
        "SELECT d.id, d.prompt_text, d.deleted_at, d.batch, b.moved "
        "FROM (SELECT batch, MIN(id) AS lowest, COUNT(*) AS moved FROM deleted_prompts "
        "WHERE batch IS NOT NULL GROUP BY batch) AS b JOIN deleted_prompts AS d ON d.id = b.lowest"
    ).fetchall()
    entries = [
        Deleted(i, text, Prompt.last_used_at.python_value(at), *rest)
        for i, text, at, *rest in [*singles, *batches]
    ]
    return sorted(entries, key=lambda entry: entry.deleted_at, reverse=True)


def purge(database):
    """Remove for good what has been in the trash longer than the undo window."""
    database.execute_sql(
        f"DELETE FROM deleted_prompts WHERE deleted_at < {database.param}",
        (naive_utc(utcnow() - window()),),
    )
