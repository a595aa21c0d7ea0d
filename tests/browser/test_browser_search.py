"""Typing a search swaps the grid and pushes the URL; back and reload bring it back."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from gallery import store
from gallery.search import search_prompts

PROMPTS = [
    "a red fox in a snowy forest",
    "a red vintage car on a coast road",
    "an arctic fox asleep on the ice",
    "blue ocean waves at noon",
    "a lighthouse at dusk",
]


@pytest.fixture
def seeded(in_app):
    """The prompts, each used at its own time; {text: id}."""
    start = datetime(2026, 1, 1, tzinfo=UTC)

    def seed():
        return {
            text: store.record_use(text, model="m", used_at=start + timedelta(hours=i)).id
            for i, text in enumerate(PROMPTS)
        }

    return in_app(seed)


HTML_JS = "nodes => nodes.map(n => n.innerHTML.trim())"


def matching(in_app, query):
    """Ids the search engine finds for `query`, best match first."""
    return [p.id for p in in_app(search_prompts, query, limit=100).items]


def test_typing_filters_the_grid_and_pushes_the_url(page, expect, seeded, in_app, expect_cards):
    page.goto("/")
    expect_cards(page, [seeded[text] for text in reversed(PROMPTS)])  # the latest first
    searches = []
    page.on("request", lambda r: searches.append(r.url) if "q=" in r.url else None)

    page.locator("form#search input[name=q]").press_sequentially("fox", delay=40)

    expect(page).to_have_url(re.compile(r"[?&]q=fox(&|$)"))
    foxes = matching(in_app, "fox")
    expect_cards(page, foxes)
    marks = page.locator("#cards .prompt-text mark").all_inner_texts()
    assert len(marks) >= len(foxes)
    assert {text.casefold() for text in marks} == {"fox"}
    # Keystrokes 40 ms apart are one search, not three.
    assert len(searches) == 1, searches
    assert "q=fox" in searches[0]


def test_back_restores_each_previous_search(page, expect, seeded, in_app, expect_cards):
    page.goto("/")
    start_url = page.url
    everything = [seeded[text] for text in reversed(PROMPTS)]
    expect_cards(page, everything)
    box = page.locator("form#search input[name=q]")
    box.press_sequentially("red", delay=40)
    expect(page).to_have_url(re.compile(r"[?&]q=red(&|$)"))
    reds = matching(in_app, "red")
    expect_cards(page, reds)
    red_url = page.url
    box.fill("fox")
    expect(page).to_have_url(re.compile(r"[?&]q=fox(&|$)"))
    expect_cards(page, matching(in_app, "fox"))

    page.go_back()
    expect(page).to_have_url(red_url)
    expect_cards(page, reds)
    page.go_back()
    expect(page).to_have_url(start_url)
    expect_cards(page, everything)
    expect(box).to_have_value("")


def test_a_search_url_reloads_to_the_same_results(page, expect, seeded, in_app, expect_cards):
    page.goto("/")
    page.locator("form#search input[name=q]").fill("fox")
    expect(page).to_have_url(re.compile(r"[?&]q=fox(&|$)"))
    foxes = matching(in_app, "fox")
    expect_cards(page, foxes)
    swapped = page.locator("#cards .prompt-text").evaluate_all(HTML_JS)

    page.reload()
    expect(page.locator("form#search input[name=q]")).to_have_value("fox")
    expect_cards(page, foxes)
    # The full page renders the same highlighted cards the fragment did.
    assert page.locator("#cards .prompt-text").evaluate_all(HTML_JS) == swapped
    assert page.locator("#cards .prompt-text mark").count() >= len(foxes)

    page.goto("/?q=nothing-like-this")
    expect(page.locator("#results p.empty")).to_contain_text("nothing-like-this")
    assert page.locator("#cards article.card").count() == 0
    page.locator("#results a.clear-search").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect_cards(page, [seeded[text] for text in reversed(PROMPTS)])


def test_back_from_a_prompt_page_shows_the_whole_search_page(page, expect, seeded, in_app):
    """The pushed URL was fetched as a fragment once; back must not show that fragment."""
    page.goto("/")
    page.locator("form#search input[name=q]").fill("fox")
    expect(page).to_have_url(re.compile(r"[?&]q=fox(&|$)"))
    foxes = matching(in_app, "fox")
    page.locator(f'#cards article.card[data-id="{foxes[0]}"] a.open').click()
    expect(page).to_have_url(re.compile(rf"/prompts/{foxes[0]}$"))

    page.go_back()

    expect(page).to_have_url(re.compile(r"[?&]q=fox(&|$)"))
    expect(page.locator("header")).to_have_count(1)
    expect(page.locator("form#search input[name=q]")).to_have_value("fox")
    expect(page.locator("#cards article.card")).to_have_count(len(foxes))
