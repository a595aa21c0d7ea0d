"""Migrations: a store made from the design document's own schema is adopted, rows kept."""

import hashlib
import io
import sqlite3
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from gallery import create_app, migrations, store, tokens
from gallery import db as gallery_db
from gallery.migrations import MIGRATIONS
from gallery.normalize import prompt_hash
from tests.conftest import ENGINE, close_pool
from tests.test_schema import seed_table_sql


def seed_style_hash(text):
    """The hash the design document describes, with lower() where we casefold."""
    return hashlib.sha256(
        " ".join(unicodedata.normalize("NFKC", text).lower().split()).encode()
    ).hexdigest()


def webp():
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "gold").save(buffer, "WEBP")
    return buffer.getvalue()


THUMBNAIL = webp()
ROWS = [
    # prompt_text, prompt_hash, total_uses, model, used at, thumbnail
    (
        "A sunset over the hills",
        prompt_hash("A sunset over the hills"),
        3,
        "sdxl",
        "2026-01-02 03:04:05",
        None,
    ),
    ("Straße bei Nacht", seed_style_hash("Straße bei Nacht"), 1, None, "2025-06-01T08:00:00", None),
    ("a golden cat", prompt_hash("a golden cat"), 2, "", "2026-03-04 05:06:07", THUMBNAIL),
]


def connect(url):
    """A plain driver connection to the test database (no gallery code)."""
    if ENGINE == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return sqlite3.connect(path)
    import psycopg

    return psycopg.connect(url)


def build_seed_store(url, with_indexes):
    """The seed's CREATE TABLE (in PostgreSQL's spelling there), rows by plain SQL."""
    create = seed_table_sql()
    indexes = [
        "CREATE UNIQUE INDEX idx_prompts_hash ON prompts (prompt_hash)",
        "CREATE INDEX idx_prompts_last_used ON prompts (last_used_at DESC)",
        "CREATE INDEX idx_prompts_total_uses ON prompts (total_uses DESC)",
        "CREATE INDEX idx_prompts_model ON prompts (model)",
    ]
    param = "?"
    if ENGINE == "postgres":
        create = create.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "SERIAL PRIMARY KEY")
        create = create.replace("BLOB", "BYTEA")
        param = "%s"
    connection = connect(url)
    with connection:
        connection.execute(create)
        for statement in indexes if with_indexes else []:
            connection.execute(statement)
        for text, digest, uses, model, used, thumbnail in ROWS:
            connection.execute(
                "INSERT INTO prompts (prompt_text, prompt_hash, total_uses, model, first_used_at,"
                " last_used_at, thumbnail_data, thumbnail_mime, thumbnail_width, thumbnail_height)"
                f" VALUES ({', '.join([param] * 10)})",
                (text, digest, uses, model, used, used, thumbnail)
                + (("image/webp", 40, 30) if thumbnail else (None, None, None)),
            )
    connection.close()


@pytest.mark.parametrize("with_indexes", [False, True])
def test_a_store_in_the_seed_shape_is_adopted_with_every_row(tmp_path, database_url, with_indexes):
    build_seed_store(database_url, with_indexes)
    app = create_app(
        {"SECRET_KEY": "test", "DATABASE_URL": database_url}, instance_path=tmp_path / "instance"
    )
    client = app.test_client()
    try:
        for page in ("/", "/stats", "/api/prompts/stats/overview"):
            assert client.get(page).status_code == 200, page
        listed = client.get("/api/prompts/?sort=oldest&limit=100").json["items"]
        assert [(p["prompt_text"], p["total_uses"], p["model"]) for p in listed] == [
            ("Straße bei Nacht", 1, None),
            ("A sunset over the hills", 3, "sdxl"),
            ("a golden cat", 2, None),
        ]
        assert listed[0]["first_used_at"] == "2025-06-01T08:00:00+00:00"
        found = client.get("/api/prompts/search?q=sunset").json["items"]
        assert [p["prompt_text"] for p in found] == ["A sunset over the hills"]
        cat = listed[2]
        assert client.get(f"/prompts/{cat['id']}/thumbnail").data == THUMBNAIL

        with app.app_context():
            auth = {"Authorization": f"Bearer {tokens.create_token('adopted')}"}
        # Another use of each finds its row, also the one the seed hashed differently.
        for text, row in [("a SUNSET over the hills", listed[1]), ("STRASSE bei nacht", listed[0])]:
            again = client.post("/api/prompts/", json={"prompt_text": text}, headers=auth)
            assert again.status_code == 200 and again.json["id"] == row["id"]
            assert again.json["total_uses"] == row["total_uses"] + 1
        stats = client.get("/api/prompts/stats/overview").json
        assert (stats["total_prompts"], stats["total_uses"], stats["with_thumbnail"]) == (3, 8, 1)
    finally:
        close_pool(app)


