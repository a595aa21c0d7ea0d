"""The JSON API: every endpoint, every error status, tokens, both upload forms."""

import base64
import json
from datetime import timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gallery import store, tokens
from gallery.models import Prompt, Stats
from tests.conftest import SAMPLES


@pytest.fixture
def token(ctx):
    return tokens.create_token("tests", ["admin"])


@pytest.fixture
def auth(token):
    return {"Authorization": f"Bearer {token}"}


def sample(name):
    return (SAMPLES / "photos" / name).read_bytes()


def count():
    return Stats.current().total_prompts


def assert_error(response, status, field=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json, response.get_data(as_text=True)
    error = response.json["error"]
    assert error["code"] and error["message"]
    if field:
        assert error["field"] == field
    return error


def test_record_json_new_then_again(client, auth):
    body = {"prompt_text": "A lighthouse at dusk", "model": "sdxl"}
    first = client.post("/api/prompts/", json=body, headers=auth)
    assert first.status_code == 201
    record = first.json
    assert record["created"] is True and record["total_uses"] == 1
    assert record["first_used_at"].endswith("+00:00")
    assert record["thumbnail"] is None and record["thumbnail_updated"] is False
    again = client.post("/api/prompts/", json={"prompt_text": "a LIGHTHOUSE at dusk"}, headers=auth)
    assert again.status_code == 200
    assert again.json["id"] == record["id"] and again.json["total_uses"] == 2


def test_record_json_with_base64_image(client, auth):
    image = base64.b64encode(sample("chelsea.png")).decode()
    response = client.post(
        "/api/prompts/",
        json={"prompt_text": "a cat", "image": f"data:image/png;base64,{image}"},
        headers=auth,
    )
    assert response.status_code == 201
    thumbnail = response.json["thumbnail"]
    assert response.json["thumbnail_updated"] is True
    assert thumbnail["mime"] == "image/webp" and thumbnail["width"] == 451
    fetched = client.get(thumbnail["url"])
    assert fetched.status_code == 200 and len(fetched.data) == thumbnail["bytes"]


def test_record_multipart_with_image_file(client, auth):
    data = {
        "prompt_text": "a horse",
        "model": "flux",
        "used_at": "2026-01-02T03:04:05Z",
        "image": (__import__("io").BytesIO(sample("horse.png")), "horse.png"),
    }
    response = client.post("/api/prompts/", data=data, headers=auth)
    assert response.status_code == 201
    assert response.json["last_used_at"] == "2026-01-02T03:04:05+00:00"
    assert response.json["thumbnail"]["width"] == 400


def test_unreadable_image_still_records(client, auth):
    body = {"prompt_text": "bad image", "image": base64.b64encode(b"not an image").decode()}
    response = client.post("/api/prompts/", json=body, headers=auth)
    assert response.status_code == 201
    assert response.json["thumbnail_updated"] is False
    assert "not an image" in response.json["thumbnail_error"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt_text": ""}, "prompt_text"),
        ({"prompt_text": "   "}, "prompt_text"),
        ({"prompt_text": 5}, "prompt_text"),
        ({}, "prompt_text"),
        ({"prompt_text": "x", "image": "***"}, "image"),
        ({"prompt_text": "x", "image": 7}, "image"),
        ({"prompt_text": "x", "used_at": "soon"}, "used_at"),
        ({"prompt_text": "x", "model": ["a"]}, "model"),
    ],
)
def test_record_bad_bodies_are_400(client, auth, body, field):
    assert_error(client.post("/api/prompts/", json=body, headers=auth), 400, field)
    assert count() == 0


def test_record_body_not_an_object(client, auth):
    assert_error(client.post("/api/prompts/", json=[1, 2], headers=auth), 400)
    bad = client.post("/api/prompts/", data="{", content_type="application/json", headers=auth)
    assert_error(bad, 400)


def test_unsupported_content_type_is_415(client, auth):
    response = client.post("/api/prompts/", data="prompt", content_type="text/plain", headers=auth)
    assert_error(response, 415)


