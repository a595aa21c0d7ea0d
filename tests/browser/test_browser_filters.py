"""The model filter and the sort order change the cards and the URL."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from gallery import store
from gallery.models import Prompt

# (prompt, model, uses): uses all differ, so "popular" has one right answer.
PROMPTS = [
    ("a glass teapot", "flux-dev", 4),
    ("a paper boat", "sdxl", 6),
    ("a brass compass", "flux-dev", 1),
    ("a wool scarf", "sdxl", 3),
    ("a clay bowl", "flux-dev", 5),
    ("a felt hat", None, 2),
]


@pytest.fixture
def seeded(in_app):
    """The prompts, each last used an hour after the one before; {text: id}."""
    start = datetime(2026, 3, 1, tzinfo=UTC)

    def seed():
        ids = {}
        for hour, (text, model, uses) in enumerate(PROMPTS):
            for _ in range(uses):
                used = start + timedelta(hours=hour)
                ids[text] = store.record_use(text, model=model, used_at=used).id
        return ids

    return in_app(seed)


def cards_of(in_app, sort, model=None):
    return [p.id for p in in_app(Prompt.page, sort, model, limit=100).items]


def uses_shown(page):
    texts = page.locator("#cards article.card .uses").all_inner_texts()
    return [int(re.search(r"\d+", text).group()) for text in texts]


def test_sort_orders_change_the_cards_and_the_url(page, expect, seeded, in_app, expect_cards):
    page.goto("/")
    sort = page.locator("form#search select[name=sort]")
    values = sort.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert {"recent", "popular", "oldest"} <= set(values)
    expect_cards(page, cards_of(in_app, "recent"))

    sort.select_option("popular")
    expect(page).to_have_url(re.compile(r"[?&]sort=popular(&|$)"))
    expect(page.locator("#cards article.card").first).to_have_attribute(
        "data-id", str(seeded["a paper boat"])
    )
    expect_cards(page, cards_of(in_app, "popular"))
    assert uses_shown(page) == [6, 5, 4, 3, 2, 1]

    sort.select_option("oldest")
    expect(page).to_have_url(re.compile(r"[?&]sort=oldest(&|$)"))
    expect(page.locator("#cards article.card").first).to_have_attribute(
        "data-id", str(seeded["a glass teapot"])
    )
    expect_cards(page, cards_of(in_app, "oldest"))

    page.reload()
    expect(sort).to_have_value("oldest")
    expect_cards(page, cards_of(in_app, "oldest"))


def test_model_filter_shows_only_that_model(page, expect, seeded, in_app, expect_cards):
    page.goto("/")
    model = page.locator("form#search select[name=model]")
    options = model.locator("option")
    expect(options.first).to_have_attribute("value", "")
    labels = options.all_inner_texts()
    assert any(re.fullmatch(r"\s*flux-dev \(3\)\s*", label) for label in labels), labels
    assert any(re.fullmatch(r"\s*sdxl \(2\)\s*", label) for label in labels), labels

    model.select_option(label=next(lb for lb in labels if "flux-dev" in lb))
    expect(page).to_have_url(re.compile(r"[?&]model=flux-dev(&|$)"))
    expect_cards(page, cards_of(in_app, "recent", "flux-dev"))
    assert set(page.locator("#cards .model").all_inner_texts()) == {"flux-dev"}

    page.locator("form#search select[name=sort]").select_option("popular")
    expect(page).to_have_url(re.compile(r"[?&]sort=popular(&|$)"))
    expect(page).to_have_url(re.compile(r"[?&]model=flux-dev(&|$)"))
    expect_cards(page, cards_of(in_app, "popular", "flux-dev"))
    assert uses_shown(page) == [5, 4, 1]

    model.select_option("")
    expect_cards(page, cards_of(in_app, "popular"))

    page.go_back()
    expect_cards(page, cards_of(in_app, "popular", "flux-dev"))
    expect(model).to_have_value("flux-dev")


def test_prompts_without_a_model_can_be_picked(page, expect, seeded, expect_cards):
    page.goto("/")
    model = page.locator("form#search select[name=model]")
    no_model = model.locator("option", has_text=re.compile(r"\(1\)\s*$"))
    expect(no_model).to_have_count(1)
    model.select_option(no_model.get_attribute("value"))
    expect_cards(page, [seeded["a felt hat"]])
    expect(page.locator("#cards .model")).to_have_text("no model")


def test_a_search_offers_best_match_first(page, expect, seeded):
    sort = page.locator("form#search select[name=sort]")
    selected = "s => [s.selectedOptions[0].value, s.selectedOptions[0].text]"
    page.goto("/")
    # Without words to match, "best match" would only mislabel the "recent" order.
    assert sort.locator("option").evaluate_all("os => os.map(o => o.value)") == [
        "recent",
        "popular",
        "oldest",
    ]
    assert sort.evaluate(selected)[0] == "recent"
    page.goto("/?q=paper")
    assert re.search(r"(?i)best match|relevan", sort.evaluate(selected)[1])


def test_typing_a_search_adds_best_match_under_the_servers_label(page, expect, seeded):
    best = page.locator('form#search select[name=sort] option[value="relevance"]')
    page.goto("/?q=paper")
    label = best.inner_text()
    page.goto("/")
    page.locator("#q").type("paper")
    expect(best).to_have_text(label)
    expect(page.locator("form#search select[name=sort]")).to_have_value("relevance")


def sort_menu(page):
    """[[value, label]] of the sort menu's options."""
    options = page.locator("form#search select[name=sort] option")
    return options.evaluate_all("os => os.map(o => [o.value, o.text])")


def test_typing_and_clearing_a_search_switch_to_the_menus_the_server_renders(page, expect, seeded):
    sort = page.locator("form#search select[name=sort]")
    page.goto("/?q=paper")
    searching = sort_menu(page)
    page.goto("/")
    listing = sort_menu(page)
    assert searching != listing

    page.locator("#q").type("paper")
    expect(sort).to_have_value(searching[0][0])
    assert sort_menu(page) == searching
    page.locator("#q").fill("")
    expect(sort).to_have_value(listing[0][0])
    assert sort_menu(page) == listing

    # An order the visitor chose, that both menus offer, stays through a search.
    sort.select_option(listing[-1][0])
    page.locator("#q").type("paper")
    expect(page).to_have_url(re.compile(r"[?&]q=paper(&|$)"))
    assert sort_menu(page) == searching
    expect(sort).to_have_value(listing[-1][0])
    page.locator("#q").fill("")
    expect(page).not_to_have_url(re.compile(r"[?&]q=paper"))
    expect(sort).to_have_value(listing[-1][0])
