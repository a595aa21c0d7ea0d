"""Admin: sign-in, CSRF on every state change, delete, cleanup and upkeep."""

from datetime import UTC, datetime, timedelta

import pytest

from gallery import create_app, store
from tests.conftest import ADMIN_PASSWORD, csrf_token_from, sign_in


@pytest.fixture
def admin(admin_app):
    client = admin_app.test_client()
    assert sign_in(client).status_code == 302
    client.token = csrf_token_from(client, "/admin/")
    return client


def count():
    return store.get_stats().total_prompts


def test_admin_is_disabled_without_a_password(client, ctx):
    html = client.get("/admin/sign-in").get_data(as_text=True)
    assert "Admin actions are disabled" in html and "set-admin-password" in html
    with client.session_transaction() as session:
        session["csrf_token"] = "t"
    response = client.post("/admin/sign-in", data={"password": "", "csrf_token": "t"})
    assert response.status_code == 403 and "disabled" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_wrong_password_and_missing_token(admin_app, ctx):
    client = admin_app.test_client()
    response = sign_in(client, "wrong")
    assert response.status_code == 401 and "not right" in response.get_data(as_text=True)
    assert client.post("/admin/sign-in", data={"password": ADMIN_PASSWORD}).status_code == 403
    assert client.get("/admin/").status_code == 302


