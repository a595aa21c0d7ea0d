"""Security: headers everywhere, hostile query strings, sign-in throttling, credential rules."""

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gallery import store, tokens
from gallery.models import Prompt, utcnow
from gallery.throttle import SignInFailure
from tests.conftest import ADMIN_PASSWORD, ADMIN_PASSWORD_HASH, csrf_token_from, sign_in

GET_ROUTES = [
    "/",
    "/stats",
    "/prompts/1",
    "/prompts/1/thumbnail",
    "/admin/sign-in",
    "/api/prompts/",
    "/api/prompts/search",
    "/api/prompts/popular",
    "/api/prompts/recent",
    "/api/prompts/1",
    "/api/prompts/1/thumbnail",
    "/api/prompts/stats/overview",
    "/api/models",
]
PARAMETERS = ["q", "model", "sort", "cursor", "limit", "v"]


@pytest.mark.parametrize("url", ["/", "/stats", "/api/prompts/", "/nope", "/api/nope"])
def test_security_headers_everywhere(client, url):
    response = client.get(url)
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_security_headers_even_on_a_crash_and_never_twice(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/_crash")
    def crash():
        raise RuntimeError("boom")

    @app.get("/_own_policy")
    def own_policy():
        return "x", {"Content-Security-Policy": "default-src 'none'"}

    client = app.test_client()
    crashed = client.get("/_crash")
    assert crashed.status_code == 500
    assert "frame-ancestors 'none'" in crashed.headers["Content-Security-Policy"]
    own = client.get("/_own_policy")
    assert own.headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert own.headers["X-Frame-Options"] == "DENY"


def test_a_request_that_never_touches_the_session_sets_no_cookie(client):
    response = client.get("/api/models")
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")


def test_a_rotated_key_in_the_fallbacks_still_opens_old_sessions(admin_app, ctx):
    client = admin_app.test_client()
    sign_in(client)
    old_key = admin_app.secret_key
    admin_app.secret_key = "the new key"
    admin_app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    assert client.get("/admin/").status_code == 200


def test_sessions_follow_a_new_secret_key(admin_app, ctx):
    client = admin_app.test_client()
    sign_in(client)
    assert client.get("/admin/").status_code == 200
    admin_app.secret_key = "another key"  # as after a key rotation without fallbacks
    assert client.get("/admin/").status_code != 200


def test_secure_cookie_when_configured(admin_app, ctx):
    admin_app.config["SESSION_COOKIE_SECURE"] = True
    client = admin_app.test_client()
    assert "Secure" in sign_in(client).headers["Set-Cookie"]


@pytest.mark.parametrize("url", ["/?q=a%00b", "/?model=%00", "/api/prompts/?model=x%00"])
def test_nul_bytes_are_400(client, url):
    assert client.get(url).status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        "/?q=%E0%A4%A",  # invalid percent-encoding
        "/?q=" + "lighthouse " * 1000,
        '/?q="NEAR(a b) OR -c* ^d:e',
        "/?cursor=eyJ9",
        "/?cursor=" + "A" * 5000,
        "/api/prompts/?limit=-5",
        "/api/prompts/?limit=99999999999999999999",
        "/api/prompts/search?q=x&cursor=-1",
        "/api/prompts/search?q=x&cursor=999999999999",
    ],
)
def test_hostile_query_strings_are_never_500(client, ctx, url):
    store.record_use("a lighthouse")
    assert client.get(url).status_code in (200, 400)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    route=st.sampled_from(GET_ROUTES),
    params=st.dictionaries(
        st.sampled_from(PARAMETERS),
        st.text(max_size=200) | st.sampled_from(["-1", "0", "10**9", "popular", "relevance"]),
        max_size=4,
    ),
    hx=st.booleans(),
)
def test_fuzz_every_route_never_500(client, ctx, route, params, hx):
    headers = {"HX-Request": "true"} if hx else {}
    response = client.get(route, query_string=params, headers=headers)
    assert response.status_code < 500, (route, params, response.get_data(as_text=True)[:300])


def test_sign_in_is_throttled_after_five_failures(admin_app, ctx):
    client = admin_app.test_client()
    for _ in range(5):
        assert sign_in(client, "wrong").status_code == 401
    blocked = sign_in(client)  # even the right password waits
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert "try again in" in blocked.get_data(as_text=True)
    # Fifteen minutes later the failures have aged out.
    SignInFailure.update(failed_at=utcnow() - timedelta(minutes=16)).execute()
    assert sign_in(client).status_code == 302
    assert SignInFailure.select().count() == 0


def test_throttle_is_per_address(admin_app, ctx):
    client = admin_app.test_client()
    for _ in range(5):
        sign_in(client, "wrong")
    other = admin_app.test_client()
    token = csrf_token_from(other)
    response = other.post(
        "/admin/sign-in",
        data={"password": ADMIN_PASSWORD, "csrf_token": token},
        environ_base={"REMOTE_ADDR": "10.9.8.7"},
    )
    assert response.status_code == 302


