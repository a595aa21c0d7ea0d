"""Only the signed-in admin deletes, from the card, after confirming; forgeries fail."""

import re

import pytest

from gallery import store
from gallery.errors import NotFound
from gallery.models import Prompt

FORGE_JS = """async ([url, headers]) => {
    const response = await fetch(url, {method: "DELETE", headers});
    return response.status;
}"""


@pytest.fixture
def ids(in_app):
    """Three prompts; their ids."""
    texts = ["a moss-covered robot", "a lantern festival", "a quiet harbour"]
    return [in_app(store.record_use, text, model="m").id for text in texts]


def exists(in_app, prompt_id):
    try:
        in_app(Prompt.card, prompt_id)
    except NotFound:
        return False
    return True


def test_admin_deletes_a_card_without_a_reload(page, expect, browser_log, sign_in, ids, in_app):
    sign_in(page)
    expect(page.locator("button.sign-out")).to_be_visible()
    page.goto("/")
    expect(page.locator("#cards button.delete")).to_have_count(len(ids))
    page.evaluate("() => { window.notReloaded = true }")
    card = page.locator(f'#cards article.card[data-id="{ids[1]}"]')

    browser_log.accept_dialogs = True
    card.locator("button.delete").click()

    expect(card).to_have_count(0)
    expect(page.locator("#notice")).to_contain_text("Deleted")
    assert page.evaluate("() => window.notReloaded === true"), "the page reloaded"
    assert [kind for kind, _ in browser_log.dialogs] == ["confirm"]
    expect(page.locator("#cards article.card")).to_have_count(len(ids) - 1)
    assert not exists(in_app, ids[1])
    assert exists(in_app, ids[0]) and exists(in_app, ids[2])


def test_undo_in_the_notice_brings_the_prompt_back(page, expect, browser_log, sign_in, ids, in_app):
    sign_in(page)
    page.goto("/")
    browser_log.accept_dialogs = True
    page.locator(f'#cards article.card[data-id="{ids[2]}"] button.delete').click()
    expect(page.locator("#notice")).to_contain_text("Deleted")
    assert not exists(in_app, ids[2])

    page.locator("#notice button.undo").click()

    expect(page.locator("#notice")).to_contain_text("Restored prompt")
    assert exists(in_app, ids[2])
    page.reload()
    expect(page.locator(f'#cards article.card[data-id="{ids[2]}"]')).to_have_count(1)


def test_dismissing_the_confirm_keeps_the_prompt(page, expect, browser_log, sign_in, ids, in_app):
    sign_in(page)
    page.goto("/")
    deletes = []
    page.on("request", lambda r: deletes.append(r.url) if r.method == "DELETE" else None)

    page.locator(f'#cards article.card[data-id="{ids[0]}"] button.delete').click()

    expect(page.locator("#cards article.card")).to_have_count(len(ids))
    assert [kind for kind, _ in browser_log.dialogs] == ["confirm"]
    page.wait_for_timeout(300)  # a DELETE sent after the dismissal would arrive by now
    assert deletes == []
    assert exists(in_app, ids[0])


def test_admin_can_delete_from_the_prompt_page(page, expect, browser_log, sign_in, ids, in_app):
    sign_in(page)
    page.goto(f"/prompts/{ids[2]}")
    browser_log.accept_dialogs = True

    page.locator("main").get_by_role("button", name=re.compile("delete", re.I)).click()

    expect(page.locator("#notice")).to_contain_text("Deleted")
    assert not exists(in_app, ids[2])


def test_a_visitor_sees_no_delete_and_cannot_forge_one(page, expect, browser_log, ids, in_app):
    page.goto("/")
    expect(page.locator("#cards article.card")).to_have_count(len(ids))
    expect(page.locator("button.delete")).to_have_count(0)
    expect(page.locator("button.sign-out")).to_have_count(0)
    page.goto(f"/prompts/{ids[0]}")
    expect(page.locator("button.delete, form[action*=delete]")).to_have_count(0)
    browser_log.allow_console_error(r"status of 40[03]")

    url = f"/admin/prompts/{ids[0]}"
    assert page.evaluate(FORGE_JS, [url, {}]) in (400, 403)
    assert page.evaluate(FORGE_JS, [url, {"X-CSRF-Token": "guess", "HX-Request": "true"}]) in (
        400,
        403,
    )
    assert exists(in_app, ids[0])


def test_a_signed_in_admin_needs_the_token_too(page, expect, browser_log, sign_in, ids, in_app):
    """A cross-site request rides on the admin's cookie but cannot know the token."""
    sign_in(page)
    page.goto("/")
    browser_log.allow_console_error(r"status of 40[03]")

    url = f"/admin/prompts/{ids[0]}"
    assert page.evaluate(FORGE_JS, [url, {}]) in (400, 403)
    assert page.evaluate(FORGE_JS, [url, {"X-CSRF-Token": "guess"}]) in (400, 403)
    assert exists(in_app, ids[0])


def test_a_wrong_password_does_not_sign_in(page, expect, browser_log):
    browser_log.allow_console_error(r"status of 401")
    page.goto("/admin/sign-in")
    page.locator("input[name=password]").fill("wrong horse")
    page.locator("form:has(input[name=password]) [type=submit]").click()

    expect(page.locator("input[name=password]")).to_be_visible()
    assert not re.search(r"/admin/?$", page.url)
    expect(page.locator("button.sign-out")).to_have_count(0)
    page.goto("/admin")
    expect(page).to_have_url(re.compile(r"/admin/sign-in"))


def test_signing_out_removes_the_admin_controls(page, expect, sign_in, ids):
    sign_in(page)
    page.goto("/")
    expect(page.locator("#cards button.delete")).to_have_count(len(ids))

    page.locator("button.sign-out").click()

    expect(page.locator("button.sign-out")).to_have_count(0)
    page.goto("/")
    expect(page.locator("#cards article.card")).to_have_count(len(ids))
    expect(page.locator("button.delete")).to_have_count(0)
