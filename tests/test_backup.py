"""Backups taken while the gallery writes, and restores that check before they replace."""

import os
import sqlite3
import subprocess
import sys

import pytest

from gallery import backup as backups
from gallery import store
from gallery.errors import InvalidInput
from gallery.migrations import MIGRATIONS
from gallery.models import Prompt, Stats

pytestmark = pytest.mark.sqlite

WRITER = """
from gallery import store
from gallery.models import Prompt, Stats
i = 0
while True:
    store.record_use(f"busy prompt {i % 50}", model="w")
    i += 1
    if i == 30:
        print("writing", flush=True)
"""


def test_backup_while_another_process_writes(ctx, app, tmp_path):
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER],
        env=dict(os.environ, GALLERY_DATABASE_URL=app.config["DATABASE_URL"]),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "writing"
        copies = [tmp_path / f"copy{n}.db" for n in range(3)]
        for copy in copies:
            backups.backup(copy)
    finally:
        writer.kill()
        writer.wait()
    totals = []
    for copy in copies:
        connection = sqlite3.connect(copy)
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        prompts, uses = connection.execute(
            "SELECT COUNT(*), SUM(total_uses) FROM prompts"
        ).fetchone()
        fts = connection.execute("SELECT COUNT(*) FROM prompts_fts").fetchone()[0]
        assert prompts == fts and uses >= 30
        totals.append(uses)
        connection.close()
    assert totals == sorted(totals) and totals[-1] <= Stats.current().total_uses


def test_restore_replaces_the_store_and_keeps_the_old_one(ctx, runner, tmp_path):
    store.record_use("kept in the backup")
    backup = tmp_path / "backup.db"
    backups.backup(backup)
    store.record_use("made after the backup")
    result = runner.invoke(args=["gallery", "restore", str(backup), "--yes"])
    assert result.exit_code == 0, result.output
    assert [p.prompt_text for p in Prompt.top("recent")] == ["kept in the backup"]
    kept = result.output.split("kept as ")[1].strip().rstrip(".")
    old = sqlite3.connect(kept)
    assert old.execute("SELECT COUNT(*) FROM prompts").fetchone() == (2,)
    old.close()
    assert store.record_use("after the restore").id == 2  # the store carries on


def bad_files(tmp_path):
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(os.urandom(8192))
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE notes (x)").connection.close()
    newer = tmp_path / "newer.db"
    backups.backup(newer)
    connection = sqlite3.connect(newer)
    connection.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    connection.close()
    return {
        garbage: "not a SQLite database",
        other: "not a Prompt Gallery database",
        newer: "newer than this gallery",
        tmp_path / "missing.db": "is not a file",
    }


def test_restore_refuses_bad_files_and_changes_nothing(ctx, tmp_path):
    store.record_use("still here")
    for path, message in bad_files(tmp_path).items():
        with pytest.raises(InvalidInput, match=message):
            backups.restore(path)
    assert [p.prompt_text for p in Prompt.top("recent")] == ["still here"]


def test_restore_command_error_is_one_line(ctx, runner, tmp_path):
    result = runner.invoke(args=["gallery", "restore", str(tmp_path / "nope.db"), "--yes"])
    assert result.exit_code == 1 and "is not a file" in result.output


def png(color):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buffer, "PNG")
    return buffer.getvalue()


def etag(client, prompt_id):
    """The thumbnail's ETag, checked to be the SHA-256 of the bytes served."""
    import hashlib

    response = client.get(f"/prompts/{prompt_id}/thumbnail")
    assert response.headers["ETag"] == f'"{hashlib.sha256(response.data).hexdigest()}"'
    return response.headers["ETag"].strip('"')


def test_restored_thumbnails_keep_their_versions(ctx, client, tmp_path):
    prompt = store.record_use("pictured", image_data=png("red"))
    backed_up = etag(client, prompt.id)
    backup = tmp_path / "backup.db"
    backups.backup(backup)
    store.record_use("pictured", image_data=png("blue"))
    assert etag(client, prompt.id) != backed_up
    backups.restore(backup)
    assert etag(client, prompt.id) == backed_up
    assert Prompt.card(prompt.id).thumbnail_version == backed_up


def digests_migration():
    """How many migrations a store had before the thumbnail digests came."""
    from gallery.migrations import MIGRATIONS, THUMBNAIL_DIGESTS

    return next(i for i, step in enumerate(MIGRATIONS) if step["sqlite"] is THUMBNAIL_DIGESTS)


def test_a_backup_from_before_thumbnail_digests_gets_them_on_restore(ctx, client, tmp_path):
    prompt = store.record_use("pictured", image_data=png("red"))
    backed_up = etag(client, prompt.id)
    backup = tmp_path / "backup.db"
    backups.backup(backup)
    older = sqlite3.connect(backup)
    older.execute("DROP TABLE thumbnail_digests")
    older.execute("ALTER TABLE deleted_prompts DROP COLUMN thumbnail_digest")
    older.execute(f"PRAGMA user_version = {digests_migration()}")
    older.close()
    store.record_use("pictured", image_data=png("green"))
    backups.restore(backup)
    assert etag(client, prompt.id) == backed_up
    assert Prompt.card(prompt.id).thumbnail_version == backed_up


@pytest.mark.parametrize("version", [1, 2, 4, 7, 8, 12, 13, 15, len(MIGRATIONS) - 1])
def test_a_backup_from_an_older_version_comes_up_at_todays_with_its_data(
    app, client, runner, tmp_path, monkeypatch, version
):
    from tests.test_migrations import build_older_store, check_older_store_survived

    older = tmp_path / "older" / "backup.db"
    build_older_store(f"sqlite:///{older}", version, monkeypatch)
    with app.app_context():
        store.record_use("only in the live store")
    result = runner.invoke(args=["gallery", "restore", str(older), "--yes"])
    assert result.exit_code == 0, result.output
    live = sqlite3.connect(app.config["DATABASE_URL"].removeprefix("sqlite:///"))
    assert live.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
    live.close()
    check_older_store_survived(app, client, version)
    assert client.get("/api/prompts/search?q=live").json["items"] == []
