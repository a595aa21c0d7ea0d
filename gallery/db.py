"""The database: a proxy chosen at run time and its connection hooks."""

import logging
import threading
import time

from flask import current_app, has_app_context, request
from peewee import DatabaseError, DatabaseProxy

from . import engines
from .config import standalone_settings
from .engines import open_database
from .errors import Unavailable
from .migrations import ensure_schema

log = logging.getLogger(__name__)

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
        use_database(database_for(settings))
    ensure_schema(db.obj)
    return db.obj


def database_for(settings):
    """The database object the settings describe (not yet connected)."""
    return open_database(
        settings["DATABASE_URL"],
        settings["DATABASE_POOL_SIZE"],
        timeout=settings["DATABASE_TIMEOUT"],
        connect_timeout=settings["DATABASE_CONNECT_TIMEOUT"],
    )


def init_app(app):
    """Open the app's database and connect it per request."""
    database = database_for(app.config)
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

    # A check runs in a thread of its own, so it can be given up on: statement_timeout
    # is the server's, and a server (or pooler) that takes the query and stays silent
    # would otherwise hold /healthz until the load balancer's own timeout.
    checks = threading.BoundedSemaphore(4)  # stuck checks at most; then 503 at once
    deadline = float(app.config["DATABASE_CONNECT_TIMEOUT"]) + 1

    @app.get("/healthz")
    def healthz():
        """200 when the database answers, 503 when not: for load balancers."""
        outcome = {}
        if not checks.acquire(timeout=deadline):
            outcome["error"] = TimeoutError("earlier health checks are still waiting")
        else:
            checker = threading.Thread(target=check, args=(outcome,), daemon=True)
            checker.start()
            checker.join(deadline)
        if "ok" in outcome:
            return {"status": "ok"}
        # Any failure means "not healthy"; the driver's words (hosts, roles) go to the log only.
        log.warning("health check failed: %s", outcome.get("error", "no answer in time"))
        reason = engines.unavailable(outcome.get("error")) or engines.UNREACHABLE
        return {"status": "unavailable", "error": reason}, 503

    def check(outcome):
        try:
            with database.connection_context():
                database.execute_sql("SELECT 1").fetchone()
            outcome["ok"] = True
        except Exception as exc:
            outcome["error"] = exc
        finally:
            checks.release()


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
    database = db.obj
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


def as_unavailable(exc):
    """Unavailable (503 with Retry-After) for an error that means a locked or unreachable
    database, else None."""
    reason = engines.unavailable(exc)
    if reason is None:
        return None
    log.warning("database unavailable: %s", exc)
    return Unavailable(reason)
