"""The gallery pages: full pages and htmx fragments from one URL, thumbnails, stats."""

import hashlib
import io
import re

import pytest
from PIL import Image

from gallery import store
from gallery.models import Prompt

HX = {"HX-Request": "true"}


def png(size=(300, 200), color="purple"):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def filled(ctx, app):
    app.config["PAGE_SIZE"] = 5
    for i in range(12):
        store.record_use(
            f"a lighthouse number {i}" if i % 2 else f"a red fox {i}",
            model="sdxl" if i % 3 else "flux",
            image_data=png() if i % 4 else None,
        )
    return app


def card_ids(html):
    return [int(i) for i in re.findall(r'class="card" data-id="(\d+)"', html)]


def test_index_full_page_and_fragment(client, filled):
    page = client.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html and 'id="results"' in html
    assert len(card_ids(html)) == 5 and "load-more" in html
    assert "HX-Request" in page.headers["Vary"]

    fragment = client.get("/", headers=HX).get_data(as_text=True)
    assert "<html" not in fragment and card_ids(fragment) == card_ids(html)
    restore = client.get("/", headers={**HX, "HX-History-Restore-Request": "true"})
    assert "<html" in restore.get_data(as_text=True)


def test_pages_by_cursor_cover_everything_once(client, filled):
    html = client.get("/").get_data(as_text=True)
    seen = card_ids(html)
    while match := re.search(r'class="load-more button" href="([^"]+)"', html):
        html = client.get(match.group(1).replace("&amp;", "&"), headers=HX).get_data(as_text=True)
        assert "<html" not in html and 'id="results"' not in html
        seen += card_ids(html)
    assert sorted(seen) == list(range(1, 13)) and len(seen) == len(set(seen))


def test_next_page_works_as_a_plain_link(client, filled):
    html = client.get("/").get_data(as_text=True)
    href = re.search(r'class="load-more button" href="([^"]+)"', html).group(1)
    full = client.get(href.replace("&amp;", "&")).get_data(as_text=True)
    assert "<html" in full and len(card_ids(full)) == 5


def test_search_filters_and_highlights(client, filled):
    html = client.get("/?q=lighth", headers=HX).get_data(as_text=True)
    assert len(card_ids(html)) == 5
    assert "a <mark>lighthouse</mark> number" in html
    assert "fox" not in html
    empty = client.get("/?q=zebra", headers=HX).get_data(as_text=True)
    assert "No prompt matches" in empty and 'class="clear-search' in empty


def test_model_filter_and_sort(client, filled):
    html = client.get("/?model=flux&sort=popular").get_data(as_text=True)
    assert 'value="flux" selected' in html
    ids = card_ids(html)
    for prompt_id in ids:
        assert Prompt.card(prompt_id).model == "flux"
    # The fox prompts have the odd ids, recorded in id order; all were used once so far.
    assert card_ids(client.get("/?sort=oldest&q=fox").get_data(as_text=True)) == [1, 3, 5, 7, 9]
    assert store.record_use("a red fox 4").id == 5  # now used twice, and used last
    assert card_ids(client.get("/?sort=popular").get_data(as_text=True)) == [5, 1, 2, 3, 4]
    assert card_ids(client.get("/?sort=recent").get_data(as_text=True)) == [5, 12, 11, 10, 9]
    oldest = client.get("/?sort=oldest&q=fox").get_data(as_text=True)
    assert card_ids(oldest) == [1, 3, 5, 7, 9]  # first recorded first: a new use changes nothing


def test_no_model_filter(client, ctx):
    store.record_use("without model")
    store.record_use("with model", model="m")
    html = client.get("/?model=__none__").get_data(as_text=True)
    assert "without model" in html and "with model</p>" not in html


def test_a_bad_sort_or_cursor_is_the_first_page_with_a_notice(client, filled):
    for url in ["/?sort=name", "/?cursor=tampered", "/?q=fox&cursor=-4"]:
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert "<html" in html and "so this is the first page" in html, url
        assert card_ids(html) == card_ids(client.get(url.partition("&")[0]).get_data(as_text=True))


