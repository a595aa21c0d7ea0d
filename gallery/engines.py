"""What SQLite and PostgreSQL spell differently, outside search: which errors mean
"busy", timeouts, snapshots, scalar min/max, size on disk and upkeep."""

import sqlite3
from contextlib import contextmanager
from pathlib import Path

from peewee import OperationalError, SqliteDatabase, fn
from playhouse.pool import MaxConnectionsExceeded

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
    autovacuum comes by: searching freshly copied prompts for a rare word by recency
    walked them all instead of using the index. SQLite needs none."""
    if not is_sqlite(database):
        with no_statement_timeout(database):
            database.execute_sql("ANALYZE prompts, prompt_search, api_tokens, imported_files")