def test_admin_page_shows_when_the_session_ends_and_ends_it(admin_app, ctx):
    client = admin_app.test_client()
    sign_in(client)
    html = client.get("/admin/").get_data(as_text=True)
    assert "Signed in as the admin until" in html and "End this session" in html
    token = csrf_token_from(client, "/admin/")
    assert client.post("/admin/sign-out", data={"csrf_token": token}).status_code == 302
    assert client.get("/admin/").status_code == 302


def state_changing_requests(prompt_id):
    """Every route that changes something: (method, url, form or json body)."""
    return [
        ("DELETE", f"/admin/prompts/{prompt_id}", {}),
        ("POST", f"/admin/prompts/{prompt_id}/delete", {}),
        ("POST", "/admin/cleanup", {"data": {"without_thumbnail": "yes", "confirm": "yes"}}),
        ("POST", "/admin/optimize", {}),
        ("POST", "/admin/import", {"data": {}}),
        ("POST", "/api/prompts/", {"json": {"prompt_text": "intruder"}}),
        ("DELETE", f"/api/prompts/{prompt_id}", {}),
        ("POST", "/api/prompts/cleanup", {"json": {"without_thumbnail": True}}),
    ]


def snapshot():
    return [(p.id, p.total_uses) for p in Prompt.page(limit=100).items]


def test_every_state_change_refused_without_the_right_credentials(admin_app, ctx):
    prompt = store.record_use("precious, without a thumbnail")
    api_token = tokens.create_token("real")
    before = snapshot()
    visitor = admin_app.test_client()
    admin = admin_app.test_client()
    sign_in(admin)
    admin_csrf = csrf_token_from(admin, "/admin/")
    attempts = {
        "nothing": (visitor, {}),
        "wrong token": (visitor, {"Authorization": "Bearer pg_wrong", "X-CSRF-Token": "wrong"}),
        # The right credential of the wrong kind: an API token on the pages, and an
        # admin browser session (with its CSRF token) on the API.
        "api token on pages": (visitor, {"Authorization": f"Bearer {api_token}"}),
        "session on api": (admin, {"X-CSRF-Token": admin_csrf}),
    }
    for kind, (client, headers) in attempts.items():
        for method, url, body in state_changing_requests(prompt.id):
            if kind == "session on api" and not url.startswith("/api/"):
                continue  # that is the one place this credential is right
            if kind == "api token on pages" and url.startswith("/api/"):
                continue
            response = client.open(url, method=method, headers=headers, **body)
            assert response.status_code in (400, 401, 403), (kind, method, url)
            assert snapshot() == before, (kind, method, url)


def test_throttle_counts_the_forwarded_address_behind_a_trusted_proxy(tmp_path, database_url):
    from gallery import create_app

    app = create_app(
        {"DATABASE_URL": database_url, "TRUSTED_PROXIES": 1, "SECRET_KEY": "t"},
        instance_path=tmp_path / "proxied",
    )
    app.config["ADMIN_PASSWORD_HASH"] = ADMIN_PASSWORD_HASH
    client = app.test_client()
    with app.app_context():
        for _ in range(5):
            token = csrf_token_from(client)
            client.post(
                "/admin/sign-in",
                data={"password": "wrong", "csrf_token": token},
                headers={"X-Forwarded-For": "203.0.113.9"},
            )
        assert SignInFailure.select().where(SignInFailure.address == "203.0.113.9").count() == 5
    token = csrf_token_from(client)
    other = client.post(
        "/admin/sign-in",
        data={"password": ADMIN_PASSWORD, "csrf_token": token},
        headers={"X-Forwarded-For": "198.51.100.7"},
    )
    assert other.status_code == 302  # another client behind the same proxy is not blocked


def signed_in_twice(admin_app):
    """An admin client and a second client holding a copy of its session cookie."""
    first = admin_app.test_client()
    assert sign_in(first).status_code == 302
    copy = admin_app.test_client()
    copy.set_cookie("session", first.get_cookie("session").value)
    assert copy.get("/admin/").status_code == 200
    return first, copy


@pytest.mark.parametrize(("page", "button"), [("/", "Sign out"), ("/admin/", "End this session")])
def test_signing_out_ends_every_copy_of_the_session(admin_app, ctx, page, button):
    first, copy = signed_in_twice(admin_app)
    html = first.get(page).get_data(as_text=True)
    assert button in html
    response = first.post("/admin/sign-out", data={"csrf_token": csrf_token_from(first, page)})
    assert response.status_code == 302
    assert copy.get("/admin/").status_code == 302
    assert "Sign out" not in copy.get("/").get_data(as_text=True)
    # Signing in again makes a session that works; the copied one stays dead.
    assert sign_in(first).status_code == 302
    assert first.get("/admin/").status_code == 200
    assert copy.get("/admin/").status_code == 302


