"""copy-db: a whole store moved between engines, verified, and idempotent when run again."""

import io
import sqlite3

import pytest
from PIL import Image

from gallery import copying, create_app, store, tokens
from gallery import db as gallery_db
from gallery.errors import InvalidInput
from gallery.models import ImportedFile
from gallery.search import search_prompts


def texts(page):
    return [prompt.prompt_text for prompt in page.items]


def png(color):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def filled(ctx, tmp_path):
    for i in range(450):  # more than two batches
        image = png((i % 256, 90, 200)) if i % 3 == 0 else None
        store.record_use(f"prompt {i}", model=f"m{i % 4}", image_data=image)
    store.record_use("prompt 7")
    tokens.create_token("worker")
    ImportedFile.create(sha256="ab" * 32, path="/x.png", status="imported", prompt=3)
    return ctx


def test_copy_to_sqlite_and_back_is_verified_and_idempotent(filled, app, tmp_path):
    source = app.config["DATABASE_URL"]
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    steps = []
    report = copying.copy_store(source, target, lambda rows, total: steps.append((rows, total)))
    assert report.copied == {"prompts": 450, "api_tokens": 1, "imported_files": 1}
    assert sum(rows for rows, _ in steps) == 452 and steps[0][1] == 452
    again = copying.copy_store(source, target)
    assert again.thumbnails_checksum == report.thumbnails_checksum

    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("SELECT SUM(total_uses) FROM prompts").fetchone() == (451,)
    assert copy.execute(
        "SELECT COUNT(*) FROM prompts_fts WHERE prompts_fts MATCH 'prompt'"
    ).fetchone() == (450,)
    copy.close()

    moved = create_app({"DATABASE_URL": target}, instance_path=tmp_path / "moved")
    with moved.app_context():
        assert store.get_stats().total_uses == 451
        assert store.record_use("a new one").id == 451  # ids go on after the copied ones
        assert tokens.verify_token("nope") is None


def test_refuses_same_database_and_a_different_store(filled, app, tmp_path):
    source = app.config["DATABASE_URL"]
    with pytest.raises(InvalidInput, match="same database"):
        copying.copy_store(source, source)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    other_app = create_app({"DATABASE_URL": other}, instance_path=tmp_path / "other")
    with other_app.app_context():
        store.record_use("prompt 1")  # same text, but id 1 there holds it, id 2 here
        store.record_use("prompt 0")
    with pytest.raises(InvalidInput, match="different store"):
        copying.copy_store(source, other)


def test_copy_db_command(filled, runner, app, tmp_path):
    target = f"sqlite:///{tmp_path / 'cli.db'}"
    result = runner.invoke(args=["gallery", "copy-db", app.config["DATABASE_URL"], target])
    assert result.exit_code == 0, result.output
    assert "prompts: 450 row(s)" in result.output and "Verified" in result.output
    bad = runner.invoke(args=["gallery", "copy-db", "mysql://x/y", target])
    assert bad.exit_code == 1 and "unsupported database URL" in bad.output


@pytest.mark.postgres
def test_sqlite_to_postgres_and_new_ids_follow(filled, app, tmp_path):
    import uuid

    import psycopg

    from tests.conftest import POSTGRES_URL, with_search_path

    sqlite_url = f"sqlite:///{tmp_path / 'hop.db'}"
    copying.copy_store(app.config["DATABASE_URL"], sqlite_url)
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            target = with_search_path(POSTGRES_URL, schema)
            report = copying.copy_store(sqlite_url, target)
            assert report.copied["prompts"] == 450
            moved = create_app({"DATABASE_URL": target}, instance_path=tmp_path / "pg")
            with moved.app_context():
                assert texts(search_prompts("44 prompt")) == ["prompt 44"]
                analyzed = "SELECT COUNT(*) FROM pg_stats WHERE schemaname = current_schema()"
                assert gallery_db.ready().execute_sql(analyzed).fetchone()[0] > 0  # plans fit
                assert store.record_use("after the copy").id == 451
                assert store.get_stats().total_uses == 452
            moved.extensions["gallery_db"].close_all()
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_copied_thumbnails_keep_their_versions(ctx, app, tmp_path):
    first = store.record_use("pictured", image_data=png("red"))
    store.record_use("plain")
    target = f"sqlite:///{tmp_path / 'versions.db'}"
    copying.copy_store(app.config["DATABASE_URL"], target)
    store.record_use("pictured", image_data=png("blue"))  # a new picture, copied again
    second = store.get_prompt(first.id).thumbnail_version
    assert second != first.thumbnail_version
    copying.copy_store(app.config["DATABASE_URL"], target)
    moved = create_app({"DATABASE_URL": target}, instance_path=tmp_path / "versions")
    client = moved.test_client()
    html = client.get(f"/prompts/{first.id}").get_data(as_text=True)
    assert f"thumbnail?v={second}" in html
    assert client.get(f"/prompts/{first.id}/thumbnail").headers["ETag"] == f'"{second}"'
    moved.extensions["gallery_db"].close_all()