def test_session_cookie_flags(admin_app, ctx):
    client = admin_app.test_client()
    response = sign_in(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_admin_deletes_with_htmx(admin, ctx):
    prompt = store.record_use("doomed")
    html = admin.get("/").get_data(as_text=True)
    assert 'class="delete"' in html and "X-CSRF-Token" in html
    response = admin.delete(
        f"/admin/prompts/{prompt.id}", headers={"HX-Request": "true", "X-CSRF-Token": admin.token}
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'hx-swap-oob="true"' in body and f"Deleted prompt #{prompt.id}" in body
    assert count() == 0
    response = admin.delete(f"/admin/prompts/{prompt.id}", headers={"X-CSRF-Token": admin.token})
    assert response.status_code == 404


def test_admin_deletes_with_a_plain_form(admin, ctx):
    prompt = store.record_use("doomed too")
    response = admin.post(f"/admin/prompts/{prompt.id}/delete", data={"csrf_token": admin.token})
    assert response.status_code == 302 and count() == 0
    assert "Deleted prompt" in admin.get("/").get_data(as_text=True)


def test_forged_requests_change_nothing(admin, client, ctx):
    prompt = store.record_use("precious")
    # A visitor, with or without a token of their own.
    assert client.delete(f"/admin/prompts/{prompt.id}").status_code == 403
    visitor_token = csrf_token_from(client)
    headers = {"X-CSRF-Token": visitor_token}
    assert client.delete(f"/admin/prompts/{prompt.id}", headers=headers).status_code == 403
    # The admin's session without its token, or with a wrong one.
    assert admin.delete(f"/admin/prompts/{prompt.id}").status_code == 403
    headers = {"X-CSRF-Token": "forged"}
    assert admin.delete(f"/admin/prompts/{prompt.id}", headers=headers).status_code == 403
    assert (
        admin.post(
            "/admin/cleanup", data={"without_thumbnail": "yes", "confirm": "yes"}
        ).status_code
        == 403
    )
    assert admin.post("/admin/optimize").status_code == 403
    assert count() == 1


def test_cleanup_shows_a_dry_run_then_acts(admin, ctx):
    old = datetime.now(UTC) - timedelta(days=60)
    store.record_use("old one", used_at=old)
    store.record_use("fresh one")
    data = {"csrf_token": admin.token, "unused_days": "30"}
    html = admin.post("/admin/cleanup", data=data, headers={"HX-Request": "true"}).get_data(
        as_text=True
    )
    assert "This would remove <strong>1</strong> prompt." in html and "old one" in html
    assert "<html" not in html and count() == 2
    html = admin.post("/admin/cleanup", data={**data, "confirm": "yes"}).get_data(as_text=True)
    assert "Removed <strong>1</strong> prompt." in html and "<html" in html
    assert [p.prompt_text for p in store.recent()] == ["fresh one"]


def test_cleanup_refuses_unclear_input(admin, ctx):
    store.record_use("stays")
    for data in ({}, {"unused_days": "soon"}, {"unused_days": "0"}):
        response = admin.post(
            "/admin/cleanup", data={**data, "csrf_token": admin.token, "confirm": "yes"}
        )
        assert response.status_code == 400
    assert count() == 1


def test_optimize(admin, ctx):
    store.record_use("something")
    response = admin.post(
        "/admin/optimize", data={"csrf_token": admin.token}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200 and "Database optimized" in response.get_data(as_text=True)


def test_sign_out(admin, ctx):
    html = admin.get("/").get_data(as_text=True)
    assert "sign-out" in html
    assert admin.post("/admin/sign-out", data={"csrf_token": admin.token}).status_code == 302
    assert 'class="delete"' not in admin.get("/").get_data(as_text=True)
    assert admin.get("/admin/").status_code == 302


def test_set_admin_password_command(app, runner, tmp_path):
    result = runner.invoke(args=["gallery", "set-admin-password"], input="short\nshort\n")
    assert result.exit_code == 1 and "at least 8 characters" in result.output
    result = runner.invoke(
        args=["gallery", "set-admin-password"], input=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    config = (tmp_path / "instance" / "config.py").read_text()
    assert ADMIN_PASSWORD not in config and "ADMIN_PASSWORD_HASH = " in config
    again = runner.invoke(
        args=["gallery", "set-admin-password"], input="another one\nanother one\n"
    )
    assert again.exit_code == 0
    assert (tmp_path / "instance" / "config.py").read_text().count("ADMIN_PASSWORD_HASH") == 1
    restarted = create_app(instance_path=tmp_path / "instance")
    client = restarted.test_client()
    with restarted.app_context():
        assert sign_in(client, "another one").status_code == 302


def test_admin_imports_uploaded_images(admin, ctx, samples):
    import io

    image = (samples / "ai-metadata" / "automatic1111_cropped.png").read_bytes()
    data = {
        "csrf_token": admin.token,
        "images": [(io.BytesIO(image), "duck.png"), (io.BytesIO(b"junk"), "junk.png")],
    }
    response = admin.post("/admin/import", data=data, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "duck.png" in html and "new prompt" in html and "photo of a duck" in html
    assert "junk.png" in html and "failed" in html
    again = admin.post(
        "/admin/import",
        data={"csrf_token": admin.token, "images": [(io.BytesIO(image), "duck.png")]},
    )
    assert "already imported" in again.get_data(as_text=True)
    assert store.get_stats().total_uses == 1


def test_import_needs_admin_and_token(admin, client, ctx):
    import io

    def files():
        return {"images": [(io.BytesIO(b"x"), "a.png")]}

    assert admin.post("/admin/import", data=files()).status_code == 403
    assert client.post("/admin/import", data=files()).status_code == 403
    empty = admin.post("/admin/import", data={"csrf_token": admin.token})
    assert empty.status_code == 400


def test_undo_a_delete_from_the_notice(admin, ctx):
    prompt = store.record_use("brought back", model="m")
    headers = {"HX-Request": "true", "X-CSRF-Token": admin.token}
    notice = admin.delete(f"/admin/prompts/{prompt.id}", headers=headers).get_data(as_text=True)
    assert "Undo" in notice and f"/admin/prompts/{prompt.id}/restore" in notice
    assert count() == 0
    assert "brought back" in admin.get("/admin/").get_data(as_text=True)  # recently deleted
    answer = admin.post(f"/admin/prompts/{prompt.id}/restore", headers=headers)
    assert answer.status_code == 200 and "Restored prompt" in answer.get_data(as_text=True)
    restored = store.get_prompt(prompt.id)
    assert (restored.prompt_text, restored.model, restored.total_uses) == ("brought back", "m", 1)
    assert store.recently_deleted() == []
    from gallery.search import search_prompts

    assert [p.id for p in search_prompts("brought").items] == [prompt.id]


def test_undo_merges_with_a_prompt_recorded_again_meanwhile(admin, ctx):
    prompt = store.record_use("twice")
    store.record_use("twice")
    store.delete_prompt(prompt.id)
    again = store.record_use("TWICE")
    back = store.restore_prompt(prompt.id)
    assert back.id == again.id and back.total_uses == 3


def test_undo_window_passes(admin, ctx, app):
    import time

    prompt = store.record_use("gone for good")
    store.delete_prompt(prompt.id)
    app.config["UNDO_MINUTES"] = 0.001  # 60 ms
    time.sleep(0.1)
    assert store.recently_deleted() == []
    response = admin.post(f"/admin/prompts/{prompt.id}/restore", data={"csrf_token": admin.token})
    assert response.status_code == 404


def test_restore_needs_the_admin(client, admin, ctx):
    prompt = store.record_use("protected")
    store.delete_prompt(prompt.id)
    assert client.post(f"/admin/prompts/{prompt.id}/restore").status_code == 403
    assert admin.post(f"/admin/prompts/{prompt.id}/restore").status_code == 403  # no token
    assert count() == 0


def test_a_no_javascript_import_of_many_files_stops_in_time_and_says_what_is_left(
    admin, ctx, monkeypatch
):
    import io

    from PIL import Image, PngImagePlugin

    from gallery import admin as admin_module
    from gallery import importer

    def image(prompt):
        info = PngImagePlugin.PngInfo()
        info.add_text("parameters", f"{prompt}\nSteps: 20, Sampler: Euler, Model: m")
        buffer = io.BytesIO()
        Image.new("RGB", (32, 32), "blue").save(buffer, "PNG", pnginfo=info)
        return buffer.getvalue()

    now = [0.0]
    real_import = importer.import_upload

    def slow_import(*args):  # each new file takes 10 s of the fake clock
        result = real_import(*args)
        now[0] += 0 if result.outcome == "already imported" else 10
        return result

    monkeypatch.setattr(admin_module, "clock", lambda: now[0], raising=False)
    monkeypatch.setattr(importer, "import_upload", slow_import)
    files = {name: image(f"prompt of {name}") for name in ("a.png", "b.png", "c.png")}

    def post():
        images = [(io.BytesIO(data), name) for name, data in files.items()]
        return admin.post("/admin/import", data={"csrf_token": admin.token, "images": images})

    page = post().get_data(as_text=True)
    assert page.count("new prompt") == 2 and "c.png" in page and "choose it again" in page
    assert count() == 2
    page = post().get_data(as_text=True)
    assert page.count("already imported") == 2 and page.count("new prompt") == 1
    assert count() == 3
