"""Backup and restore of a live SQLite store, and the integrity check a backup must pass."""

import sqlite3
import time
from pathlib import Path

from . import db
from .engines import is_sqlite
from .errors import InvalidInput
from .migrations import MIGRATIONS, migrate


def backup(path):
    """Write a consistent copy of the live store to a new file; return its size."""
    return backup_to(db.migrated_database(), path)


def restore(path):
    """Replace the live store with a checked backup; the old file is kept beside it."""
    database = db.migrated_database()
    kept = restore_from(database, path, len(MIGRATIONS))
    migrate(database)  # an older backup comes up to today's schema
    return kept


def backup_to(database, target):
    """A consistent copy of a live SQLite database through the online backup API."""
    if not is_sqlite(database):
        raise InvalidInput("back up PostgreSQL with pg_dump, or copy-db to a SQLite file")
    target = Path(target)
    if target.exists():
        raise InvalidInput(f"{target} already exists; choose a new file name", "path")
    if not target.parent.is_dir():
        raise InvalidInput(f"folder {target.parent} does not exist", "path")
    copy = sqlite3.connect(target)
    try:
        database.connection().backup(copy)
    finally:
        copy.close()
    return target.stat().st_size


def restore_from(database, source, schema_versions):
    """Replace a live SQLite database with a checked backup; return where the old one went."""
    if not is_sqlite(database):
        raise InvalidInput("restore PostgreSQL with pg_restore, or copy-db from a SQLite file")
    source = Path(source)
    if not source.is_file():
        raise InvalidInput(f"{source} is not a file", "path")
    check_backup(source, schema_versions)
    live = Path(database.database)
    kept = live.with_name(f"{live.name}.before-restore-{int(time.time())}")
    backup_to(database, kept)
    candidate = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        # The backup API swaps the pages in one step, under the live file's locks,
        # so connections of a running gallery see the old store or the new, never a mix.
        candidate.backup(database.connection())
    except sqlite3.Error as exc:
        raise InvalidInput(
            f"could not restore {source}: {exc}; the live store is unchanged"
        ) from None
    finally:
        candidate.close()
    return kept


def check_backup(path, schema_versions):
    """Refuse a file that is not an intact gallery database this version can read."""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            has_prompts = connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'prompts'"
            ).fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(f"{path} is not a SQLite database ({exc})", "path") from None
    if integrity != "ok":
        raise InvalidInput(f"{path} fails its integrity check: {integrity}", "path")
    if not has_prompts or version < 1:
        raise InvalidInput(f"{path} is not a Prompt Gallery database", "path")
    if version > schema_versions:
        raise InvalidInput(
            f"{path} has schema version {version}, newer than this gallery's {schema_versions}",
            "path",
        )
