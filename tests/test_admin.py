"""Admin: sign-in, CSRF on every state change, delete, cleanup and upkeep."""

from datetime import UTC, datetime, timedelta

import pytest

from gallery import create_app, store
from gallery.models import Prompt, Stats
from tests.conftest import ADMIN_PASSWORD, csrf_token_from, sign_in

HX = {"HX-Request": "true"}


@pytest.fixture
def admin(admin_app):
    client = admin_app.test_client()
    assert sign_in(client).status_code == 302
    client.token = csrf_token_from(client, "/admin/")
    return client


def count():
    return Stats.current().total_prompts


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
    assert "This would remove <strong>1 prompt</strong>." in html and "old one" in html
    assert "<html" not in html and count() == 2
    html = admin.post("/admin/cleanup", data=hidden_fields(html)).get_data(as_text=True)
    assert "Removed <strong>1 prompt</strong>." in html and "<html" in html
    assert [p.prompt_text for p in Prompt.top("recent")] == ["fresh one"]


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
    assert Stats.current().total_uses == 1


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
    restored = Prompt.card(prompt.id)
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


def test_undo_window_passes(admin, ctx, app, monkeypatch):
    from gallery import trash
    from gallery.models import utcnow

    now = utcnow()
    monkeypatch.setattr(trash, "utcnow", lambda: now)  # the trash's clock, moved by hand
    prompt = store.record_use("gone for good")
    store.delete_prompt(prompt.id)
    window = timedelta(minutes=app.config["UNDO_MINUTES"])
    now += window - timedelta(seconds=1)
    assert [deleted[0] for deleted in store.recently_deleted()] == [prompt.id]
    now += timedelta(seconds=2)
    assert store.recently_deleted() == []
    response = admin.post(f"/admin/prompts/{prompt.id}/restore", data={"csrf_token": admin.token})
    assert response.status_code == 404


def test_restore_needs_the_admin(client, admin, ctx):
    prompt = store.record_use("protected")
    store.delete_prompt(prompt.id)
    assert client.post(f"/admin/prompts/{prompt.id}/restore").status_code == 403
    assert admin.post(f"/admin/prompts/{prompt.id}/restore").status_code == 403  # no token
    assert count() == 0


def hidden_fields(html):
    """The hidden inputs of the cleanup's confirm form, as the browser would send them."""
    import re

    form = re.search(r'<form[^>]*>(?:(?!</form>).)*class="confirm danger".*?</form>', html, re.S)
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form.group(0)))


def test_cleanup_confirm_removes_exactly_what_the_preview_showed(admin, ctx, monkeypatch):
    now = datetime.now(UTC)
    store.record_use("old and reused", used_at=now - timedelta(days=60))
    store.record_use("old and removed", used_at=now - timedelta(days=60))
    store.record_use("not quite old", used_at=now - timedelta(days=29))
    store.record_use("fresh")
    preview = admin.post(
        "/admin/cleanup", data={"csrf_token": admin.token, "unused_days": "30"}, headers=HX
    ).get_data(as_text=True)
    assert "This would remove <strong>2 prompts</strong>." in preview
    form = hidden_fields(preview)
    # Meanwhile: one previewed prompt is used again, an old one is recorded, and two
    # days pass, so "not quite old" is now unused for 31 days.
    store.record_use("old and reused")
    store.record_use("recorded after the preview", used_at=now - timedelta(days=90))
    monkeypatch.setattr(store, "utcnow", lambda: now + timedelta(days=2))
    html = admin.post("/admin/cleanup", data=form, headers=HX).get_data(as_text=True)
    assert "Removed <strong>1 prompt</strong>." in html
    left = {p.prompt_text for p in Prompt.page(limit=10).items}
    assert left == {"old and reused", "not quite old", "fresh", "recorded after the preview"}
    undo = hidden_fields_of_undo(html)
    answer = admin.post(undo["action"], data=undo["fields"], headers=HX)
    assert answer.status_code == 200 and "Restored <strong>1 prompt</strong>" in answer.get_data(
        as_text=True
    )
    assert count() == 5


