"""The database: a proxy chosen at run time, its connection hooks and its migrations."""

import time

from flask import current_app, has_app_context, request
from peewee import DatabaseError, DatabaseProxy

from . import engines
from .config import standalone_settings
from .engines import open_database
from .migrations import MIGRATIONS

db = DatabaseProxy()


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
        settings = standalone_settings()
        use_database(open_database(settings["DATABASE_URL"], settings["DATABASE_POOL_SIZE"]))
    ensure_schema(db.obj)
    return db.obj


def ensure_schema(database):
    """Run pending migrations once per process and database."""
    if getattr(database, "_gallery_schema_ready", False):
        return
    migrate(database)
    database._gallery_schema_ready = True


def migrate(database):
    """Apply the migrations this database lacks, each in its own transaction."""
    for version, migration in enumerate(MIGRATIONS, start=1):
        # The lock taken inside the transaction makes the version check and the
        # change atomic, so processes starting together migrate once.
        with database.atomic():
            engines.lock_for_migration(database)
            if engines.schema_version(database) >= version:
                continue
            for statement in migration[engines.dialect(database)]:
                database.execute_sql(statement)
            engines.set_schema_version(database, version)
    return engines.schema_version(database)


def init_app(app):
    """Open the app's database and connect it per request."""
    database = open_database(app.config["DATABASE_URL"], app.config["DATABASE_POOL_SIZE"])
    app.extensions["gallery_db"] = database

    @app.before_request
    def connect():
        if request.endpoint == "healthz":
            return  # it reports a broken database instead of failing on it
        use_database(database)
        ensure_schema(database)
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def close(exc):
        if not database.is_closed():
            database.close()

    @app.get("/healthz")
    def healthz():
        """200 when the database answers, 503 when not: for load balancers."""
        try:
            database.connect(reuse_if_open=True)
            database.execute_sql("SELECT 1").fetchone()
        except Exception as exc:  # any driver error means "not healthy", and says why
            return {"status": "unavailable", "error": str(exc)[:300]}, 503
        return {"status": "ok"}


def retry_when_busy(operation, attempts=5, first_wait=0.05):
    """Run `operation()`; if the database stays locked past its busy timeout, or
    PostgreSQL ends it as a deadlock or serialization failure, back off and retry.

    Writers already queue on SQLite's 30 s busy timeout; this is the bounded second
    line, so "database is locked" reaches no user unless the wait is truly hopeless.
    Inside a transaction it runs once: retrying part of a transaction would be wrong.
    """
    database = db.obj
    for attempt in range(attempts):
        try:
            return operation()
        except DatabaseError as exc:
            transient = engines.worth_retrying(exc)
            if not transient or attempt == attempts - 1 or database.in_transaction():
                raise
            time.sleep(first_wait * 2**attempt)
