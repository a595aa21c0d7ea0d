"""Paging: tampered cursors, and pages that hold while prompts are recorded between them."""

import base64
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from gallery import store
from gallery.models import Prompt
from gallery.search import PostgresSearch, SqliteSearch, search_prompts

HX = {"HX-Request": "true"}
START = datetime(2026, 1, 1, tzinfo=UTC)


def token(value):
    """A cursor as the server would spell one, holding whatever a visitor put in it."""
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# name -> (sort, cursor)
TAMPERED = {
    "id of 2**63": ("recent", token(["recent", "2026-01-01T00:00:00+00:00", 2**63])),
    "use count of 2**63": ("popular", token(["popular", 2**63, 1])),
    "use count below -2**63": ("popular", token(["popular", -(2**63) - 1, 1])),
    "date before year 1 in UTC": ("recent", token(["recent", "0001-01-01T00:00:00+05:00", 1])),
    "date after 9999 in UTC": ("oldest", token(["oldest", "9999-12-31T23:59:59-05:00", 1])),
    "JSON nested 1,200 deep": ("recent", token(b"[" * 1200 + b"]" * 1200)),
    "a huge number": ("popular", token(b'["popular", ' + b"9" * 5000 + b", 1]")),
    "not a cursor": ("recent", "tampered!"),
}
RELEVANCE_TAMPERED = {
    "id of 2**63": token(["relevance", 0.5, 2**63, 10]),
    "snapshot of 2**63": token(["relevance", 0.5, 1, 2**63]),
    "score not a number": token(b'["relevance", NaN, 1, 10]'),
    "score infinite": token(b'["relevance", Infinity, 1, 10]'),
    "score as text": token(["relevance", "0.5", 1, 10]),
    "no snapshot": token(["relevance", 0.5, 1]),
    "an offset": "24",
}


@pytest.fixture
def filled(ctx):
    for i in range(12):
        store.record_use(f"a lighthouse number {i}", used_at=START + timedelta(hours=i))
    return ctx


def assert_cursor_error(response):
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["error"]["field"] == "cursor"


@pytest.mark.parametrize("name", TAMPERED)
def test_a_tampered_cursor_is_400_in_the_api(client, filled, name):
    sort, cursor = TAMPERED[name]
    assert_cursor_error(client.get(f"/api/prompts/?sort={sort}&cursor={cursor}"))
    url = f"/api/prompts/search?q=lighthouse&sort={sort}&cursor={cursor}"
    assert_cursor_error(client.get(url))


@pytest.mark.parametrize("name", RELEVANCE_TAMPERED)
def test_a_tampered_best_match_cursor_is_400_in_the_api(client, filled, name):
    url = f"/api/prompts/search?q=lighthouse&cursor={RELEVANCE_TAMPERED[name]}"
    assert_cursor_error(client.get(url))


def card_ids(html):
    return [int(i) for i in re.findall(r'class="card" data-id="(\d+)"', html)]


def notice(html):
    match = re.search(r'<div id="notice"[^>]*>(.*?)</div>', html, re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)).strip() if match else ""