def test_a_new_admin_password_ends_every_session(admin_app):
    first, copy = signed_in_twice(admin_app)
    runner = admin_app.test_cli_runner()
    result = runner.invoke(args=["gallery", "set-admin-password", "--password", "a new secret"])
    assert result.exit_code == 0, result.output
    assert first.get("/admin/").status_code == 302
    assert copy.get("/admin/").status_code == 302


def test_concurrent_wrong_passwords_get_at_most_five_checks(tmp_path, database_url, monkeypatch):
    import threading

    from gallery import admin, create_app

    threads = 16
    app = create_app(
        {"DATABASE_URL": database_url, "SECRET_KEY": "t", "DATABASE_POOL_SIZE": threads + 4},
        instance_path=tmp_path / "concurrent",
    )
    app.config["ADMIN_PASSWORD_HASH"] = ADMIN_PASSWORD_HASH
    clients = [app.test_client() for _ in range(threads)]
    forms = [{"password": "wrong", "csrf_token": csrf_token_from(c)} for c in clients]
    seen = threading.Condition()
    counts = {"checked": 0, "refused": 0}
    real_check = admin.check_password_hash

    def counting_check(pwhash, password):
        # Hold every checked request until each request was either checked or refused,
        # so no failure is on record while the others pass the throttle.
        with seen:
            counts["checked"] += 1
            seen.notify_all()
            seen.wait_for(lambda: counts["checked"] + counts["refused"] >= threads, 30)
        return real_check(pwhash, password)

    monkeypatch.setattr(admin, "check_password_hash", counting_check)
    statuses = []

    def attempt(client, form):
        status = client.post("/admin/sign-in", data=form).status_code
        with seen:
            statuses.append(status)
            counts["refused"] += status == 429
            seen.notify_all()

    workers = [
        threading.Thread(target=attempt, args=pair) for pair in zip(clients, forms, strict=True)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert sorted(set(statuses)) == [401, 429]
    assert counts["checked"] <= 5
    assert statuses.count(401) == counts["checked"]


OPEN_WHEN_PRIVATE = {"static", "gallery.healthz", "admin.sign_in", "gallery.favicon"}


def picture():
    import random

    from gallery.demo import draw, png_bytes

    return png_bytes(draw(random.Random(1), (64, 48)))


def every_route(app, prompt_id):
    """(endpoint, method, url) for every rule of the URL map, with the prompt's id."""
    import re

    for rule in app.url_map.iter_rules():
        url = re.sub(
            r"<(?:\w+:)?(\w+)>",
            lambda m: "gallery.css" if m[1] == "filename" else str(prompt_id),
            rule.rule,
        )
        for method in sorted(rule.methods - {"OPTIONS"}):
            yield rule.endpoint, method, url


def test_private_mode_closes_every_route_but_sign_in_static_and_health(admin_app, ctx):
    admin_app.config["PRIVATE"] = True
    secret = "a secret prompt about a lighthouse"
    prompt = store.record_use(secret, model="private-model", image_data=picture())
    visitor = admin_app.test_client()
    routes = list(every_route(admin_app, prompt.id))
    assert len({endpoint for endpoint, _, _ in routes}) > 15  # the whole map, not a few
    for endpoint, method, url in routes:
        response = visitor.open(url, method=method, json={} if method != "GET" else None)
        body = response.get_data(as_text=True)
        if endpoint in OPEN_WHEN_PRIVATE:
            assert method != "GET" or response.status_code == 200, (method, url)
            continue
        assert response.status_code in (302, 400, 401, 403), (method, url, response.status_code)
        assert secret not in body and "private-model" not in body, (method, url)
        assert response.headers.get("Content-Type") != "image/webp", (method, url)
        if response.status_code == 302:
            assert response.headers["Location"] == "/admin/sign-in", (method, url)
    assert Prompt.card(prompt.id).total_uses == 1


def test_private_mode_opens_to_the_admin_and_to_a_read_token(admin_app, ctx):
    admin_app.config["PRIVATE"] = True
    secret = "a secret prompt about a lighthouse"
    prompt = store.record_use(secret, image_data=picture())
    reader = {"Authorization": f"Bearer {tokens.create_token('viewer', ['read'])}"}
    recorder = {"Authorization": f"Bearer {tokens.create_token('worker', ['record'])}"}
    admin = admin_app.test_client()
    sign_in(admin)
    anyone = admin_app.test_client()
    for url in ["/", "/stats", f"/prompts/{prompt.id}", "/api/prompts/", "/api/models"]:
        assert secret in admin.get(url).get_data(as_text=True) or url.endswith("models"), url
        assert anyone.get(url, headers=reader).status_code == 200, url
        assert anyone.get(url, headers=recorder).status_code == 403, url
    for url in [f"/prompts/{prompt.id}/thumbnail", f"/api/prompts/{prompt.id}/thumbnail"]:
        assert admin.get(url).mimetype == "image/webp"
        assert anyone.get(url, headers=reader).mimetype == "image/webp"
    # A recording token still records: private closes reading, not the worker's job.
    posted = anyone.post("/api/prompts/", json={"prompt_text": "new"}, headers=recorder)
    assert posted.status_code == 201