def test_too_large_is_413(client, auth, app):
    app.config["MAX_IMAGE_BYTES"] = 1000
    image = base64.b64encode(b"x" * 5000).decode()
    body = {"prompt_text": "big", "image": image}
    assert_error(client.post("/api/prompts/", json=body, headers=auth), 413, "image")
    app.config["MAX_CONTENT_LENGTH"] = 2000
    assert_error(client.post("/api/prompts/", json={"prompt_text": "x" * 5000}, headers=auth), 413)
    assert count() == 0


def test_writes_need_a_valid_token(client, token):
    wrong = {"Authorization": "Bearer pg_wrong"}
    basic = {"Authorization": f"Basic {token}"}
    store.record_use("keep")
    for method, url, kwargs in [
        ("post", "/api/prompts/", {"json": {"prompt_text": "new"}}),
        ("delete", "/api/prompts/1", {}),
        ("post", "/api/prompts/cleanup", {"json": {"without_thumbnail": True}}),
    ]:
        missing = getattr(client, method)(url, **kwargs)
        assert_error(missing, 401)
        assert missing.headers["WWW-Authenticate"].startswith("Bearer")
        assert_error(getattr(client, method)(url, headers=wrong, **kwargs), 403)
        assert_error(getattr(client, method)(url, headers=basic, **kwargs), 403)
    assert [p.prompt_text for p in Prompt.top("recent")] == ["keep"]


def test_a_browser_session_is_not_an_api_credential(client, app, ctx):
    with client.session_transaction() as session:
        session["admin"] = True
        session["csrf_token"] = "t"
    app.config["ADMIN_PASSWORD_HASH"] = "x"
    store.record_use("keep")
    response = client.delete("/api/prompts/1", headers={"X-CSRF-Token": "t"})
    assert_error(response, 401)
    assert count() == 1


def test_revoked_token_is_refused(client, token):
    tokens.revoke_token("tests")
    response = client.post(
        "/api/prompts/", json={"prompt_text": "x"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert_error(response, 403)


def test_reads_can_require_a_token(client, app, auth):
    app.config["API_READ_REQUIRES_TOKEN"] = True
    assert_error(client.get("/api/prompts/"), 401)
    assert client.get("/api/prompts/", headers=auth).status_code == 200
    assert client.get("/api/openapi.json").status_code == 200


def filled(n=7):
    for i in range(n):
        store.record_use(f"mountain lake {i}", model="sdxl" if i % 2 else "flux")
        for _ in range(i):
            store.record_use(f"mountain lake {i}")


def test_list_pages_with_cursor(client, ctx):
    filled()
    seen, url = [], "/api/prompts/?limit=3&sort=popular"
    while True:
        body = client.get(url).json
        seen += [item["total_uses"] for item in body["items"]]
        if not body["next_cursor"]:
            break
        url = f"/api/prompts/?limit=3&sort=popular&cursor={body['next_cursor']}"
    assert seen == sorted(seen, reverse=True) and len(seen) == 7


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/prompts/?limit=ten", "limit"),
        ("/api/prompts/?limit=0", "limit"),
        ("/api/prompts/?limit=101", "limit"),
        ("/api/prompts/?sort=name", "sort"),
        ("/api/prompts/?cursor=abc", "cursor"),
        ("/api/prompts/search", "q"),
        ("/api/prompts/search?q=x&sort=name", "sort"),
        ("/api/prompts/search?q=x&cursor=zz", "cursor"),
        ("/api/prompts/popular?limit=-1", "limit"),
        ("/api/prompts/?model=a%00b", "model"),
    ],
)
def test_bad_parameters_are_400(client, ctx, url, field):
    assert_error(client.get(url), 400, field)


def test_search(client, ctx):
    filled()
    store.record_use("a red fox")
    body = client.get("/api/prompts/search?q=mount&model=sdxl&limit=2").json
    assert len(body["items"]) == 2 and body["next_cursor"]
    assert all(item["model"] == "sdxl" for item in body["items"])
    assert client.get("/api/prompts/search?q=zebra").json == {"items": [], "next_cursor": None}
    assert client.get("/api/prompts/search?q=%22NEAR(%20-*").status_code == 200


