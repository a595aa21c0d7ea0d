"""Markup in a prompt or model name is shown as text everywhere, never run."""

import re

import pytest

from gallery import store

PROMPT = "a fox <script>alert(1)</script> and <img src=x onerror=alert(1)> in a script font"
MODEL = "<b onclick=alert(1)>b</b>"  # short enough not to be truncated anywhere


@pytest.fixture
def prompt_id(in_app):
    in_app(store.record_use, "a plain prompt", model="m")
    return in_app(store.record_use, PROMPT, model=MODEL).id


def assert_inert(page):
    """No element the prompt or model would have made, and nothing fired."""
    injected = page.locator("main img[src=x], main script, main b[onclick], [onerror]")
    assert injected.count() == 0


def test_card_shows_markup_as_text(page, expect, browser_log, prompt_id):
    page.goto("/")
    card = page.locator(f'#cards article.card[data-id="{prompt_id}"]')
    expect(card.locator(".prompt-text")).to_have_text(PROMPT)
    expect(card.locator(".model")).to_have_text(MODEL)
    model_options = page.locator("select[name=model] option").all_inner_texts()
    assert any(MODEL in label for label in model_options), model_options
    card.hover()
    assert_inert(page)
    assert browser_log.dialogs == []


def test_search_highlights_keep_markup_as_text(page, expect, browser_log, prompt_id):
    page.goto("/")
    page.locator("form#search input[name=q]").fill("script")
    expect(page).to_have_url(re.compile(r"[?&]q=script(&|$)"))
    card = page.locator(f'#cards article.card[data-id="{prompt_id}"]')
    expect(card.locator(".prompt-text")).to_have_text(PROMPT)
    marks = card.locator(".prompt-text mark")
    expect(marks).to_have_count(3)  # <script>, </script> and "script font"
    assert {m.casefold() for m in marks.all_inner_texts()} == {"script"}
    assert_inert(page)

    page.reload()  # the full page highlights the same way the fragment did
    expect(card.locator(".prompt-text")).to_have_text(PROMPT)
    expect(card.locator(".prompt-text mark")).to_have_count(3)
    assert_inert(page)
    assert browser_log.dialogs == []


def test_prompt_page_shows_markup_as_text(page, expect, browser_log, prompt_id):
    page.goto(f"/prompts/{prompt_id}")
    expect(page.locator("main")).to_contain_text(PROMPT)
    expect(page.locator("main")).to_contain_text(MODEL)
    assert_inert(page)
    page.goto("/stats")  # the most used prompts and the per-model chart
    expect(page.locator("main")).to_contain_text(PROMPT)
    expect(page.locator("main")).to_contain_text(MODEL)
    assert_inert(page)
    assert browser_log.dialogs == []
