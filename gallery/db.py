"""The database: a proxy chosen at run time, its connection hooks and its migrations."""

import sqlite3
from pathlib import Path

from flask import current_app, has_app_context
from peewee import DatabaseProxy, SqliteDatabase, fn

from .config import standalone_settings
from .errors import InvalidInput
from .migrations import MIGRATIONS

db = DatabaseProxy()

# WAL lets readers run beside the one writer; NORMAL sync is crash-safe in WAL mode
# (a killed process loses nothing committed; only power loss may drop the last commits).
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "normal",
    "foreign_keys": 1,
    "cache_size": -32_000,  # KiB
    "temp_store": "memory",
}
BUSY_TIMEOUT_SECONDS = 30


def open_database(url):
    """Make (but do not connect) the database object for a URL."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        # IMMEDIATE: a write transaction takes the write lock up front, so two
        # writers queue on the busy timeout instead of failing on a stale snapshot.
        return SqliteDatabase(
            str(path),
            pragmas=SQLITE_PRAGMAS,
            timeout=BUSY_TIMEOUT_SECONDS,
            lock_type="IMMEDIATE",
            returning_clause=True,
        )
    scheme = url.partition(":")[0] or url
    raise InvalidInput(
        f"unsupported database URL {scheme!r}: use sqlite:///path/to/file.db",
        field="DATABASE_URL",
    )


def use_database(database):
    """Point the proxy at `database`, closing this thread's connection to the old one."""
    if db.obj is database:
        return
    if db.obj is not None and not db.obj.is_closed():
        db.obj.close()
    db.initialize(database)


def ready():
    """The current database behind the proxy, migrated; for any caller.

    Inside an app context that is the app's database; in a plain script, the
    one GALLERY_DATABASE_URL (or the default) names, opened on first use.
    """
    if has_app_context():
        use_database(current_app.extensions["gallery_db"])
    elif db.obj is None:
        use_database(open_database(standalone_settings()["DATABASE_URL"]))
    ensure_schema(db.obj)
    return db.obj


def ensure_schema(database):
    """Run pending migrations once per process and database."""
    if getattr(database, "_gallery_schema_ready", False):
        return
    migrate(database)
    database._gallery_schema_ready = True


def schema_version(database):
    """The number of migrations applied to this database."""
    return database.execute_sql("PRAGMA user_version").fetchone()[0]


def migrate(database):
    """Apply the migrations this database lacks, each in its own transaction."""
    for version, statements in enumerate(MIGRATIONS, start=1):
        # The write lock taken by the transaction makes the version check and
        # the change atomic, so processes starting together migrate once.
        with database.atomic():
            if schema_version(database) >= version:
                continue
            for statement in statements:
                database.execute_sql(statement)
            database.execute_sql(f"PRAGMA user_version = {version}")
    return schema_version(database)


def init_app(app):
    """Open the app's database and connect it per request."""
    database = open_database(app.config["DATABASE_URL"])
    app.extensions["gallery_db"] = database

    @app.before_request
    def connect():
        use_database(database)
        ensure_schema(database)
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def close(exc):
        if not database.is_closed():
            database.close()


def greatest(a, b):
    """The later/larger of two SQL values (a scalar max)."""
    return fn.MAX(a, b)


def least(a, b):
    """The earlier/smaller of two SQL values (a scalar min)."""
    return fn.MIN(a, b)


def database_size(database):
    """Bytes the store takes on disk, write-ahead log included."""
    path = Path(database.database)
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def backup_to(database, target):
    """A consistent copy of a live SQLite database through the online backup API."""
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
    """Planner statistics, a merged full-text index and a vacuumed file."""
    database.execute_sql("PRAGMA optimize")
    database.execute_sql("INSERT INTO prompts_fts (prompts_fts) VALUES ('optimize')")
    database.execute_sql("VACUUM")
    database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
