"""The write path and reads of gallery.store (the Python API)."""

import io
import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest
from PIL import Image

from gallery import backup as backups
from gallery import store
from gallery.errors import InvalidInput, InvalidPrompt, NotFound
from gallery.models import Prompt, Stats


def png(color="red", size=(64, 48)):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def test_first_use_inserts_with_one_use(ctx):
    r = store.record_use("  A sunset over mountains ", model="m1")
    assert r.created and r.total_uses == 1
    assert r.prompt_text == "A sunset over mountains"
    assert r.model == "m1"
    assert r.first_used_at == r.last_used_at
    assert r.first_used_at.tzinfo is UTC


def test_later_uses_increment_and_keep_first_use(ctx):
    first = store.record_use("a sunset", model="m1", used_at="2026-01-01T10:00:00Z")
    again = store.record_use("A  SUNSET", used_at="2026-02-01T10:00:00+01:00")
    assert not again.created
    assert again.id == first.id and again.total_uses == 2
    assert again.prompt_text == "a sunset"  # kept as first written
    assert again.model == "m1"  # no model given: kept
    assert again.first_used_at == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert again.last_used_at == datetime(2026, 2, 1, 9, tzinfo=UTC)
    third = store.record_use("a sunset", model="m2")
    assert third.total_uses == 3 and third.model == "m2"


def test_an_older_use_does_not_move_last_use_back(ctx):
    store.record_use("fox", used_at="2026-03-01T00:00:00")
    older = store.record_use("fox", used_at="2025-01-01T00:00:00")
    assert older.last_used_at == datetime(2026, 3, 1, tzinfo=UTC)
    assert older.first_used_at == datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.sqlite
def test_times_are_stored_in_utc(ctx):
    store.record_use("tz", used_at=datetime(2026, 5, 1, 12, tzinfo=UTC) + timedelta(hours=0))
    database = Prompt._meta.database
    raw = database.execute_sql("SELECT last_used_at FROM prompts").fetchone()[0]
    assert raw.startswith("2026-05-01 12:00:00")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"used_at": "yesterday"}, "used_at"),
        ({"used_at": 12}, "used_at"),
        ({"used_at": "2999-01-01T00:00:00Z"}, "used_at"),
        ({"model": 5}, "model"),
        ({"model": "x" * 201}, "model"),
        ({"image_path": "a.png", "image_data": b"x"}, "image"),
    ],
)
def test_bad_arguments_are_refused_and_store_nothing(ctx, kwargs, field):
    with pytest.raises(InvalidInput) as info:
        store.record_use("a prompt", **kwargs)
    assert info.value.field == field
    assert Stats.current().total_prompts == 0


def test_empty_and_overlong_prompts_are_refused(ctx, app):
    with pytest.raises(InvalidPrompt, match="empty"):
        store.record_use(" \t ")
    app.config["MAX_PROMPT_LENGTH"] = 20
    with pytest.raises(InvalidPrompt, match="limit is 20"):
        store.record_use("x" * 21)
    assert Stats.current().total_prompts == 0


def test_thumbnail_is_stored_and_replaced_by_a_new_image(ctx):
    first = store.record_use("with image", image_data=png("red", (800, 400)))
    assert first.thumbnail_updated
    assert (first.thumbnail_width, first.thumbnail_height) == (512, 256)
    assert first.thumbnail_mime == "image/webp"
    data, mime, _ = Prompt.thumbnail(first.id)
    assert mime == "image/webp" and Image.open(io.BytesIO(data)).size == (512, 256)
    again = store.record_use("with image")  # no image: thumbnail kept
    assert not again.thumbnail_updated and Prompt.thumbnail(first.id)[0] == data
    third = store.record_use("with image", image_data=png("blue", (100, 300)))
    assert (third.thumbnail_width, third.thumbnail_height) == (100, 300)
    assert Prompt.thumbnail(first.id)[0] != data


def test_thumbnail_from_a_path(ctx, tmp_path):
    path = tmp_path / "a.png"
    path.write_bytes(png())
    assert store.record_use("path image", image_path=path).thumbnail_updated


