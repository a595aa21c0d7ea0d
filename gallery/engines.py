"""What differs between SQLite and PostgreSQL, outside search: connections, schema
version, scalar min/max, size on disk, backup and upkeep."""

import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path

from peewee import OperationalError, SqliteDatabase, fn
from playhouse.pool import MaxConnectionsExceeded

from .errors import InvalidInput

# PostgreSQL's serialization_failure and deadlock_detected: run the transaction again.
RETRY_SQLSTATES = ("40001", "40P01")


def is_sqlite(database):
    """True for SQLite, False for PostgreSQL."""
    return isinstance(database, SqliteDatabase)


def dialect(database):
    """ "sqlite" or "postgres": which statements of a migration apply."""
    return "sqlite" if is_sqlite(database) else "postgres"


BUSY = "the database is busy (locked by another process, or slow); try again in a few seconds"
UNREACHABLE = "the database is not answering; try again in a few seconds"


def unavailable(exc):
    """Why a database error means "busy or out of reach, try again later", or None for a bug.

    The reason is ours, never the driver's message, which names hosts and roles.
    """
    if isinstance(exc, MaxConnectionsExceeded):  # every pooled connection stayed busy
        return BUSY
    original = driver_error(exc)
    if isinstance(original, sqlite3.OperationalError):
        message = str(original)
        return BUSY if "locked" in message or "busy" in message else None
    try:
        import psycopg
    except ImportError:  # pragma: no cover - depends on the install
        return None
    if isinstance(original, psycopg.errors.QueryCanceled | psycopg.errors.LockNotAvailable):
        return BUSY
    if isinstance(original, psycopg.OperationalError):
        return UNREACHABLE
    return None


def busy_ms(seconds):
    """SQLite's busy timeout, in whole milliseconds, for a wait in seconds."""
    return max(0, round(float(seconds) * 1000))


def set_busy_timeout(database, seconds):
    """Change how long this thread's SQLite connection waits for the write lock."""
    database.execute_sql(f"PRAGMA busy_timeout = {busy_ms(seconds)}")


def driver_error(exc):
    """The driver's own exception behind a Peewee one (Peewee keeps it as `orig`)."""
    while hasattr(exc, "orig"):
        exc = exc.orig
    return exc


def worth_retrying(exc):
    """True when a write failed only because others were writing at the same time:
    SQLite's write lock held past the busy timeout, a PostgreSQL deadlock or
    serialization failure."""
    original = driver_error(exc)
    if hasattr(original, "sqlstate"):  # psycopg: the SQLSTATE says it
        return original.sqlstate in RETRY_SQLSTATES
    message = str(original)
    return isinstance(original, OperationalError | sqlite3.OperationalError) and (
        "locked" in message or "busy" in message
    )


@contextmanager
def no_statement_timeout(database):
    """Upkeep that may run for minutes on a large store, outside any transaction."""
    if is_sqlite(database):
        yield
        return
    database.execute_sql("SET statement_timeout = 0")
    try:
        yield
    finally:
        database.execute_sql("RESET statement_timeout")  # back to the connection's own


def snapshot(database):
    """A read transaction that sees the database as it was when it began, throughout."""
    if is_sqlite(database):
        return database.atomic()  # a deferred transaction in WAL mode reads one snapshot
    return database.atomic(isolation_level="REPEATABLE READ")


def scalar_min_max(database):
    """The names of the two-argument min and max functions: MIN/MAX or LEAST/GREATEST."""
    return ("MIN", "MAX") if is_sqlite(database) else ("LEAST", "GREATEST")


def greatest(database, a, b):
    """The later/larger of two SQL values (a scalar max)."""
    return getattr(fn, scalar_min_max(database)[1])(a, b)


def least(database, a, b):
    """The earlier/smaller of two SQL values (a scalar min)."""
    return getattr(fn, scalar_min_max(database)[0])(a, b)


def database_size(database):
    """Bytes the store takes on disk (SQLite: with its write-ahead log)."""
    if not is_sqlite(database):
        return database.execute_sql("SELECT pg_database_size(current_database())").fetchone()[0]
    path = Path(database.database)
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


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


def optimize(database):
    """Planner statistics, a compact full-text index, free space given back."""
    if not is_sqlite(database):
        with no_statement_timeout(database):
            database.execute_sql("VACUUM ANALYZE prompts, prompt_search")
        return
    database.execute_sql("PRAGMA optimize")
    database.execute_sql("INSERT INTO prompts_fts (prompts_fts) VALUES ('optimize')")
    database.execute_sql("VACUUM")
    database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def refresh_statistics(database):
    """PostgreSQL plans from table statistics, which tables just filled lack until
    autovacuum comes by: searching 100,000 copied prompts for a rare word by recency
    walked them all (1.3 s) instead of using the index (1.6 ms). SQLite needs none."""
    if not is_sqlite(database):
        with no_statement_timeout(database):
            database.execute_sql("ANALYZE prompts, prompt_search, api_tokens, imported_files")


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