def hidden_fields_of_undo(html):
    """The Undo form of a cleanup's result: where it posts and what it sends."""
    import re

    within = r"(?:(?!</form>).)*"
    form = re.search(rf'<form[^>]*action="([^"]+)"[^>]*>({within}class="undo"{within})', html, re.S)
    fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form.group(2)))
    return {"action": form.group(1), "fields": fields}


def test_cleanup_can_be_undone_as_a_whole_from_the_admin_page(admin, ctx):
    first = store.record_use("lost one", model="m")
    store.record_use("lost one", model="m")
    second = store.record_use("lost two")
    kept = store.record_use("kept", image_data=png_bytes())
    preview = admin.post(
        "/admin/cleanup", data={"csrf_token": admin.token, "without_thumbnail": "yes"}
    ).get_data(as_text=True)
    html = admin.post("/admin/cleanup", data=hidden_fields(preview)).get_data(as_text=True)
    assert "Removed <strong>2 prompts</strong>." in html and count() == 1
    page = admin.get("/admin/").get_data(as_text=True)
    assert "Cleanup of 2 prompts" in page and "lost one" in page
    undo = hidden_fields_of_undo(page)
    assert admin.post(undo["action"], data=undo["fields"]).status_code == 302
    assert "Restored 2 prompts" in admin.get("/admin/").get_data(as_text=True)
    back = {p.id: (p.prompt_text, p.total_uses, p.model) for p in Prompt.top("recent", 10)}
    assert back == {
        first.id: ("lost one", 2, "m"),
        second.id: ("lost two", 1, None),
        kept.id: ("kept", 1, None),
    }
    assert store.recently_deleted() == []
    again = admin.post(undo["action"], data=undo["fields"])
    assert again.status_code == 404 and count() == 3


def png_bytes():
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "teal").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "change, field",
    [
        ({"cutoff": "last tuesday"}, "cutoff"),
        ({"cutoff": ""}, "cutoff"),
        ({"highest_id": "many"}, "highest_id"),
        ({"highest_id": ""}, "highest_id"),
    ],
)
def test_a_tampered_cleanup_confirmation_is_refused(admin, ctx, change, field):
    store.record_use("old", used_at=datetime.now(UTC) - timedelta(days=60))
    preview = admin.post(
        "/admin/cleanup", data={"csrf_token": admin.token, "unused_days": "30"}
    ).get_data(as_text=True)
    response = admin.post("/admin/cleanup", data={**hidden_fields(preview), **change})
    assert response.status_code == 400 and field in response.get_data(as_text=True)
    assert count() == 1


def test_undoing_a_cleanup_needs_the_admin_and_the_token(client, admin, ctx):
    store.record_use("removed")
    report = store.cleanup(without_thumbnail=True)
    url = f"/admin/cleanups/{report.batch}/restore"
    assert client.post(url).status_code == 403
    assert client.post(url, data={"csrf_token": csrf_token_from(client)}).status_code == 403
    assert admin.post(url).status_code == 403  # no token
    assert count() == 0
    assert (
        admin.post("/admin/cleanups/nonsense/restore", data={"csrf_token": admin.token}).status_code
        == 404
    )
    assert admin.post(url, data={"csrf_token": admin.token}).status_code == 302 and count() == 1


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


def test_a_long_cleanup_preview_says_how_many_it_does_not_list(admin, ctx):
    for n in range(23):
        store.record_use(f"no picture {n}")
    preview = admin.post(
        "/admin/cleanup",
        data={"csrf_token": admin.token, "without_thumbnail": "yes"},
        headers=HX,
    ).get_data(as_text=True)
    assert "This would remove <strong>23 prompts</strong>." in preview
    assert preview.count("<li>#") == 20
    assert "…and 3 more." in preview