def test_popular_recent_get_models(client, ctx):
    filled()
    popular = client.get("/api/prompts/popular?limit=2").json["items"]
    assert [p["total_uses"] for p in popular] == [7, 6]
    recent = client.get("/api/prompts/recent?limit=1&model=flux").json["items"]
    assert recent[0]["model"] == "flux"
    one = client.get(f"/api/prompts/{popular[0]['id']}").json
    assert one == popular[0]
    models = client.get("/api/models").json["items"]
    assert {m["model"]: m["prompts"] for m in models} == {"flux": 4, "sdxl": 3}


def test_not_found_and_method_not_allowed_are_json(client, ctx, auth):
    assert_error(client.get("/api/prompts/99"), 404)
    assert_error(client.get("/api/prompts/99/thumbnail"), 404)
    assert_error(client.get("/api/nothing-here"), 404)
    assert_error(client.delete("/api/prompts/99", headers=auth), 404)
    response = client.put("/api/prompts/1", headers=auth)
    assert_error(response, 405)
    assert "GET" in response.headers["Allow"]


def test_thumbnail_caching(client, auth):
    image = base64.b64encode(sample("flower.webp")).decode()
    record = client.post(
        "/api/prompts/", json={"prompt_text": "flower", "image": image}, headers=auth
    ).json
    response = client.get(record["thumbnail"]["url"])
    assert "immutable" in response.headers["Cache-Control"]
    again = client.get(
        record["thumbnail"]["url"], headers={"If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304


def test_delete(client, auth):
    store.record_use("gone soon")
    assert client.delete("/api/prompts/1", headers=auth).json == {"deleted": 1}
    assert count() == 0


def test_stats_overview(client, ctx):
    filled(3)
    stats = client.get("/api/prompts/stats/overview").json
    assert stats["total_prompts"] == 3 and stats["total_uses"] == 6
    assert stats["first_activity"].endswith("+00:00")
    assert {m["model"] for m in stats["models"]} == {"sdxl", "flux"}


def test_cleanup_dry_run_and_real(client, auth):
    store.record_use("no thumbnail")
    dry = client.post(
        "/api/prompts/cleanup", json={"without_thumbnail": True, "dry_run": True}, headers=auth
    )
    assert dry.json["count"] == 1 and dry.json["dry_run"] is True and count() == 1
    real = client.post("/api/prompts/cleanup", json={"without_thumbnail": True}, headers=auth)
    assert {k: real.json[k] for k in ("count", "dry_run", "examples")} == {
        "count": 1,
        "dry_run": False,
        "examples": [{"id": 1, "prompt_text": "no thumbnail"}],
    }
    assert count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"without_thumbnail": "yes"},
        {"unused_for_days": "10"},
        {"unused_for_days": 0},
        {"dry_run": 1, "without_thumbnail": True},
    ],
)
def test_cleanup_bad_options(client, auth, body):
    store.record_use("survives")
    assert_error(client.post("/api/prompts/cleanup", json=body, headers=auth), 400)
    assert count() == 1


def test_token_commands(runner, ctx):
    result = runner.invoke(args=["gallery", "create-token", "worker-1"])
    assert result.exit_code == 0
    token = result.stdout.strip().splitlines()[0]
    assert token.startswith("pg_") and tokens.verify_token(token).name == "worker-1"
    again = runner.invoke(args=["gallery", "create-token", "worker-1"])
    assert again.exit_code == 1 and "already exists" in again.output
    listed = runner.invoke(args=["gallery", "list-tokens"]).output
    assert "worker-1" in listed and "live" in listed and token not in listed
    assert runner.invoke(args=["gallery", "revoke-token", "worker-1"]).exit_code == 0
    assert tokens.verify_token(token) is None
    assert "revoked" in runner.invoke(args=["gallery", "list-tokens"]).output
    missing = runner.invoke(args=["gallery", "revoke-token", "worker-1"])
    assert missing.exit_code == 1 and "no live token" in missing.output
    assert runner.invoke(args=["gallery", "create-token", "worker-1"]).exit_code == 0


