"""Fixtures: every test gets its own instance folder and database, never the real one.

The suite runs on SQLite by default and on PostgreSQL when GALLERY_TEST_POSTGRES_URL is
set: each test then gets a schema of its own, dropped afterwards. Tests marked `sqlite`
or `postgres` are about one engine and are left out of the other engine's run.
"""

import os
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import pytest
from werkzeug.security import generate_password_hash

from gallery import create_app
from gallery import db as gallery_db

SAMPLES = Path(__file__).resolve().parent / "data"  # sources and licences: data/NOTICE.md
POSTGRES_URL = os.environ.get("GALLERY_TEST_POSTGRES_URL")
ENGINE = "postgres" if POSTGRES_URL else "sqlite"


def pytest_report_header(config):
    return f"gallery database engine: {ENGINE}"


def pytest_collection_modifyitems(config, items):
    """Leave out the tests that are about the other engine."""
    other = "sqlite" if ENGINE == "postgres" else "postgres"
    dropped = [item for item in items if item.get_closest_marker(other)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not item.get_closest_marker(other)]


def unavailable(reason):
    """Skip, or fail when GALLERY_REQUIRE_ALL=1 says every leg must really run."""
    if os.environ.get("GALLERY_REQUIRE_ALL") == "1":
        pytest.fail(f"{reason} (GALLERY_REQUIRE_ALL=1)", pytrace=False)
    pytest.skip(reason)


def with_search_path(url, schema):
    """The URL with its connections' search_path set to `schema` alone.

    Not `schema,public`: gallery tables someone made in public would be found first
    by name and the test would run against them (unaccent is called as public.unaccent).
    """
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["options"] = f"{query.get('options', '')} -c search_path={schema}".strip()
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


@pytest.fixture
def database_url(tmp_path):
    """A fresh, empty database: a SQLite file, or a PostgreSQL schema of its own."""
    if not POSTGRES_URL:
        yield f"sqlite:///{tmp_path / 'instance' / 'gallery.db'}"
        return
    import psycopg

    schema = f"test_{uuid.uuid4().hex[:16]}"
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True)
    except psycopg.Error as exc:
        unavailable(f"PostgreSQL at GALLERY_TEST_POSTGRES_URL does not answer: {exc}")
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        yield with_search_path(POSTGRES_URL, schema)
        close_connections()
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def close_connections():
    """Close every pooled connection this process holds (the schema is about to go)."""
    database = gallery_db.proxy.obj
    if database is not None and hasattr(database, "close_all"):
        database.close_all()


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch, request):
    """Point standalone callers at a temporary database and forget it afterwards."""
    for name in ("GALLERY_DATABASE_URL", "GALLERY_SECRET_KEY", "GALLERY_MAX_PROMPT_LENGTH"):
        monkeypatch.delenv(name, raising=False)
    if POSTGRES_URL:
        url = request.getfixturevalue("database_url")
    else:
        url = f"sqlite:///{tmp_path / 'standalone.db'}"
    monkeypatch.setenv("GALLERY_DATABASE_URL", url)
    yield
    if gallery_db.proxy.obj is not None:
        close_connections()
        gallery_db.proxy.obj.close()
        gallery_db.proxy.initialize(None)


@pytest.fixture
def app(tmp_path, database_url):
    """An app on a fresh database, with a temporary instance folder."""
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": database_url},
        instance_path=tmp_path / "instance",
    )
    yield app
    close_pool(app)


def close_pool(app):
    """Close an app's pooled connections (both engines pool them)."""
    database = app.extensions["gallery_db"]
    if hasattr(database, "close_all"):
        database.close_all()


@pytest.fixture
def ctx(app):
    """An app context, so store and search calls reach the app's database."""
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def samples():
    """The real sample files in tests/data (read-only: copy them before changing them)."""
    return SAMPLES


ADMIN_PASSWORD = "correct horse"
# Cheap on purpose: every sign-in checks it, and scrypt (set-admin-password's default, tested
# in test_admin) costs a quarter of a second each time on a busy 2-core machine.
ADMIN_PASSWORD_HASH = generate_password_hash(ADMIN_PASSWORD, method="pbkdf2:sha256:1000")


@pytest.fixture
def admin_app(app):
    """The app with an admin password set."""
    app.config["ADMIN_PASSWORD_HASH"] = ADMIN_PASSWORD_HASH
    return app


def csrf_token_from(client, url="/admin/sign-in"):
    """The CSRF token a page's form carries for this client's session."""
    import re

    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, password=ADMIN_PASSWORD):
    """Post the sign-in form as a browser would."""
    token = csrf_token_from(client)
    return client.post("/admin/sign-in", data={"password": password, "csrf_token": token})
