"""The JSON API: every endpoint, every error status, tokens, both upload forms."""

import base64

import pytest

from gallery import store, tokens
from tests.conftest import SAMPLES


@pytest.fixture
def token(ctx):
    return tokens.create_token("tests")


@pytest.fixture
def auth(token):
    return {"Authorization": f"Bearer {token}"}


def sample(name):
    path = SAMPLES / "photos" / name
    if not path.exists():
        pytest.skip(f"sample {path} not found")
    return path.read_bytes()


def count():
    return store.get_stats().total_prompts


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
    assert [p.prompt_text for p in store.recent()] == ["keep"]


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
    assert real.json == {
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
    assert store.get_prompt(response.json["id"]).total_uses == 1
