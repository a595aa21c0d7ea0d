"""Migrations: a store made from the design document's own schema is adopted, rows kept."""

import hashlib
import io
import sqlite3
import unicodedata
from pathlib import Path

import pytest
from PIL import Image

from gallery import create_app, tokens
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