def test_tokens_are_stored_only_as_hashes(ctx, token):
    from gallery.tokens import ApiToken

    stored = ApiToken.get()
    assert token not in stored.token_hash and len(stored.token_hash) == 64


def test_record_reads_the_prompt_from_the_image(client, auth, samples):
    image = (samples / "ai-metadata" / "automatic1111_cropped.png").read_bytes()
    response = client.post(
        "/api/prompts/",
        data={"image": (__import__("io").BytesIO(image), "duck.png")},
        headers=auth,
    )
    assert response.status_code == 201
    assert response.json["prompt_text"] == "photo of a duck"
    assert response.json["model"] == "realistic_realisticVisionV20_v20"


def test_record_image_without_metadata_prompt_is_400(client, auth):
    body = {"image": base64.b64encode(sample("chelsea.png")).decode()}
    error = assert_error(client.post("/api/prompts/", json=body, headers=auth), 400, "prompt_text")
    assert "no prompt in its metadata" in error["message"]
    assert count() == 0


DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"prompt_text": "a \\ud800 lone surrogate"}', "prompt_text"),
        ('{"prompt_text": "\\udfff"}', "prompt_text"),
        ('{"prompt_text": "fine", "model": "sd\\udc00xl"}', "model"),
        ('{"prompt_text": "fine", "used_at": "0001-01-01T00:00:00+14:00"}', "used_at"),
        ('{"prompt_text": "fine", "used_at": "9999-12-31T23:59:59-14:00"}', "used_at"),
        ('{"prompt_text": "fine", "used_at": "\\ud800"}', "used_at"),
        (f'{{"prompt_text": {DEEP}}}', None),
        (DEEP, None),
    ],
)
def test_record_hostile_json_is_400_naming_the_field(client, auth, raw, field):
    response = client.post("/api/prompts/", data=raw, content_type="application/json", headers=auth)
    error = assert_error(response, 400, field)
    if field is None:
        assert "nested too deeply" in error["message"]
    assert count() == 0


def test_cleanup_with_deeply_nested_json_is_400(client, auth):
    store.record_use("survives")
    response = client.post(
        "/api/prompts/cleanup", data=DEEP, content_type="application/json", headers=auth
    )
    assert "nested too deeply" in assert_error(response, 400)["message"]
    assert count() == 1


def test_multipart_fields_that_are_not_utf8_are_never_500(client, auth):
    boundary = "b0undary"
    parts = [("prompt_text", b"bad \xed\xa0\x80 bytes \xff"), ("model", b"\xed\xbf\xbf")]
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value
        + b"\r\n"
        for name, value in parts
    )
    response = client.post(
        "/api/prompts/",
        data=body + f"--{boundary}--\r\n".encode(),
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=auth,
    )
    assert response.status_code in (201, 400), response.get_data(as_text=True)
    if response.status_code == 201:
        assert response.json["prompt_text"].startswith("bad ")


def test_an_invisible_prompt_is_refused_and_an_invisible_model_means_none(client, auth):
    invisible = {"prompt_text": "\u200b\u3000\u2028\ufeff"}
    error = assert_error(client.post("/api/prompts/", json=invisible, headers=auth), 400)
    assert error["field"] == "prompt_text" and "invisible" in error["message"]
    assert count() == 0
    body = {"prompt_text": "a visible prompt", "model": "\u200b\u2060 \u3164"}
    response = client.post("/api/prompts/", json=body, headers=auth)
    assert response.status_code == 201 and response.json["model"] is None
    assert client.get("/api/models").json["items"] == [{"model": None, "prompts": 1, "uses": 1}]


