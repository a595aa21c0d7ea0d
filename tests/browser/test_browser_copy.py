"""The copy buttons put the whole prompt on the clipboard and say so."""

import pytest

from gallery import store
from gallery.models import Prompt

# Long (cards may shorten it), with quotes, markup characters, a line break and emoji.
PROMPT = (
    'a "quoted" <tiny> robot & its dog, ' + "walking through fields of lavender, " * 12
) + "\nnegative: blurry, watermark 🚫"


@pytest.fixture
def prompt_id(in_app):
    in_app(store.record_use, "something else entirely", model="m")
    return in_app(store.record_use, PROMPT, model="m").id


def clipboard(page):
    return page.evaluate("() => navigator.clipboard.readText()")


def test_card_copy_button_copies_the_full_prompt(page, expect, prompt_id, in_app):
    stored = in_app(Prompt.card, prompt_id).prompt_text
    page.goto("/")
    page.evaluate("() => navigator.clipboard.writeText('before')")
    button = page.locator(f'#cards article.card[data-id="{prompt_id}"] button.copy')

    button.click()

    expect(button).to_contain_text("Copied")
    assert clipboard(page) == stored
    # The other card's button did not change.
    expect(page.locator("#cards button.copy", has_text="Copied")).to_have_count(1)


def test_prompt_page_copy_button_copies_the_full_prompt(page, expect, prompt_id, in_app):
    stored = in_app(Prompt.card, prompt_id).prompt_text
    page.goto(f"/prompts/{prompt_id}")
    button = page.locator("main button.copy").first

    button.click()

    expect(button).to_contain_text("Copied")
    assert clipboard(page) == stored
