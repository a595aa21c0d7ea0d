"""The database: a proxy chosen at run time, opening connections, the request hooks."""

import hashlib
import logging
from pathlib import Path

from flask import current_app, has_app_context, request
from peewee import DatabaseProxy, SqliteDatabase
from playhouse.db_url import parse
from playhouse.pool import PooledSqliteDatabase

from .config import standalone_settings
from .engines import busy_ms
from .errors import InvalidInput
from .migrations import ensure_schema

log = logging.getLogger(__name__)

# WAL lets readers run beside the one writer; NORMAL sync is crash-safe in WAL mode
# (a killed process loses nothing committed; only power loss may drop the last commits).
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "normal",
    "foreign_keys": 1,
    "cache_size": -32_000,  # KiB
    "temp_store": "memory",
}
POSTGRES_SCHEMES = ("postgresql", "postgres")

proxy = DatabaseProxy()


def use_database(database):
    """Point the proxy at `database`, closing this thread's connection to the old one."""
    if proxy.obj is database:
        return
    if proxy.obj is not None and not proxy.obj.is_closed():
        proxy.obj.close()
    proxy.initialize(database)


def migrated_database():
    """The current database behind the proxy, migrated; for any caller.

    Inside an app context that is the app's database; in a plain script, the
    one GALLERY_DATABASE_URL (or the default) names, opened on first use.
    """
    if has_app_context():
        use_database(current_app.extensions["gallery_db"])
    elif proxy.obj is None:
        settings = standalone_settings()
        use_database(database_for(settings))
    ensure_schema(proxy.obj)
    return proxy.obj


def database_for(settings):
    """The database object the settings describe (not yet connected)."""
    return open_database(
        settings["DATABASE_URL"],
        settings["DATABASE_POOL_SIZE"],
        timeout=settings["DATABASE_TIMEOUT"],
        connect_timeout=settings["DATABASE_CONNECT_TIMEOUT"],
    )


def open_database(url, pool_size=8, timeout=10, connect_timeout=3, read_only=False):
    """Make (but do not connect) the database object for a URL.

    `timeout`: seconds one statement may wait for a lock or run (DATABASE_TIMEOUT);
    `connect_timeout`: seconds to reach PostgreSQL or get a pooled connection;
    `read_only`: one that cannot write (and a SQLite file that is not there is an error,
    not a new store).
    """
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        database = open_sqlite_read_only(path, timeout) if read_only else open_sqlite(path, timeout)
    elif url.partition("://")[0] in POSTGRES_SCHEMES:
        database = open_postgres(url, pool_size, timeout, connect_timeout, read_only)
    else:
        scheme = url.partition(":")[0] or url
        raise InvalidInput(
            f"unsupported database URL {scheme!r}: use sqlite:///path/to/file.db "
            "or postgresql://user@host:5432/dbname",
            field="DATABASE_URL",
        )
    database.gallery_timeout = float(timeout)  # the budget retry_when_busy keeps to
    return database


def open_sqlite(path, timeout):
    """A SQLite file, its folder made if needed, behind a pool of open connections.

    A request hands its connection back instead of closing it, so the next one
    finds SQLite's page cache warm; a new connection reads the index pages afresh
    (bench/RESULTS.md, "Figures behind the code").
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # IMMEDIATE: a write transaction takes the write lock up front, so two
    # writers queue on the busy timeout instead of failing on a stale snapshot.
    database = PooledSqliteDatabase(
        str(path),
        # Writers queue this long for the write lock before "database is locked".
        pragmas={**SQLITE_PRAGMAS, "busy_timeout": busy_ms(timeout)},
        timeout=float(timeout),
        lock_type="IMMEDIATE",
        returning_clause=True,
        max_connections=None,  # one per thread at work; SQLite needs no cap
        check_same_thread=False,  # a pooled connection may serve another thread later
    )
    # PostgreSQL has sha256(); migrations backfill thumbnail digests with this one.
    database.register_function(sha256_hex, "gallery_sha256", 1, deterministic=True)
    return database


def sha256_hex(data):
    """The hex SHA-256 of a BLOB (None for NULL): a thumbnail's version."""
    return None if data is None else hashlib.sha256(data).hexdigest()


def open_sqlite_read_only(path, timeout):
    """A SQLite file opened read-only: nothing done through it can change the file."""
    if not path.is_file():
        raise InvalidInput(f"no database at {path}")
    return SqliteDatabase(
        f"{path.resolve().as_uri()}?mode=ro",
        uri=True,
        pragmas={"busy_timeout": busy_ms(timeout), "query_only": 1},
        returning_clause=True,
    )


def open_postgres(url, pool_size, timeout, connect_timeout, read_only=False):
    """A pool of psycopg 3 connections; each request borrows one and gives it back.

    Every wait is bounded, so a server that stops answering costs a request seconds and
    a 503, not a worker: `connect_timeout` for a new connection (psycopg waits 130 s by
    default) and for a free one from the pool, `statement_timeout` for each statement,
    and `tcp_user_timeout` for a server whose host vanished mid-query.
    """
    try:
        from playhouse.postgres_ext import PooledPsycopg3Database
    except ImportError:  # pragma: no cover - depends on the install
        raise InvalidInput("PostgreSQL needs psycopg: pip install -e '.[postgres]'") from None
    params = parse(url)
    # Sessions in UTC: naive UTC datetimes mean the same on both engines.
    # Options given in the URL come last, so they win.
    ours = f"-c timezone=UTC -c statement_timeout={busy_ms(timeout)}"
    params["options"] = f"{ours} {params.get('options', '')}".strip()
    params.setdefault("connect_timeout", connect_timeout)
    params.setdefault("tcp_user_timeout", busy_ms(timeout + connect_timeout))
    if read_only:
        params["options"] += " -c default_transaction_read_only=on"
    # No prepared statements: psycopg prepares a query run five times, and PostgreSQL's
    # generic plan for it cannot tell a rare word from a common one (a rare word with a
    # model filter became many times slower from its sixth search on). Planned per
    # query, the plan fits the words searched for.
    params["prepare_threshold"] = None
    return PooledPsycopg3Database(
        params.pop("database"),
        max_connections=int(pool_size),
        stale_timeout=300,
        timeout=max(1, round(connect_timeout)),  # seconds to wait for a free connection
        **params,
    )


def init_app(app):
    """Open the app's database and connect it per request."""
    database = database_for(app.config)
    app.extensions["gallery_db"] = database

    @app.before_request
    def connect():
        if request.endpoint == "gallery.healthz":
            return  # it reports a broken database instead of failing on it
        use_database(database)
        ensure_schema(database)
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def close(exc):
        if not database.is_closed():
            database.close()
