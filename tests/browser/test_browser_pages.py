"""Every page loads its assets and runs without a console error or an inline script."""

import io
import re

import pytest
from PIL import Image

from gallery import store

# Lazy images below the fold may never load; the ones in view must finish (or fail).
IMAGES_IN_VIEW_SETTLED = """() => [...document.images]
    .filter(img => img.getBoundingClientRect().top < innerHeight)
    .every(img => img.complete)"""
INLINE_JS = """() => ({
    scripts: [...document.scripts].filter(s => !s.src).length,
    handlers: [...document.querySelectorAll("*")].filter(
        el => [...el.attributes].some(a => a.name.startsWith("on"))).length,
    brokenImages: [...document.images].filter(
        img => img.complete && img.naturalWidth === 0).map(img => img.src),
})"""


def png(color, size=(96, 64)):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def prompt_id(in_app):
    in_app(store.record_use, "no picture for this one", model="sdxl")
    in_app(store.record_use, "a green square", model="flux-dev", image_data=png("green"))
    return in_app(store.record_use, "a red square", model="flux-dev", image_data=png("red")).id


def check(page, path):
    response = page.goto(path)
    assert response.ok, f"{path}: {response.status}"
    page.wait_for_function(IMAGES_IN_VIEW_SETTLED)
    found = page.evaluate(INLINE_JS)
    assert found == {"scripts": 0, "handlers": 0, "brokenImages": []}, path
    assert page.evaluate("() => typeof htmx") == "object", f"{path}: htmx did not load"


def test_public_pages_have_no_errors(page, expect, prompt_id):
    for path in ("/", "/stats", f"/prompts/{prompt_id}", "/admin/sign-in"):
        check(page, path)
    page.goto("/")
    expect(page.locator("#cards img.thumb")).to_have_count(2)
    expect(page.locator("#cards div.thumb.placeholder")).to_have_count(1)
    thumb = page.locator(f'#cards article.card[data-id="{prompt_id}"] img.thumb')
    expect(thumb).to_have_attribute("loading", "lazy")
    expect(thumb).to_have_attribute("src", re.compile(rf"^/prompts/{prompt_id}/thumbnail\?v=."))
    assert thumb.get_attribute("width") and thumb.get_attribute("height")
    card = page.locator(f'#cards article.card[data-id="{prompt_id}"]')
    expect(card.locator(".uses")).to_have_text("1 use")
    expect(card.locator(".model")).to_have_text("flux-dev")
    last_used = card.locator("time.last-used")
    expect(last_used).to_have_attribute("datetime", re.compile(r"^\d{4}-\d\d-\d\dT"))
    expect(last_used).to_have_attribute("title", re.compile(r"\d\d:\d\d:\d\d UTC"))
    expect(last_used).to_have_text(re.compile(r"just now|ago"))
    expect(card.locator("a.open")).to_have_attribute("href", f"/prompts/{prompt_id}")


def test_prompt_page_shows_the_large_thumbnail(page, expect, prompt_id):
    check(page, f"/prompts/{prompt_id}")
    large = page.locator("img.thumb-large")
    expect(large).to_be_visible()
    assert large.evaluate("img => img.complete && img.naturalWidth") > 0
    expect(page.locator("main")).to_contain_text("a red square")
    expect(page.locator("main")).to_contain_text("flux-dev")


def test_stats_page_draws_a_chart(page, expect, prompt_id):
    check(page, "/stats")
    chart = page.locator("svg.chart")
    expect(chart).to_be_visible()
    assert chart.locator("rect").count() >= 2  # one bar per model at least
    expect(page.locator("main")).to_contain_text("a red square")


def test_admin_pages_have_no_errors(page, sign_in, prompt_id):
    sign_in(page)
    for path in ("/admin", "/", "/stats", f"/prompts/{prompt_id}"):
        check(page, path)