# Any text, with lone surrogates and invisible characters more often than by chance.
# (One alphabet of characters() | characters(categories=["Cs"]) loses the surrogates.)
ANY_TEXT = st.lists(
    st.text(max_size=10)
    | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
    | st.sampled_from(["\u200b", "\ufeff", "\u3000", "\u2028", "\x00"]),
    max_size=6,
).map("".join)
ANY_TIME = st.datetimes().flatmap(
    lambda moment: st.builds(
        lambda offset: moment.replace(tzinfo=timezone(offset)).isoformat(),
        st.timedeltas(min_value=-timedelta(hours=23, minutes=59), max_value=timedelta(hours=23)),
    )
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.fixed_dictionaries(
        {"prompt_text": ANY_TEXT},
        optional={"model": ANY_TEXT | st.none(), "used_at": ANY_TIME | ANY_TEXT},
    )
)
def test_fuzz_record_is_a_use_or_a_400_never_a_500(client, auth, body):
    raw = json.dumps(body)  # ensure_ascii: a lone surrogate goes out as \\udxxx
    response = client.post("/api/prompts/", data=raw, content_type="application/json", headers=auth)
    assert response.status_code in (200, 201, 400), (body, response.get_data(as_text=True))
    if response.status_code == 400:
        assert response.json["error"]["field"] in ("prompt_text", "model", "used_at")


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_a_recording_token_records_but_cannot_delete_or_clean_up(client, ctx):
    recorder = bearer(tokens.create_token("worker"))  # the default scope: record
    kept = store.record_use("precious, without a thumbnail")
    assert (
        client.post("/api/prompts/", json={"prompt_text": "new"}, headers=recorder).status_code
        == 201
    )
    error = assert_error(client.delete(f"/api/prompts/{kept.id}", headers=recorder), 403)
    assert "admin" in error["message"]
    cleanup = {"without_thumbnail": True}
    assert_error(client.post("/api/prompts/cleanup", json=cleanup, headers=recorder), 403)
    assert count() == 2
    admin = bearer(tokens.create_token("janitor", ["admin"]))
    assert client.delete(f"/api/prompts/{kept.id}", headers=admin).status_code == 200
    assert client.post("/api/prompts/cleanup", json=cleanup, headers=admin).json["count"] == 1
    assert count() == 0


def test_reading_needs_the_read_scope_when_reads_need_a_token(client, app, ctx):
    app.config["API_READ_REQUIRES_TOKEN"] = True
    recorder = bearer(tokens.create_token("worker", ["record"]))
    reader = bearer(tokens.create_token("viewer", ["read"]))
    assert "read" in assert_error(client.get("/api/prompts/", headers=recorder), 403)["message"]
    assert client.get("/api/prompts/", headers=reader).status_code == 200
    body = {"prompt_text": "x"}
    assert_error(client.post("/api/prompts/", json=body, headers=reader), 403)
    assert count() == 0


def test_token_scope_commands(runner, ctx):
    made = runner.invoke(args=["gallery", "create-token", "worker"])
    assert made.exit_code == 0, made.output
    both = runner.invoke(
        args=["gallery", "create-token", "viewer", "--scope", "read", "--scope", "record"]
    )
    assert both.exit_code == 0, both.output
    listed = runner.invoke(args=["gallery", "list-tokens"]).output.splitlines()
    assert "scopes record " in next(line for line in listed if line.startswith("worker "))
    assert "scopes read record " in next(line for line in listed if line.startswith("viewer "))
    wrong = runner.invoke(args=["gallery", "create-token", "x", "--scope", "everything"])
    assert wrong.exit_code == 2 and "everything" in wrong.output
    assert "x " not in runner.invoke(args=["gallery", "list-tokens"]).output


def test_tokens_from_before_scopes_may_read_and_record_but_not_delete(
    database_url, tmp_path, monkeypatch
):
    from gallery import create_app, migrations
    from gallery import db as gallery_db
    from gallery.migrations import MIGRATIONS

    database = gallery_db.open_database(database_url, pool_size=1)
    before = next(i for i, m in enumerate(MIGRATIONS, 1) if "scopes" in str(m["sqlite"])) - 1
    monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS[:before])  # a store from before
    assert migrations.migrate(database) == before
    monkeypatch.undo()
    database.execute_sql(
        f"INSERT INTO api_tokens (name, token_hash) VALUES ('old', {database.param})",
        (tokens.digest("pg_old"),),
    )
    database.close_all()
    app = create_app(
        {"DATABASE_URL": database_url, "API_READ_REQUIRES_TOKEN": True},
        instance_path=tmp_path / "instance",
    )
    client = app.test_client()
    old = bearer("pg_old")
    with app.app_context():
        kept = store.record_use("kept")
    assert client.post("/api/prompts/", json={"prompt_text": "y"}, headers=old).status_code == 201
    assert client.get("/api/prompts/", headers=old).status_code == 200
    assert_error(client.delete(f"/api/prompts/{kept.id}", headers=old), 403)
    app.extensions["gallery_db"].close_all()


