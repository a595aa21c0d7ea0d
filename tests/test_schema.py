"""The schema of a fresh database, read back and compared with the design document."""

import sqlite3

import pytest

from gallery import db as gallery_db
from gallery import migrations, store
from gallery.migrations import MIGRATIONS
from gallery.models import Prompt
from tests.conftest import SAMPLES

# Copied verbatim from the design document (shared/seed/000_66f4721bf85fd6d4.txt).
SEED_TABLE_SQL = (SAMPLES / "design_schema.sql").read_text()


def seed_table_sql():
    """The CREATE TABLE statement of the design document."""
    return SEED_TABLE_SQL


SEED_INDEXES = {
    # name: (unique, [(column, descending)])
    "idx_prompts_hash": (1, [("prompt_hash", 0)]),
    "idx_prompts_last_used": (0, [("last_used_at", 1)]),
    "idx_prompts_total_uses": (0, [("total_uses", 1)]),
    "idx_prompts_model": (0, [("model", 0)]),
}


def table_info(conn):
    return conn.execute("PRAGMA table_info(prompts)").fetchall()


def indexes(conn):
    found = {}
    for _, name, unique, origin, _ in conn.execute("PRAGMA index_list(prompts)"):
        if origin != "c":
            continue  # the UNIQUE constraint's own autoindex
        columns = [
            (row[2], row[3]) for row in conn.execute(f"PRAGMA index_xinfo({name})") if row[5]
        ]
        found[name] = (unique, columns)
    return found


def fresh_database(ctx):
    database = gallery_db.migrated_database()
    return sqlite3.connect(database.database)


@pytest.mark.sqlite
def test_columns_types_defaults_and_constraints_match_the_seed(ctx):
    reference = sqlite3.connect(":memory:")
    reference.execute(seed_table_sql())
    ours = fresh_database(ctx)
    assert table_info(ours) == table_info(reference)
    sql = ours.execute("SELECT sql FROM sqlite_master WHERE name = 'prompts'").fetchone()[0]
    assert "AUTOINCREMENT" in sql and "prompt_hash TEXT NOT NULL UNIQUE" in sql


@pytest.mark.sqlite
def test_the_seed_indexes_exist_under_their_names(ctx):
    found = indexes(fresh_database(ctx))
    for name, spec in SEED_INDEXES.items():
        assert found[name] == spec, name


def test_schema_creation_is_idempotent_and_versioned(ctx):
    database = gallery_db.migrated_database()
    assert migrations.schema_version(database) == len(MIGRATIONS)
    assert migrations.migrate(database) == len(MIGRATIONS)
    assert migrations.migrate(database) == len(MIGRATIONS)


def test_init_db_command(runner, app):
    result = runner.invoke(args=["gallery", "init-db"])
    assert result.exit_code == 0, result.output
    assert f"schema version {len(MIGRATIONS)}" in result.output


@pytest.mark.sqlite
def test_sqlite_connection_settings(ctx):
    database = gallery_db.migrated_database()
    with database.connection_context():
        pragma = lambda name: database.execute_sql(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("busy_timeout") == 10_000  # DATABASE_TIMEOUT
        assert pragma("foreign_keys") == 1
        assert pragma("synchronous") == 1  # NORMAL


def test_requests_open_and_close_their_connection(app, client):
    database = app.extensions["gallery_db"]

    @app.get("/_probe")
    def probe():
        return {"open": not database.is_closed()}

    assert client.get("/_probe").json == {"open": True}
    assert database.is_closed()


@pytest.mark.sqlite
def test_requests_reuse_one_warm_sqlite_connection(app, client):
    database = app.extensions["gallery_db"]
    seen = []

    @app.get("/_connection")
    def connection():
        seen.append(database.connection())
        return {}

    client.get("/_connection")
    client.get("/_connection")
    # Kept as identity: a warm page cache is speed alone, which no user sees in a test.
    assert seen[0] is seen[1]  # handed back to the pool, not closed: its page cache stays


def test_a_request_that_leaves_a_transaction_open_changes_nothing(app, client):
    database = app.extensions["gallery_db"]
    with app.app_context():
        kept = store.record_use("counted once")

    @app.get("/_leave_transaction_open")
    def leave_open():
        database.execute_sql("BEGIN")
        database.execute_sql("UPDATE prompts SET total_uses = 5")
        return {"uses": Prompt.card(kept.id).total_uses}

    @app.get("/_uses")
    def uses():
        return {"uses": Prompt.card(kept.id).total_uses}

    assert client.get("/_leave_transaction_open").json == {"uses": 5}
    # The next request, on the connection handed back, sees the store as it was and writes.
    assert client.get("/_uses").json == {"uses": 1}
    with app.app_context():
        assert store.record_use("counted once").total_uses == 2


def test_the_digest_migration_gives_existing_thumbnails_their_digests(
    database_url, tmp_path, monkeypatch
):
    import hashlib

    from gallery import create_app, store
    from gallery.migrations import THUMBNAIL_DIGESTS

    before = next(i for i, step in enumerate(MIGRATIONS) if step["sqlite"] is THUMBNAIL_DIGESTS)

    database = gallery_db.open_database(database_url, pool_size=1)
    kept, trashed = b"RIFF kept picture", b"RIFF trashed picture"
    try:
        monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS[:before])  # a store from before
        assert migrations.migrate(database) == before
        monkeypatch.undo()
        p = database.param
        database.execute_sql(
            "INSERT INTO prompts (prompt_text, prompt_hash, thumbnail_data, thumbnail_mime) "
            f"VALUES ('kept', 'h1', {p}, 'image/webp'), ('plain', 'h2', NULL, NULL)",
            (kept,),
        )
        database.execute_sql(
            "INSERT INTO deleted_prompts (id, prompt_text, prompt_hash, total_uses, "
            "first_used_at, last_used_at, thumbnail_data, thumbnail_mime, deleted_at) "
            f"VALUES (7, 'trashed', 'h3', 1, {p}, {p}, {p}, 'image/webp', {p})",
            ("2026-01-01 00:00:00", "2026-01-01 00:00:00", trashed, "2099-01-01 00:00:00"),
        )
        assert migrations.migrate(database) == len(MIGRATIONS)
    finally:
        if hasattr(database, "close_all"):
            database.close_all()
        database.close()
    app = create_app({"DATABASE_URL": database_url}, instance_path=tmp_path / "instance")
    client = app.test_client()
    with app.app_context():
        assert client.get("/prompts/1/thumbnail").headers["ETag"] == (
            f'"{hashlib.sha256(kept).hexdigest()}"'
        )
        back = store.restore_prompt(7)
        assert back.thumbnail_version == hashlib.sha256(trashed).hexdigest()
    app.extensions["gallery_db"].close_all()