@pytest.mark.parametrize("name", TAMPERED)
def test_a_tampered_cursor_shows_the_first_page_in_the_gallery(client, filled, name):
    sort, cursor = TAMPERED[name]
    first = client.get(f"/?sort={sort}").get_data(as_text=True)
    response = client.get(f"/?sort={sort}&cursor={cursor}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in html
    assert card_ids(html) == card_ids(first) != []
    assert "first page" in notice(html) and "first page" not in notice(first)


@pytest.mark.parametrize(
    "query",
    [
        "sort=name",
        "sort=name&cursor=tampered",
        "q=lighthouse&sort=name",
        "q=lighthouse&cursor=-4",
        f"q=lighthouse&cursor={RELEVANCE_TAMPERED['snapshot of 2**63']}",
        f"q=lighthouse&sort=popular&cursor={TAMPERED['use count of 2**63'][1]}",
    ],
)
def test_a_bad_sort_or_cursor_shows_the_first_page_in_the_gallery(client, filled, query):
    q = "q=lighthouse" if "q=" in query else ""
    first = client.get(f"/?{q}").get_data(as_text=True)
    response = client.get(f"/?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert card_ids(html) == card_ids(first) != []
    assert "first page" in notice(html)


def test_a_tampered_load_more_replaces_the_results_with_the_first_page(client, filled):
    first = card_ids(client.get("/").get_data(as_text=True))
    response = client.get(f"/?sort=recent&cursor={TAMPERED['id of 2**63'][1]}", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    # The load-more link asked for the next cards; the first page goes in place of all cards.
    assert response.headers["HX-Retarget"] == "#results"
    assert response.headers["HX-Reswap"] == "innerHTML"
    assert card_ids(html) == first
    assert "first page" in notice(html) and 'hx-swap-oob="true"' in html


def walk(fetch, between=lambda page_number: None):
    """Every item of a paged query, calling `between` after each page."""
    seen, cursor, number = [], None, 0
    while True:
        page = fetch(cursor)
        seen += [p.id for p in page.items]
        number += 1
        if not (cursor := page.next_cursor):
            return seen
        between(number)


def test_oldest_pages_hold_while_prompts_are_used(filled):
    before = [p.id for p in Prompt.page("oldest", limit=100).items]

    def use_some(page_number):
        # A card already shown and one not shown yet are both used again.
        store.record_use(f"a lighthouse number {page_number}")
        store.record_use(f"a lighthouse number {11 - page_number}")

    seen = walk(lambda c: Prompt.page("oldest", cursor=c, limit=4), use_some)
    assert seen == before


def test_oldest_is_the_order_of_first_use(ctx):
    old = store.record_use("first used long ago", used_at=START)
    new = store.record_use("first used lately", used_at=START + timedelta(days=30))
    store.record_use("first used long ago")  # used again now: still the oldest
    assert [p.id for p in Prompt.page("oldest").items] == [old.id, new.id]


@pytest.fixture
def castles(ctx, monkeypatch):
    # Twelve matches with twelve different scores, and a window of the newest ten.
    for engine in (SqliteSearch, PostgresSearch):
        monkeypatch.setattr(engine, "RANK_AT_MOST", 10)
    for i in range(12):
        store.record_use(f"castle number {i}" + " castle" * (i % 5) + " moat" * (i % 3))
    return ctx


def test_best_match_pages_hold_while_prompts_are_recorded(castles):
    before = [p.id for p in search_prompts("castle", limit=100).items]

    text = {p.id: p.prompt_text for p in search_prompts("castle", limit=100).items}

    def record_some(page_number):
        # Better matches than any shown (they would push the window and the offsets),
        # and another use of a card already shown and of one not shown yet.
        store.record_use(f"castle castle castle castle castle {page_number}")
        store.record_use(text[before[page_number * 3 - 1]])
        store.record_use(text[before[-1]])

    seen = walk(lambda c: search_prompts("castle", cursor=c, limit=3), record_some)
    assert seen == before and len(set(seen)) == len(seen) == 10


def test_best_match_pages_hold_while_prompts_are_deleted(castles):
    before = [p.id for p in search_prompts("castle", limit=100).items]
    deleted = []

    def delete_a_shown_card(page_number):
        deleted.append(before[page_number - 1])
        store.delete_prompt(deleted[-1])

    seen = walk(lambda c: search_prompts("castle", cursor=c, limit=3), delete_a_shown_card)
    assert len(set(seen)) == len(seen)
    assert set(before) - set(deleted) <= set(seen)


def test_best_match_pages_through_the_gallery(client, castles):
    castles.config["PAGE_SIZE"] = 3
    html = client.get("/?q=castle").get_data(as_text=True)
    seen = card_ids(html)
    while match := re.search(r'class="load-more button" href="([^"]+)"', html):
        store.record_use(f"castle castle castle castle castle {len(seen)}")
        html = client.get(match.group(1).replace("&amp;", "&"), headers=HX).get_data(as_text=True)
        seen += card_ids(html)
    assert len(seen) == len(set(seen)) == 10


def test_an_empty_cursor_is_the_first_page(client, filled):
    first = client.get("/api/prompts/search?q=lighthouse&limit=3").json
    assert client.get("/api/prompts/search?q=lighthouse&limit=3&cursor=").json == first


# Records prompts in another process, one batch per line the test sends, and says
# "done" once the batch is committed: every page the test reads after that sees it.
PAGING_WRITER = """
import sys
from gallery import store
from gallery.models import Prompt
print("ready", flush=True)
for line in sys.stdin:
    for text in line.rstrip("\\n").split("|"):
        store.record_use(text, model="w")
    print("done", flush=True)
"""
SEEDED = 30


class Writer:
    """The writing process; write(texts) returns once they are committed."""

    def __init__(self, url):
        import os
        import subprocess
        import sys

        self.process = subprocess.Popen(
            [sys.executable, "-c", PAGING_WRITER],
            env=dict(os.environ, GALLERY_DATABASE_URL=url),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout.readline().strip() == "ready"

    def write(self, texts):
        self.process.stdin.write("|".join(texts) + "\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "done"

    def close(self):
        self.process.stdin.close()
        assert self.process.wait(timeout=30) == 0


def api_page(client, sort, cursor):
    url = f"/api/prompts/?sort={sort}&limit=4" + (f"&cursor={cursor}" if cursor else "")
    answer = client.get(url).json
    return [p["id"] for p in answer["items"]], answer["next_cursor"]


def gallery_page(client, sort, cursor):
    """The ids on a gallery page (the load-more fragment after the first) and the next one."""
    if cursor is None:
        html = client.get(f"/?sort={sort}").get_data(as_text=True)
    else:
        html = client.get(cursor, headers=HX).get_data(as_text=True)
    ids = [int(i) for i in re.findall(r'<article class="card[^"]*"[^>]*data-id="(\d+)"', html)]
    more = re.search(r'class="load-more button" href="([^"]+)"', html)
    return ids, more and more.group(1).replace("&amp;", "&")


@pytest.mark.slow
@pytest.mark.parametrize("reader", [api_page, gallery_page], ids=["api", "gallery"])
@pytest.mark.parametrize("sort", ["oldest", "recent", "popular"])
def test_paging_while_another_process_writes(app, client, sort, reader):
    """Between every two pages another process records a new prompt and uses again one
    card already shown and one not shown yet. In every order no card shows twice. A
    prompt whose sort key did not change is shown exactly once: in "oldest" that is
    every prompt that existed (a use leaves the first use alone); in "recent" and
    "popular" a use moves a prompt towards the pages already read, so the prompts used
    during paging may be missed, and only the others must all show."""
    app.config["PAGE_SIZE"] = 4
    with app.app_context():
        for i in range(SEEDED):
            for _ in range(1 + i % 3):
                store.record_use(f"a lighthouse number {i}", used_at=START + timedelta(hours=i))
        before = {p.prompt_text: p.id for p in Prompt.page(sort, limit=100).items}
    writer = Writer(app.config["DATABASE_URL"])
    try:
        seen, used, cursor, step = [], set(), None, 0
        while True:
            ids, cursor = reader(client, sort, cursor)
            assert ids, "an empty page before the end"
            seen += ids
            if not cursor:
                break
            unseen = [text for text, id_ in before.items() if id_ not in seen]
            again = [next(t for t, id_ in before.items() if id_ == seen[0])] + unseen[-1:]
            used |= {before[text] for text in again}
            writer.write([f"a new lighthouse {step}", *again])
            step += 1
    finally:
        writer.close()
    assert step >= 5, "the writer wrote between fewer pages than planned"
    assert len(seen) == len(set(seen)), f"a card showed twice: {seen}"
    existing = set(before.values())
    if sort == "oldest":
        assert existing <= set(seen)
    else:
        assert existing - used <= set(seen)
        assert used - set(seen) or sort == "popular", "no use moved a prompt past the reader"