def test_last_use_is_written_at_most_once_a_minute(ctx, token):
    from datetime import timedelta

    from gallery.models import utcnow

    def last_used():
        return next(t.last_used_at for t in tokens.list_tokens() if t.name == "tests")

    start = utcnow().replace(microsecond=0)
    assert tokens.verify_token(token, now=start).name == "tests"
    assert last_used() == start
    tokens.verify_token(token, now=start + timedelta(seconds=59))
    assert last_used() == start
    tokens.verify_token(token, now=start + timedelta(seconds=61))
    assert last_used() == start + timedelta(seconds=61)


REFUSE_TOKEN_UPDATES = {
    "sqlite": [
        "CREATE TRIGGER refuse BEFORE UPDATE ON api_tokens "
        "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    ],
    "postgres": [
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$",
        "CREATE TRIGGER refuse BEFORE UPDATE ON api_tokens FOR EACH ROW EXECUTE FUNCTION refuse()",
    ],
}


def test_a_failed_last_use_write_does_not_fail_the_request(client, ctx, token):
    from gallery import db as gallery_db
    from gallery import engines

    database = gallery_db.migrated_database()
    for statement in REFUSE_TOKEN_UPDATES[engines.dialect(database)]:
        database.execute_sql(statement)
    response = client.post(
        "/api/prompts/", json={"prompt_text": "still counted"}, headers=bearer(token)
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert count() == 1


def drawn_png():
    """A small PNG made on the spot (the shared samples may not be there)."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_a_forged_host_header_never_reaches_a_url(admin_app, ctx, token):
    from tests.conftest import csrf_token_from, sign_in

    evil = {"Host": "evil.example"}
    body = {"prompt_text": "a cat", "image": drawn_png()}
    recorded = admin_app.test_client().post(
        "/api/prompts/", json=body, headers={**evil, **bearer(token)}
    )
    assert recorded.status_code == 201
    assert recorded.json["thumbnail"]["url"].startswith("/api/prompts/")
    client = admin_app.test_client()
    answers = [client.get(url, headers=evil) for url in ("/api/prompts/", "/api/prompts/recent")]
    client.environ_base["HTTP_HOST"] = "evil.example"
    answers.append(sign_in(client))
    form = {"csrf_token": csrf_token_from(client, "/admin/")}
    answers.append(client.post(f"/admin/prompts/{recorded.json['id']}/delete", data=form))
    answers.append(client.post(f"/admin/prompts/{recorded.json['id']}/restore", data=form))
    answers.append(client.get("/admin/"))
    answers.append(client.post("/admin/sign-out", data=form))
    answers.append(client.get("/admin/"))
    for answer in [recorded, *answers]:
        assert "evil.example" not in answer.headers.get("Location", "")
        assert "evil.example" not in answer.get_data(as_text=True)
    assert [a.status_code for a in answers[2:]] == [302, 302, 302, 200, 302, 302]


def test_urls_use_the_configured_base_url(client, app, auth):
    app.config["BASE_URL"] = "https://gallery.example.org"
    body = {"prompt_text": "a cat", "image": drawn_png()}
    recorded = client.post("/api/prompts/", json=body, headers={"Host": "evil.example", **auth})
    url = recorded.json["thumbnail"]["url"]
    assert url.startswith("https://gallery.example.org/api/prompts/")
    assert client.get(url.removeprefix("https://gallery.example.org")).status_code == 200


@pytest.mark.parametrize("base_url", ["gallery.example.org", "ftp://x", "https://x/path"])
def test_a_base_url_that_is_not_an_origin_is_a_clear_error(tmp_path, base_url):
    from gallery import create_app
    from gallery.errors import InvalidInput

    with pytest.raises(InvalidInput, match="GALLERY_BASE_URL"):
        create_app({"BASE_URL": base_url}, instance_path=tmp_path)


def test_cleanup_removes_what_its_dry_run_counted_and_can_be_undone(client, auth):
    from datetime import UTC, datetime, timedelta

    old = (datetime.now(UTC) - timedelta(days=60)).isoformat()
    store.record_use("old and reused", used_at=old)
    store.record_use("old and removed", used_at=old)
    options = {"unused_for_days": 30}
    dry = client.post("/api/prompts/cleanup", json={**options, "dry_run": True}, headers=auth)
    assert dry.json["count"] == 2 and dry.json["highest_id"] == 2
    store.record_use("old and reused")
    store.record_use("recorded after the dry run", used_at=old)
    fixed = {**options, "cutoff": dry.json["cutoff"], "highest_id": dry.json["highest_id"]}
    real = client.post("/api/prompts/cleanup", json=fixed, headers=auth)
    assert real.status_code == 200
    assert (real.json["count"], real.json["examples"]) == (
        1,
        [{"id": 2, "prompt_text": "old and removed"}],
    )
    assert datetime.fromisoformat(real.json["restorable_until"]) > datetime.now(UTC)
    assert count() == 2
    (entry,) = store.recently_deleted()
    assert store.restore_cleanup(entry.batch) == 1 and count() == 3


@pytest.mark.parametrize(
    "body, field",
    [
        ({"unused_for_days": 30, "cutoff": "soon"}, "cutoff"),
        ({"unused_for_days": 30, "cutoff": 5}, "cutoff"),
        ({"without_thumbnail": True, "cutoff": "2026-01-01T00:00:00+00:00"}, "cutoff"),
        ({"without_thumbnail": True, "highest_id": "2"}, "highest_id"),
        ({"without_thumbnail": True, "highest_id": True}, "highest_id"),
        ({"without_thumbnail": True, "highest_id": 0}, "highest_id"),
    ],
)
def test_cleanup_with_a_bad_cutoff_or_highest_id_is_400(client, auth, body, field):
    store.record_use("survives")
    assert_error(client.post("/api/prompts/cleanup", json=body, headers=auth), 400, field)
    assert count() == 1


def test_model_counts_are_described_as_by_latest_model(client, ctx):
    for _ in range(3):
        store.record_use("switched models", model="sdxl")
    store.record_use("switched models", model="flux")
    assert client.get("/api/models").json["items"] == [{"model": "flux", "prompts": 1, "uses": 4}]
    document = client.get("/api/openapi.json").json
    assert "latest model" in document["paths"]["/api/models"]["get"]["summary"]
    counts = document["components"]["schemas"]["ModelCount"]
    assert "latest model" in counts["description"]
    assert "latest model" in counts["properties"]["uses"]["description"]


def test_a_date_read_from_the_image_is_clamped_an_explicit_one_is_not(client, auth):
    import io
    from datetime import datetime

    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a clock running fast\nSteps: 5")
    info.add_text("Creation Time", "2090-01-01T00:00:00")
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "navy").save(buffer, "PNG", pnginfo=info)
    before = store.utcnow()
    response = client.post(
        "/api/prompts/", data={"image": (io.BytesIO(buffer.getvalue()), "a.png")}, headers=auth
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert before <= datetime.fromisoformat(response.json["last_used_at"]) <= store.utcnow()
    explicit = client.post(
        "/api/prompts/",
        data={"image": (io.BytesIO(buffer.getvalue()), "a.png"), "used_at": "2090-01-01T00:00:00Z"},
        headers=auth,
    )
    assert "in the future" in assert_error(explicit, 400, "used_at")["message"]
    assert Prompt.card(response.json["id"]).total_uses == 1