def test_unreadable_image_still_records_the_use(ctx, caplog):
    store.record_use("keep me", image_data=png())
    before = Prompt.thumbnail(Stats.current().total_prompts)[0]
    r = store.record_use("keep me", image_data=b"not an image at all")
    assert r.total_uses == 2
    assert not r.thumbnail_updated and "not an image" in r.thumbnail_error
    assert Prompt.thumbnail(r.id)[0] == before
    assert "without a new thumbnail" in caplog.text


def test_get_and_delete(ctx):
    r = store.record_use("to delete")
    assert Prompt.card(r.id).prompt_text == "to delete"
    store.delete_prompt(r.id)
    with pytest.raises(NotFound):
        Prompt.card(r.id)
    with pytest.raises(NotFound):
        store.delete_prompt(r.id)
    with pytest.raises(InvalidInput, match="whole number"):
        Prompt.card("abc")
    with pytest.raises(InvalidInput, match="positive"):
        store.delete_prompt(-3)


def test_thumbnail_of_prompt_without_one_is_not_found(ctx):
    r = store.record_use("no picture")
    with pytest.raises(NotFound):
        Prompt.thumbnail(r.id)


def test_listings_never_carry_the_picture(ctx):
    from gallery.search import search_prompts

    # A card shows the picture's size and version; reading the BLOB for it costs per card.
    r = store.record_use("blob", image_data=png(), model="m")
    picture = Prompt.thumbnail(r.id)
    data = picture.data
    pages = [Prompt.page(sort) for sort in ("recent", "popular", "oldest")]
    pages += [Prompt.page(model="m"), search_prompts("blob")]
    pages += [search_prompts("blob", sort="recent", model="m")]
    cards = [page.items for page in pages] + [Prompt.top("popular"), Prompt.top("recent")]
    for card in (card for page in cards for card in page):
        assert (card.thumbnail_bytes, card.thumbnail_digest) == (len(data), picture.version)
        values = [*card.__data__.values(), *vars(card).values()]
        assert not [v for v in values if isinstance(v, bytes | memoryview) and bytes(v) == data]


def make_prompts(count):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(count):
        store.record_use(
            f"prompt number {i}", model=f"m{i % 3}", used_at=start + timedelta(hours=i)
        )
        for _ in range(i % 4):
            store.record_use(f"prompt number {i}", used_at=start + timedelta(hours=i))


@pytest.mark.parametrize("sort", ["recent", "popular", "oldest"])
@pytest.mark.parametrize("model", [None, "m1"])
def test_keyset_pages_cover_everything_once_in_order(ctx, sort, model):
    make_prompts(50)
    # Prompt i was used 1 + i % 4 times, last at hour i, with model m{i % 3}.
    ids = {p.prompt_text: p.id for p in Prompt.select(Prompt.id, Prompt.prompt_text)}
    made = [(i, ids[f"prompt number {i}"]) for i in range(50) if model in (None, f"m{i % 3}")]
    order = {
        "recent": lambda m: -m[0],
        "oldest": lambda m: m[0],
        "popular": lambda m: (-(1 + m[0] % 4), m[1]),  # ties: the older id first
    }
    expected = [prompt_id for _, prompt_id in sorted(made, key=order[sort])]
    seen, cursor = [], None
    while True:
        page = Prompt.page(sort, model, cursor, limit=7)
        seen += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [p.id for p in seen] == expected
    assert len({p.id for p in seen}) == len(seen)


def test_sort_orders(ctx):
    make_prompts(8)
    recent = Prompt.top("recent", limit=8)
    assert [p.last_used_at for p in recent] == sorted(
        (p.last_used_at for p in recent), reverse=True
    )
    popular = Prompt.top("popular", limit=8)
    assert [p.total_uses for p in popular] == sorted((p.total_uses for p in popular), reverse=True)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"sort": "name"}, "sort"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"cursor": "WyJwb3B1bGFyIiwxLDJd"}, "cursor"),  # a popular cursor used for recent
    ],
)
def test_bad_list_parameters(ctx, kwargs, field):
    with pytest.raises(InvalidInput) as info:
        Prompt.page(**kwargs)
    assert info.value.field == field


