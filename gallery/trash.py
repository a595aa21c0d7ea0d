"""Deleting a prompt keeps it aside for UNDO_MINUTES, so the delete can be undone."""

from datetime import timedelta

from . import engines
from .config import current_settings
from .errors import NotFound
from .models import Prompt, utcnow

COLUMNS = ", ".join(field.column_name for field in Prompt._meta.sorted_fields)


def window():
    """How long a deleted prompt can be brought back."""
    return timedelta(minutes=float(current_settings()["UNDO_MINUTES"]))


def as_stored(moment):
    """A datetime as the database stores it (naive UTC)."""
    return Prompt.last_used_at.db_value(moment)


def delete(db, prompt_id):
    """Move one prompt into the trash; False when there was no such prompt."""
    param = db.param
    with db.atomic():
        purge(db)
        db.execute_sql(
            f"INSERT INTO deleted_prompts ({COLUMNS}, deleted_at) "
            f"SELECT {COLUMNS}, {param} FROM prompts WHERE id = {param}",
            (as_stored(utcnow()), prompt_id),
        )
        return Prompt.delete().where(Prompt.id == prompt_id).execute() > 0


def restore(db, prompt_id):
    """Bring a recently deleted prompt back (merged if it was recorded again meanwhile)."""
    param = db.param
    with db.atomic():
        purge(db)
        found = db.execute_sql(
            f"SELECT prompt_hash FROM deleted_prompts WHERE id = {param}", (prompt_id,)
        ).fetchone()
        if not found:
            raise NotFound(
                f"prompt {prompt_id} cannot be restored: it was never deleted, or "
                f"more than {current_settings()['UNDO_MINUTES']} minutes ago",
                "id",
            )
        least, greatest = engines.scalar_min_max(db)
        keep = ", ".join(
            f"{c} = COALESCE(prompts.{c}, excluded.{c})"
            for c in (
                "model",
                "thumbnail_data",
                "thumbnail_mime",
                "thumbnail_width",
                "thumbnail_height",
            )
        )
        db.execute_sql(
            f"INSERT INTO prompts ({COLUMNS}) SELECT {COLUMNS} FROM deleted_prompts "
            f"WHERE id = {param} ON CONFLICT (prompt_hash) DO UPDATE SET "
            "total_uses = prompts.total_uses + excluded.total_uses, "
            f"first_used_at = {least}(prompts.first_used_at, excluded.first_used_at), "
            f"last_used_at = {greatest}(prompts.last_used_at, excluded.last_used_at), {keep}",
            (prompt_id,),
        )
        db.execute_sql(f"DELETE FROM deleted_prompts WHERE id = {param}", (prompt_id,))
    return Prompt.cards().where(Prompt.prompt_hash == found[0]).first()


def recent(db):
    """[(id, prompt_text, deleted_at)] that can still be restored, newest first."""
    purge(db)
    rows = db.execute_sql(
        "SELECT id, prompt_text, deleted_at FROM deleted_prompts ORDER BY deleted_at DESC"
    ).fetchall()
    return [(i, text, Prompt.last_used_at.python_value(at)) for i, text, at in rows]


def purge(db):
    """Remove for good what has been in the trash longer than the undo window."""
    db.execute_sql(
        f"DELETE FROM deleted_prompts WHERE deleted_at < {db.param}",
        (as_stored(utcnow() - window()),),
    )
