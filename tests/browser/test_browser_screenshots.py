"""Screenshots of the demo gallery in light and dark, for the docs and for review."""

import pytest

from gallery import demo

VIEWPORT = {"width": 1280, "height": 900}

# Every image in view has loaded (lazy ones below the fold may wait).
IMAGES_IN_VIEW_LOADED = """() => [...document.images]
    .filter(img => img.getBoundingClientRect().top < innerHeight)
    .every(img => img.complete && img.naturalWidth > 0)"""
LUMINANCE = """() => {
    const [r, g, b] = getComputedStyle(document.body).backgroundColor.match(/\\d+/g).map(Number);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}"""


@pytest.fixture
def demo_data(in_app):
    return in_app(demo.load)


@pytest.fixture
def app_config():
    return {"PAGE_SIZE": 24}  # the default a visitor sees


def shoot(page, expect, path):
    page.goto("/")
    expect(page.locator("#cards article.card").first).to_be_visible()
    page.wait_for_function(IMAGES_IN_VIEW_LOADED)
    page.evaluate("() => document.fonts.ready")
    page.screenshot(path=path)
    assert path.stat().st_size > 10_000
    return page.evaluate(LUMINANCE)


def test_gallery_screenshots_light_and_dark(open_page, expect, artifacts, demo_data):
    luminance = {}
    for scheme in ("light", "dark"):  # test-artifacts/gallery-light.png goes into the docs
        page = open_page(viewport=VIEWPORT, color_scheme=scheme)
        luminance[scheme] = shoot(page, expect, artifacts / f"gallery-{scheme}.png")
    assert luminance["light"] > 128 > luminance["dark"], f"dark mode not applied: {luminance}"