def test_a_foreign_prompts_table_is_a_clear_error_and_is_left_alone(tmp_path, database_url):
    connection = connect(database_url)
    with connection:
        connection.execute("CREATE TABLE prompts (id INTEGER PRIMARY KEY, body TEXT)")
        connection.execute("INSERT INTO prompts (id, body) VALUES (1, 'not ours')")
    app = create_app(
        {"SECRET_KEY": "test", "DATABASE_URL": database_url}, instance_path=tmp_path / "instance"
    )
    try:
        response = app.test_client().get("/api/prompts/")
        assert response.status_code == 500
        assert "not a Prompt Gallery store" in response.json["error"]["message"]
        result = app.test_cli_runner().invoke(args=["gallery", "init-db"])
        assert result.exit_code == 1 and result.output.startswith("Error: the database has")
    finally:
        close_pool(app)
        connection.close()
    with connect(database_url) as connection:
        assert connection.execute("SELECT body FROM prompts").fetchall() == [("not ours",)]


# A store at every older version, filled by plain SQL in that version's tables.
OLD_PICTURE, OLD_TRASHED = webp(), b"RIFF trashed picture"
OLD_PROMPTS = [
    # id (as the store numbers them), text, total_uses, model, first used, last used, thumbnail
    (1, "A sunset over the hills", 3, "sdxl", "2025-01-02 03:04:05", "2026-01-02 03:04:05", None),
    (2, "Straße bei Nacht", 1, None, "2025-02-01 08:00:00", "2025-02-01 08:00:00", None),
    (3, "a golden cat", 2, "sdxl", "2025-03-04 05:06:07", "2026-03-04 05:06:07", OLD_PICTURE),
]
OLD_TOKEN = "pg_from-an-older-version"
OLDER_VERSIONS = range(1, len(MIGRATIONS))


