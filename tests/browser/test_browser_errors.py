"""A failed htmx request says so in the notice, with the server's message: none is silent."""

import pytest

from gallery import store, views
from gallery.errors import Unavailable
from gallery.models import Prompt

BUSY = "the database is busy; try again in a moment"
STATUS_ERRORS = r"status of (403|503)|Response Status Error Code"


@pytest.fixture
def ids(in_app):
    texts = ["a moss-covered robot", "a lantern festival", "a quiet harbour"]
    return [in_app(store.record_use, text, model="m").id for text in texts]


@pytest.fixture
def busy_search(monkeypatch):
    """From now on the gallery's listing answers 503, as with a locked database."""

    def arm():
        def busy(*args, **kwargs):
            raise Unavailable(BUSY)

        monkeypatch.setattr(views, "listing", busy)

    return arm


def notice(page):
    return page.locator("#notice")


def test_a_failing_search_shows_the_servers_message(
    page, expect, browser_log, ids, busy_search, card_ids
):
    browser_log.allow_console_error(STATUS_ERRORS)
    page.goto("/")
    expect(page.locator("#cards article.card")).to_have_count(len(ids))
    shown = card_ids(page)
    busy_search()

    page.locator("#q").fill("robot")

    expect(notice(page)).to_contain_text(BUSY)
    expect(notice(page)).to_be_visible()
    assert card_ids(page) == shown  # the old results stay
    assert page.locator("#notice[role=alert], #notice [role=alert]").count() == 1


def test_a_delete_with_a_stale_security_token_says_why(
    page, expect, browser_log, sign_in, ids, in_app
):
    browser_log.allow_console_error(STATUS_ERRORS)
    sign_in(page)
    page.goto("/")
    page.evaluate("""() => document.body.setAttribute("hx-headers", '{"X-CSRF-Token": "stale"}')""")
    browser_log.accept_dialogs = True

    page.locator(f'#cards article.card[data-id="{ids[0]}"] button.delete').click()

    expect(notice(page)).to_contain_text("security token is missing or out of date")
    expect(page.locator(f'#cards article.card[data-id="{ids[0]}"]')).to_have_count(1)
    assert in_app(Prompt.card, ids[0]).prompt_text == "a moss-covered robot"


def test_a_network_error_is_shown(page, expect, browser_log, ids):
    browser_log.allow_console_error(r"net::ERR_FAILED|htmx:(sendError|afterRequest)")
    page.goto("/")
    page.route("**/?q=*", lambda route: route.abort())

    page.locator("#q").fill("harbour")

    expect(notice(page)).to_contain_text("Could not reach the gallery")
    expect(page.locator("#cards article.card")).to_have_count(len(ids))


def test_after_an_error_the_next_search_clears_the_notice(
    page, expect, browser_log, ids, monkeypatch
):
    browser_log.allow_console_error(r"net::ERR_FAILED|htmx:(sendError|afterRequest)")
    page.goto("/")
    page.route("**/?q=*", lambda route: route.abort())
    page.locator("#q").fill("harbour")
    expect(notice(page)).to_contain_text("Could not reach the gallery")
    page.unroute("**/?q=*")

    page.locator("#q").fill("lantern")

    expect(page.locator("#cards article.card")).to_have_count(1)
    expect(notice(page)).to_be_hidden()


@pytest.mark.parametrize("width", [1440, 390])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_error_notice_screenshots(
    open_page, expect, browser_log, ids, busy_search, artifacts, width, scheme
):
    browser_log.allow_console_error(STATUS_ERRORS)
    page = open_page(viewport={"width": width, "height": 800}, color_scheme=scheme)
    page.goto("/")
    busy_search()
    page.locator("#q").fill("robot")
    expect(notice(page)).to_contain_text(BUSY)
    page.screenshot(path=artifacts / f"error-notice-{width}-{scheme}.png")