def test_other_bad_parameters_are_400_pages(client, filled):
    response = client.get("/?q=a%00b")
    assert response.status_code == 400 and "<html" in response.get_data(as_text=True)


def test_hostile_prompt_is_text_everywhere(client, ctx):
    evil = '<script>alert(1)</script> <img src=x onerror=alert(1)> "quoted"'
    prompt = store.record_use(evil)
    for url in ["/", "/?q=script", f"/prompts/{prompt.id}"]:
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, url
        assert "&lt;script&gt;" in html, url


def test_prompt_page(client, filled):
    html = client.get("/prompts/2").get_data(as_text=True)
    assert 'class="prompt-full"' in html and "thumb-large" in html
    assert client.get("/prompts/999").status_code == 404
    assert client.get("/prompts/abc").status_code == 404


def test_visitors_see_no_delete_control(client, filled):
    assert 'class="delete' not in client.get("/").get_data(as_text=True)
    assert 'class="delete' not in client.get("/prompts/2").get_data(as_text=True)


def test_thumbnail_route_caching(client, filled):
    html = client.get("/").get_data(as_text=True)
    src = re.search(r'src="(/prompts/\d+/thumbnail\?v=[0-9a-f]+)"', html).group(1)
    response = client.get(src)
    assert response.status_code == 200 and response.mimetype == "image/webp"
    assert response.content_length == len(response.data)
    assert "immutable" in response.headers["Cache-Control"]
    etag = response.headers["ETag"]
    assert not etag.startswith("W/")
    again = client.get(src, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    unversioned = client.get(src.split("?")[0])
    assert "no-cache" in unversioned.headers["Cache-Control"]


def test_thumbnail_version_changes_with_a_new_image(client, ctx):
    first = store.record_use("changing", image_data=png(color="red"))
    second = store.record_use("changing", image_data=png((200, 200), "blue"))
    assert first.thumbnail_version != second.thumbnail_version
    html = client.get(f"/prompts/{first.id}").get_data(as_text=True)
    assert f"thumbnail?v={second.thumbnail_version}" in html
    assert f"v={first.thumbnail_version}" not in html
    served = client.get(f"/prompts/{first.id}/thumbnail?v={second.thumbnail_version}")
    shown = Image.open(io.BytesIO(served.data)).convert("RGB")
    assert shown.size == (200, 200) and shown.getpixel((100, 100)) == pytest.approx(
        (0, 0, 255), abs=8
    )


def test_missing_thumbnail_is_404(client, ctx):
    prompt = store.record_use("no image")
    assert client.get(f"/prompts/{prompt.id}/thumbnail").status_code == 404
    assert client.get("/prompts/77/thumbnail").status_code == 404


def test_stats_page(client, filled):
    html = client.get("/stats").get_data(as_text=True)
    assert '<svg class="chart"' in html and "sdxl" in html and "Most used" in html
    assert client.get("/stats").status_code == 200


def test_empty_gallery_says_so(client, ctx):
    html = client.get("/").get_data(as_text=True)
    assert "The gallery is empty" in html
    stats = client.get("/stats").get_data(as_text=True)
    assert "<strong>0</strong> prompts" in stats and "No activity yet." in stats
    assert "No uses recorded yet." in stats and "Nothing yet." in stats


def test_favicon_and_static(client, ctx):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert icon.get_data(as_text=True).lstrip().startswith("<svg")
    script = client.get("/static/vendor/htmx-2.0.11.min.js")
    assert script.status_code == 200 and script.mimetype == "text/javascript"
    assert "htmx" in script.get_data(as_text=True)


def test_right_to_left_override_stays_out_of_the_title(client, ctx):
    prompt = store.record_use("evil \u202egnp.exe <b>bold</b>")
    html = client.get(f"/prompts/{prompt.id}").get_data(as_text=True)
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    assert "\u202e" not in title and "&lt;b&gt;" in title
    assert "\u202e" in html  # the text itself is shown as written


def test_stats_chart_leaves_room_for_the_longest_label(client, filled):
    html = client.get("/stats").get_data(as_text=True)
    width = int(re.search(r'viewBox="0 0 (\d+) ', html).group(1))
    longest = max(float(x) for x in re.findall(r'<text x="([\d.]+)"[^>]*class="value"', html))
    assert longest + 170 <= width  # "NNNNN uses · NNNN prompts" at 13 px fits


def test_uses_per_model_say_they_follow_the_latest_model(client, ctx):
    for _ in range(3):
        store.record_use("switched models", model="sdxl")
    store.record_use("switched models", model="flux")
    stats = client.get("/stats").get_data(as_text=True)
    assert "Uses by latest model" in stats
    assert "counted under the model it was last recorded with" in stats
    assert "4 uses · 1 prompts" in stats and "sdxl" not in stats
    index = client.get("/").get_data(as_text=True)
    assert '<optgroup label="Prompts by latest model">' in index
    assert "flux (1)" in index


def thumbnail_src(client, prompt_id):
    html = client.get(f"/prompts/{prompt_id}").get_data(as_text=True)
    return re.search(r'src="(/prompts/\d+/thumbnail\?v=[0-9a-f]+)"', html).group(1)


def same_size_images():
    """Two different images whose thumbnails have the same size and shape."""
    from gallery.thumbnails import make_thumbnail

    by_size = {}
    for red in range(0, 256, 5):
        image = png(color=(red, 0, 0))
        found = by_size.setdefault(len(make_thumbnail(image).data), image)
        if found is not image:
            return found, image
    raise AssertionError("no two thumbnails of the same size")


def test_thumbnail_url_follows_the_picture_not_the_uses(client, ctx):
    from datetime import UTC, datetime, timedelta

    prompt = store.record_use("a picture", image_data=png(color="red"))
    first = thumbnail_src(client, prompt.id)
    store.record_use("a picture")  # used again, no new image
    store.record_use("A  picture", model="other")
    assert thumbnail_src(client, prompt.id) == first
    response = client.get(first)
    assert response.headers["ETag"] == f'"{hashlib.sha256(response.data).hexdigest()}"'
    assert first.endswith(f"v={hashlib.sha256(response.data).hexdigest()}")
    assert "immutable" in response.headers["Cache-Control"]
    assert client.get(first, headers={"If-None-Match": response.headers["ETag"]}).status_code == 304
    # A re-dated import of another picture of the same size: last_used_at stays.
    one, other = same_size_images()
    same = store.record_use("same size", image_data=one)
    before = thumbnail_src(client, same.id)
    old_etag = client.get(before).headers["ETag"]
    older = datetime.now(UTC) - timedelta(days=3)
    store.record_use("same size", image_data=other, used_at=older)
    after = thumbnail_src(client, same.id)
    assert after != before
    changed = client.get(after)
    assert changed.headers["ETag"] == f'"{hashlib.sha256(changed.data).hexdigest()}"'
    stale = client.get(after, headers={"If-None-Match": old_etag})
    assert stale.status_code == 200 and stale.data == changed.data


def test_thumbnail_url_survives_delete_undo_and_cleanup_undo(client, ctx):
    from datetime import UTC, datetime, timedelta

    old = datetime.now(UTC) - timedelta(days=60)
    prompt = store.record_use("kept picture", image_data=png(color="green"), used_at=old)
    src = thumbnail_src(client, prompt.id)
    store.delete_prompt(prompt.id)
    store.restore_prompt(prompt.id)
    assert thumbnail_src(client, prompt.id) == src
    report = store.cleanup(unused_for_days=30)
    assert report.count == 1 and store.restore_cleanup(report.batch) == 1
    assert thumbnail_src(client, prompt.id) == src
    store.delete_prompt(prompt.id)
    store.record_use("kept picture")  # recorded again, without a picture, meanwhile
    back = store.restore_prompt(prompt.id)
    merged = thumbnail_src(client, back.id)
    assert back.id != prompt.id and merged.partition("?")[2] == src.partition("?")[2]
    assert client.get(merged).headers["ETag"] == f'"{src.partition("v=")[2]}"'