def old_time(text):
    """A time as the driver takes it: text in SQLite, an instant in PostgreSQL."""
    if ENGINE == "sqlite":
        return text
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def tables(database):
    if ENGINE == "sqlite":
        rows = database.execute_sql("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        rows = database.execute_sql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
    return {name for (name,) in rows.fetchall()}


def build_older_store(url, version, monkeypatch):
    """A store migrated to `version` only, with prompts (some pictured), a token, an
    imported file and a trashed prompt wherever that version has their tables."""
    database = gallery_db.open_database(url, pool_size=1)
    try:
        with monkeypatch.context() as patch:
            patch.setattr(migrations, "MIGRATIONS", MIGRATIONS[:version])
            assert migrations.migrate(database) == version
        have = tables(database)
        p = database.param
        with database.atomic():
            for id_, text, uses, model, first, last, picture in OLD_PROMPTS:
                database.execute_sql(
                    "INSERT INTO prompts (prompt_text, prompt_hash, total_uses, model, "
                    "first_used_at, last_used_at, thumbnail_data, thumbnail_mime, "
                    f"thumbnail_width, thumbnail_height) VALUES ({', '.join([p] * 10)})",
                    (text, prompt_hash(text), uses, model, old_time(first), old_time(last))
                    + ((picture, "image/webp", 40, 30) if picture else (None,) * 4),
                )
                if picture and "thumbnail_digests" in have:
                    database.execute_sql(
                        f"INSERT INTO thumbnail_digests (id, digest) VALUES ({p}, {p})",
                        (id_, hashlib.sha256(picture).hexdigest()),
                    )
            if "api_tokens" in have:
                database.execute_sql(
                    f"INSERT INTO api_tokens (name, token_hash) VALUES ('old', {p})",
                    (tokens.digest(OLD_TOKEN),),
                )
            if "imported_files" in have:
                database.execute_sql(
                    "INSERT INTO imported_files (sha256, path, status, prompt_id) "
                    "VALUES ('f1', '/pictures/cat.png', 'imported', 3)"
                )
            if "deleted_prompts" in have:
                digest = "thumbnail_digest" in str(MIGRATIONS[:version])
                database.execute_sql(
                    "INSERT INTO deleted_prompts (id, prompt_text, prompt_hash, total_uses, "
                    "first_used_at, last_used_at, thumbnail_data, thumbnail_mime, deleted_at"
                    f"{', thumbnail_digest' if digest else ''}) VALUES "
                    f"(9, 'a trashed owl', {p}, 4, {p}, {p}, {p}, 'image/webp', {p}"
                    f"{f', {p}' if digest else ''})",
                    (
                        prompt_hash("a trashed owl"),
                        old_time("2025-05-05 05:05:05"),
                        old_time("2025-05-05 05:05:05"),
                        OLD_TRASHED,
                        old_time("2099-01-01 00:00:00"),  # still within the undo window
                    )
                    + ((hashlib.sha256(OLD_TRASHED).hexdigest(),) if digest else ()),
                )
    finally:
        if hasattr(database, "close_all"):
            database.close_all()
        database.close()


def served_etag(client, prompt_id):
    """A thumbnail's ETag, checked to be the SHA-256 of the bytes served."""
    response = client.get(f"/prompts/{prompt_id}/thumbnail")
    assert response.status_code == 200
    assert response.headers["ETag"] == f'"{hashlib.sha256(response.data).hexdigest()}"'
    return response.data


def check_older_store_survived(app, client, version):
    """Every row built by build_older_store is there at today's version and behaves."""
    for page in ("/", "/stats", "/prompts/1", "/prompts/3", "/?q=cat"):
        assert client.get(page).status_code == 200, page
    assert "a golden cat" in client.get("/?q=golden").get_data(as_text=True)
    expected = {
        "oldest": [1, 2, 3],
        "recent": [3, 1, 2],
        "popular": [1, 3, 2],
    }
    for sort, ids in expected.items():
        listed = client.get(f"/api/prompts/?sort={sort}&limit=100").json["items"]
        assert [item["id"] for item in listed] == ids, sort
    by_id = {item["id"]: item for item in listed}
    assert [
        (by_id[i]["prompt_text"], by_id[i]["total_uses"], by_id[i]["model"]) for i in (1, 2, 3)
    ] == [(text, uses, model) for _, text, uses, model, *_ in OLD_PROMPTS]
    assert by_id[1]["first_used_at"] == "2025-01-02T03:04:05+00:00"
    assert by_id[3]["thumbnail"]["bytes"] == len(OLD_PICTURE)
    assert by_id[1]["thumbnail"] is None
    for query, ids in [("sunset", [1]), ("nacht", [2]), ("straße", [2]), ("hills cat", [])]:
        found = client.get(f"/api/prompts/search?q={query}").json["items"]
        assert [item["id"] for item in found] == ids, query
    assert served_etag(client, 3) == OLD_PICTURE
    assert client.get("/prompts/1/thumbnail").status_code == 404
    stats = client.get("/api/prompts/stats/overview").json
    assert (stats["total_prompts"], stats["total_uses"], stats["with_thumbnail"]) == (3, 6, 1)
    assert {m["model"]: (m["prompts"], m["uses"]) for m in stats["models"]} == {
        None: (1, 1),
        "sdxl": (2, 5),
    }
    with app.app_context():
        token = OLD_TOKEN if version >= 4 else tokens.create_token("new")
        if version >= 7:
            back = store.restore_prompt(9)
            assert back.prompt_text == "a trashed owl" and back.total_uses == 4
            assert served_etag(client, 9) == OLD_TRASHED
    # A token from before scopes still records, and a new use finds the old row.
    again = client.post(
        "/api/prompts/",
        json={"prompt_text": "a  SUNSET over the hills"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert again.status_code == 200, again.json
    assert (again.json["id"], again.json["total_uses"]) == (1, 4)
    new = client.post(
        "/api/prompts/",
        json={"prompt_text": "a new owl"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert new.status_code == 201 and new.json["id"] not in (1, 2, 3, 9)
    owls = client.get("/api/prompts/search?q=owl").json["items"]
    assert {item["id"] for item in owls} == (
        {new.json["id"], 9} if version >= 7 else {new.json["id"]}
    )


@pytest.mark.parametrize("version", OLDER_VERSIONS)
def test_a_store_at_every_older_version_upgrades_with_every_row(
    tmp_path, database_url, monkeypatch, version
):
    build_older_store(database_url, version, monkeypatch)
    app = create_app(
        {"SECRET_KEY": "test", "DATABASE_URL": database_url}, instance_path=tmp_path / "instance"
    )
    try:
        check_older_store_survived(app, app.test_client(), version)
    finally:
        close_pool(app)
