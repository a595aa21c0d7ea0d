"""The database helpers: retrying a write that found the database locked, within one budget,
and a 503 (not a hang, not a 500) when another process holds the lock past it."""

import socket
import sqlite3
import threading
import time

import pytest
from peewee import OperationalError
from werkzeug.security import generate_password_hash

from gallery import create_app, store, tokens
from gallery import db as gallery_db


def flaky(failures, message="database is locked"):
    calls = []

    def operation():
        calls.append(1)
        if len(calls) <= failures:
            raise OperationalError(sqlite3.OperationalError(message))  # as Peewee wraps it
        return "done"

    return operation, calls


class FakeClock:
    """A monotonic clock that moves only when the code under test sleeps."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_retries_a_locked_database_with_backoff(ctx):
    gallery_db.migrated_database()
    operation, calls = flaky(2)
    assert store.retry_when_busy(operation, first_wait=0.001) == "done"
    assert len(calls) == 3


def test_gives_up_when_the_next_wait_would_outlast_the_budget(ctx):
    gallery_db.migrated_database()
    operation, calls = flaky(10)
    clock = FakeClock()
    with pytest.raises(OperationalError):
        store.retry_when_busy(operation, budget=1.0, first_wait=0.1, clock=clock, sleep=clock.sleep)
    assert len(calls) == 4 and clock.now == pytest.approx(0.7)  # waited 0.1 + 0.2 + 0.4


def test_other_errors_and_transactions_are_not_retried(ctx):
    database = gallery_db.migrated_database()
    operation, calls = flaky(1, "no such table: x")
    with pytest.raises(OperationalError):
        store.retry_when_busy(operation, first_wait=0.001)
    operation, calls = flaky(1)
    with database.atomic(), pytest.raises(OperationalError):
        store.retry_when_busy(operation, first_wait=0.001)
    assert len(calls) == 1


def test_retries_stay_within_one_budget(ctx):
    gallery_db.migrated_database()
    operation, calls = flaky(1000)
    clock = FakeClock()
    with pytest.raises(OperationalError):
        store.retry_when_busy(
            operation, budget=2.0, first_wait=0.05, clock=clock, sleep=clock.sleep
        )
    assert len(calls) > 1 and clock.now <= 2.0


BUDGET = 0.5  # seconds: DATABASE_TIMEOUT for the lock tests


@pytest.fixture
def budget_app(tmp_path, database_url):
    """An app whose database gives up waiting for a lock after BUDGET seconds."""
    from tests.conftest import close_pool

    config = {"SECRET_KEY": "t", "DATABASE_URL": database_url, "DATABASE_TIMEOUT": BUDGET}
    made = []

    def make():
        app = create_app(config, instance_path=tmp_path / "instance")
        made.append(app)
        return app

    yield make
    for app in made:
        close_pool(app)


class OutsideLock:
    """Another connection that holds the database's write lock, as a backup or a script would."""

    def __init__(self, app):
        self.app = app
        self.holder = None

    def take(self):
        url = self.app.config["DATABASE_URL"]
        if url.startswith("sqlite:///"):
            self.holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            self.holder.execute("BEGIN EXCLUSIVE")
        else:
            import psycopg

            self.holder = psycopg.connect(url)  # in a transaction until rollback
            # EXCLUSIVE stops every write and lets reads pass, as SQLite's WAL does.
            self.holder.execute("LOCK TABLE prompts, api_tokens IN EXCLUSIVE MODE")
        return self

    def release(self):
        if self.holder is not None:
            self.holder.rollback()
            self.holder.close()
            self.holder = None


@pytest.fixture
def outside_lock(budget_app):
    """An app with a token and one prompt, and a lock on its database, not yet taken."""
    app = budget_app()
    with app.app_context():
        token = tokens.create_token("locked")
        store.record_use("recorded before the lock")
    lock = OutsideLock(app)
    lock.headers = {"Authorization": f"Bearer {token}"}
    yield lock
    lock.release()


def in_time(call, seconds, lock):
    """call() in a thread; its result and time taken, or a failure if not back in `seconds`."""
    result = []
    worker = threading.Thread(target=lambda: result.append(call()), daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        lock.release()  # let it finish, so the test ends
        worker.join(60)
        pytest.fail(f"still waiting after {seconds} s (then answered {result})")
    return result[0], time.monotonic() - started


def test_a_write_under_an_outside_lock_answers_503_within_the_budget(outside_lock):
    client = outside_lock.app.test_client()
    body = {"prompt_text": "x"}
    post = lambda: client.post("/api/prompts/", json=body, headers=outside_lock.headers)  # noqa: E731
    response, took = in_time(post, BUDGET + 5, outside_lock.take())
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.json["error"]["code"] == "database_unavailable"
    assert "busy" in response.json["error"]["message"]
    assert int(response.headers["Retry-After"]) >= 1
    assert took < BUDGET + 3


def test_a_gallery_write_under_a_lock_is_an_html_503(outside_lock):
    app = outside_lock.app
    client = app.test_client()
    app.config["ADMIN_PASSWORD_HASH"] = generate_password_hash("pw-for-lock")
    client.post("/admin/sign-in", data={"password": "pw-for-lock", "csrf_token": csrf(client)})
    form = {"csrf_token": csrf(client, "/admin/"), "without_thumbnail": "yes", "confirm": "yes"}
    form["highest_id"] = "1000"  # as the preview's confirm form carries it
    cleanup = lambda: client.post("/admin/cleanup", data=form)  # noqa: E731
    response, _ = in_time(cleanup, BUDGET + 5, outside_lock.take())
    assert response.status_code == 503 and "Retry-After" in response.headers
    assert response.mimetype == "text/html" and "busy" in response.get_data(as_text=True)


def csrf(client, url="/admin/sign-in"):
    from tests.conftest import csrf_token_from

    return csrf_token_from(client, url)


def test_reads_go_on_during_an_outside_lock(outside_lock, budget_app):
    outside_lock.take()
    fresh = budget_app()  # a worker that starts while the lock is held must read too
    for client in (outside_lock.app.test_client(), fresh.test_client()):
        response, _ = in_time(lambda c=client: c.get("/api/prompts/"), BUDGET + 5, outside_lock)
        assert response.status_code == 200
        assert response.json["items"][0]["prompt_text"] == "recorded before the lock"
        response, _ = in_time(lambda c=client: c.get("/healthz"), BUDGET + 5, outside_lock)
        assert response.status_code == 200


def test_a_cli_write_under_a_lock_prints_one_error_line(outside_lock):
    runner = outside_lock.app.test_cli_runner()
    invoke = lambda: runner.invoke(args=["gallery", "add", "from the command line"])  # noqa: E731
    result, took = in_time(invoke, BUDGET + 5, outside_lock.take())
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "busy" in lines[0]
    assert took < BUDGET + 3


def test_writes_work_again_once_the_lock_is_gone(outside_lock):
    outside_lock.take().release()
    client = outside_lock.app.test_client()
    response = client.post("/api/prompts/", json={"prompt_text": "x"}, headers=outside_lock.headers)
    assert response.status_code == 201


def test_a_cli_command_with_the_database_out_of_reach_prints_one_error_line(tmp_path):
    pytest.importorskip("psycopg")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens
    url = f"postgresql://secret_role@127.0.0.1:{port}/gallery"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "t"}, instance_path=tmp_path)
    result = app.test_cli_runner().invoke(args=["gallery", "stats"])
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    # The operator at the terminal gets the reason and the driver's words (which port).
    assert line.startswith("Error: the database is not answering; try again in a few seconds (")
    assert str(port) in line
