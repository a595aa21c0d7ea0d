"""A cleanup in the browser: preview, confirm exactly what it showed, undo the batch."""

from gallery import store
from gallery.models import Stats


def total(in_app):
    return in_app(Stats.current).total_prompts


def test_cleanup_removes_what_it_showed_and_undo_brings_it_back(
    page, expect, browser_log, sign_in, in_app
):
    for text in ("a faded sketch", "an unfinished idea"):
        in_app(store.record_use, text)
    sign_in(page)
    page.goto("/admin/")
    page.get_by_label("Prompts without a thumbnail").check()
    page.locator("button.preview").click()
    report = page.locator("#cleanup-report")
    expect(report).to_contain_text("This would remove 2 prompts.")
    in_app(store.record_use, "recorded after the preview")

    report.locator("button.confirm").click()

    expect(report).to_contain_text("Removed 2 prompts.")
    assert total(in_app) == 1
    report.locator("button.undo").click()
    expect(report).to_contain_text("Restored 2 prompts.")
    assert total(in_app) == 3
    page.reload()
    expect(page.locator("ul.deleted")).to_have_count(0)
