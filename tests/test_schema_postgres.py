"""The PostgreSQL schema: the seed's columns in PostgreSQL's natural types, the seed's indexes."""

import pytest

from gallery import backup as backups
from gallery import create_app, migrations, store
from gallery import db as gallery_db
from gallery.errors import InvalidInput
from gallery.migrations import MIGRATIONS
from gallery.models import Stats

pytestmark = pytest.mark.postgres

SEED_COLUMNS = [
    ("id", "bigint", "NO"),
    ("prompt_text", "text", "NO"),
    ("prompt_hash", "text", "NO"),
    ("total_uses", "integer", "NO"),
    ("first_used_at", "timestamp with time zone", "NO"),
    ("last_used_at", "timestamp with time zone", "NO"),
    ("model", "text", "YES"),
    ("thumbnail_data", "bytea", "YES"),
    ("thumbnail_mime", "text", "YES"),
    ("thumbnail_width", "integer", "YES"),
    ("thumbnail_height", "integer", "YES"),
]


def rows(sql, *params):
    return gallery_db.migrated_database().execute_sql(sql, params).fetchall()


def test_columns_and_types(ctx):
    columns = rows(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_name = 'prompts' AND table_schema = current_schema() "
        "ORDER BY ordinal_position"
    )
    assert columns == SEED_COLUMNS
    defaults = dict(
        rows(
            "SELECT column_name, column_default FROM information_schema.columns "
            "WHERE table_name = 'prompts' AND table_schema = current_schema()"
        )
    )
    assert defaults["total_uses"] == "1"
    assert defaults["first_used_at"] == defaults["last_used_at"] == "CURRENT_TIMESTAMP"


def test_seed_indexes(ctx):
    indexes = dict(
        rows(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'prompts' "
            "AND schemaname = current_schema()"
        )
    )
    assert "UNIQUE INDEX idx_prompts_hash" in indexes["idx_prompts_hash"]
    assert indexes["idx_prompts_last_used"].endswith("(last_used_at DESC)")
    assert indexes["idx_prompts_total_uses"].endswith("(total_uses DESC)")
    assert indexes["idx_prompts_model"].endswith("(model)")
    assert "idx_prompts_fts" not in indexes  # search reads prompt_search (migration 10)


def test_search_documents_follow_the_prompts(ctx):
    from gallery.search import search_prompts

    def found(query):
        return [p.prompt_text for p in search_prompts(query).items]

    indexes = dict(
        rows(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'prompt_search' "
            "AND schemaname = current_schema()"
        )
    )
    # Kept as internals: the index and the statistics make search fast, no result shows them.
    assert "gin (document)" in indexes["idx_prompt_search_document"]
    # Deep word statistics, so rare words are estimated rare and found through the index.
    target = "SELECT attstattarget FROM pg_attribute WHERE attrelid = 'prompt_search'::regclass "
    assert rows(target + "AND attname = 'document'") == [(10000,)]
    kept = store.record_use("Crème brûlée on a <b>plate</b>")
    store.record_use("Crème brûlée on a <b>plate</b>")  # a use again: found once still
    gone = store.record_use("a passing thought")
    assert found("brulee plate") == found("b plate") == ["Crème brûlée on a <b>plate</b>"]
    rows("UPDATE prompts SET prompt_text = 'a lighthouse' WHERE id = %s RETURNING id", kept.id)
    store.delete_prompt(gone.id)
    assert found("lighthouse") == ["a lighthouse"]
    assert found("brulee") == found("passing") == []  # the old words and the deleted prompt
    assert found("a") == ["a lighthouse"]


def test_migration_10_fills_search_documents_for_existing_prompts(
    database_url, tmp_path, monkeypatch
):
    from gallery.search import search_prompts

    database = gallery_db.open_database(database_url, pool_size=1)
    try:
        monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS[:9])  # a store from before
        assert migrations.migrate(database) == 9
        monkeypatch.undo()
        database.execute_sql(
            "INSERT INTO prompts (prompt_text, prompt_hash) VALUES "
            "('Crème brûlée at dawn', 'h1'), ('a red fox', 'h2')"
        )
        assert migrations.migrate(database) == len(MIGRATIONS)
    finally:
        database.close_all()
    app = create_app({"DATABASE_URL": database_url}, instance_path=tmp_path / "instance")
    with app.app_context():
        assert [p.prompt_text for p in search_prompts("brul").items] == ["Crème brûlée at dawn"]
        assert [p.prompt_text for p in search_prompts("red fo").items] == ["a red fox"]
    app.extensions["gallery_db"].close_all()


def test_migrations_are_versioned_and_idempotent(ctx):
    database = gallery_db.migrated_database()
    assert migrations.schema_version(database) == len(MIGRATIONS)
    assert migrations.migrate(database) == len(MIGRATIONS)


def test_times_are_stored_as_utc_instants(ctx):
    store.record_use("tz", used_at="2026-05-01T14:00:00+02:00")
    (value,) = rows("SELECT last_used_at AT TIME ZONE 'UTC' FROM prompts")[0]
    assert str(value) == "2026-05-01 12:00:00"


def test_database_size_and_backup_advice(ctx):
    assert Stats.current().database_bytes > 0
    with pytest.raises(InvalidInput, match="pg_dump"):
        backups.backup("/tmp/never-written.db")
