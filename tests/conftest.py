"""Fixtures: every test gets its own instance folder and database, never the real one."""

from pathlib import Path

import pytest

from gallery import create_app
from gallery import db as gallery_db

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Point standalone callers at a temporary database and forget it afterwards."""
    for name in ("GALLERY_DATABASE_URL", "GALLERY_SECRET_KEY", "GALLERY_MAX_PROMPT_LENGTH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GALLERY_DATABASE_URL", f"sqlite:///{tmp_path / 'standalone.db'}")
    yield
    if gallery_db.db.obj is not None:
        gallery_db.db.obj.close()
        gallery_db.db.initialize(None)


@pytest.fixture
def app(tmp_path):
    """An app on a fresh SQLite file in a temporary instance folder."""
    instance = tmp_path / "instance"
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_URL": f"sqlite:///{instance / 'gallery.db'}",
        },
        instance_path=instance,
    )


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
    """The shared real sample files (read-only)."""
    if not SAMPLES.is_dir():
        pytest.skip(f"sample folder {SAMPLES} not found")
    return SAMPLES