def test_cleanup_dry_run_then_for_real(ctx):
    old = datetime.now(UTC) - timedelta(days=100)
    store.record_use("old without image", used_at=old)
    store.record_use("new without image")
    store.record_use("old with image", image_data=png(), used_at=old)
    store.record_use("new with image", image_data=png())

    report = store.cleanup(without_thumbnail=True, dry_run=True)
    assert report.count == 2 and report.dry_run
    assert Stats.current().total_prompts == 4
    report = store.cleanup(unused_for_days=30, dry_run=True)
    assert {text for _, text in report.examples} == {"old without image", "old with image"}
    report = store.cleanup(without_thumbnail=True, unused_for_days=30)
    assert report.count == 3
    assert [p.prompt_text for p in Prompt.top("recent")] == ["new with image"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"unused_for_days": 0},
        {"unused_for_days": "soon"},
        {"unused_for_days": -5},
        {"unused_for_days": 10**9},
    ],
)
def test_cleanup_refuses_unclear_criteria(ctx, kwargs):
    store.record_use("survivor")
    with pytest.raises(InvalidInput):
        store.cleanup(**kwargs)
    assert Stats.current().total_prompts == 1


def test_stats(ctx):
    store.record_use("a", model="m1", image_data=png(), used_at="2026-01-01T00:00:00Z")
    store.record_use("a", model="m1", used_at="2026-01-02T00:00:00Z")
    store.record_use("b", model="m2")
    store.record_use("c")
    s = Stats.current()
    assert (s.total_prompts, s.total_uses) == (3, 4)
    assert (s.with_thumbnail, s.without_thumbnail) == (1, 2)
    assert s.thumbnail_bytes == len(Prompt.thumbnail(1)[0])
    assert s.database_bytes > 0
    assert s.first_activity == datetime(2026, 1, 1, tzinfo=UTC)
    assert s.last_activity > s.first_activity
    assert sorted(s.models, key=str) == sorted([("m1", 1, 2), ("m2", 1, 1), (None, 1, 1)], key=str)


def test_stats_of_an_empty_store(ctx):
    s = Stats.current()
    assert (s.total_prompts, s.total_uses, s.thumbnail_bytes) == (0, 0, 0)
    assert s.first_activity is None and s.models == []


@pytest.mark.sqlite
def test_backup_is_a_consistent_copy(ctx, tmp_path):
    for i in range(20):
        store.record_use(f"backed up {i}", image_data=png() if i % 2 else None)
    target = tmp_path / "copy.db"
    assert backups.backup(target) > 0
    copy = sqlite3.connect(target)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT COUNT(*) FROM prompts").fetchone()[0] == 20
    with pytest.raises(InvalidInput, match="already exists"):
        backups.backup(target)
    with pytest.raises(InvalidInput, match="does not exist"):
        backups.backup(tmp_path / "missing" / "copy.db")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"prompt_text": "a \ud800 lone surrogate"}, "prompt_text"),
        ({"model": "sd\udc00xl"}, "model"),
        ({"used_at": "0001-01-01T00:00:00+14:00"}, "used_at"),
        ({"used_at": "9999-12-31T23:59:59-14:00"}, "used_at"),
        ({"used_at": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))}, "used_at"),
        ({"used_at": datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-14)))}, "used_at"),
    ],
)
def test_unstorable_text_and_times_are_refused_naming_the_field(ctx, kwargs, field):
    with pytest.raises(InvalidInput) as info:
        store.record_use(**{"prompt_text": "a prompt", **kwargs})
    assert info.value.field == field and info.value.message
    assert Stats.current().total_prompts == 0


def test_an_invisible_prompt_is_refused_like_an_empty_one(ctx):
    with pytest.raises(InvalidPrompt, match="empty.*invisible"):
        store.record_use("\u200b\u200d\ufeff")
    assert store.record_use("a fox", model="\u200b\u00ad").model is None
    assert Stats.current().models == [(None, 1, 1)]


def test_a_recorded_result_can_be_copied_and_pickled(ctx):
    import copy
    import pickle

    recorded = store.record_use("copy me", model="sdxl", image_data=png())
    for twin in (
        copy.copy(recorded),
        copy.deepcopy(recorded),
        pickle.loads(pickle.dumps(recorded)),
    ):
        assert (twin.id, twin.total_uses, twin.model) == (recorded.id, 1, "sdxl")
        assert twin.created and twin.thumbnail_updated and twin.thumbnail_error is None
    with pytest.raises(AttributeError):
        recorded.no_such_attribute  # noqa: B018 - the read itself is the test
