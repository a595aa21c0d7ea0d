"""Scrolling loads every further page: nothing twice, nothing missing, in database order."""

from datetime import UTC, datetime, timedelta

import pytest

from gallery import store
from gallery.models import Prompt
from gallery.search import search_prompts

PAGE_SIZE = 5
# Three and a half pages; every third prompt shares its time with the one before,
# so some ties fall across page boundaries and the keyset tie-break must hold.
COUNT = PAGE_SIZE * 3 + PAGE_SIZE // 2


@pytest.fixture
def app_config():
    return {"PAGE_SIZE": PAGE_SIZE}


@pytest.fixture
def seeded(in_app):
    start = datetime(2026, 1, 1, tzinfo=UTC)

    def seed():
        for i in range(COUNT):
            used_at = start + timedelta(minutes=i - (i % 3 == 2))
            kind = "harbour" if i % 2 else "meadow"
            # Two use counts only: "popular" is mostly ties, broken by id.
            for _ in range(1 + (i % 4 == 0)):
                store.record_use(f"prompt {i:02d}, a {kind} at dawn", model="m", used_at=used_at)

    in_app(seed)


def every_page(fetch):
    """All items of a paged query, following its cursors."""
    items, cursor = [], None
    while True:
        page = fetch(cursor)
        items += page.items
        cursor = page.next_cursor
        if cursor is None:
            return [p.id for p in items]


def scroll_to_the_end(page, expect):
    """Scroll like a reader until no load-more link is left; return the page count seen."""
    cards = page.locator("#cards article.card")
    loads = 0
    while page.locator("a.load-more").count():
        before = cards.count()
        page.mouse.wheel(0, 20_000)
        expect(cards).not_to_have_count(before)
        loads += 1
        assert loads <= COUNT, "load-more never ran out"
    return loads


@pytest.fixture
def narrow(open_page):
    """A phone-sized page: a first page of cards does not fit, so scrolling is needed."""
    return open_page(viewport={"width": 390, "height": 700})


def test_scrolling_loads_every_card_once_in_order(narrow, expect, seeded, in_app, card_ids):
    narrow.goto("/")
    expect(narrow.locator("#cards article.card")).to_have_count(PAGE_SIZE)
    expect(narrow.locator("a.load-more")).to_have_count(1)

    loads = scroll_to_the_end(narrow, expect)

    expected = in_app(every_page, lambda c: Prompt.page("recent", cursor=c, limit=7))
    ids = card_ids(narrow)
    assert len(ids) == len(set(ids)), "a card was shown twice"
    assert ids == expected
    assert loads >= 3


def test_search_results_page_the_same_way(narrow, expect, seeded, in_app, card_ids):
    narrow.goto("/?q=harbour")
    expect(narrow.locator("#cards article.card")).to_have_count(PAGE_SIZE)

    scroll_to_the_end(narrow, expect)

    expected = in_app(every_page, lambda c: search_prompts("harbour", cursor=c, limit=7))
    ids = card_ids(narrow)
    assert len(ids) == len(set(ids)), "a card was shown twice"
    assert ids == expected
    assert len(ids) == COUNT // 2


def test_popular_order_pages_through_ties(narrow, expect, seeded, in_app, card_ids):
    narrow.goto("/?sort=popular")
    expect(narrow.locator("#cards article.card")).to_have_count(PAGE_SIZE)

    scroll_to_the_end(narrow, expect)

    expected = in_app(every_page, lambda c: Prompt.page("popular", cursor=c, limit=7))
    ids = card_ids(narrow)
    assert len(ids) == len(set(ids)), "a card was shown twice"
    assert ids == expected
