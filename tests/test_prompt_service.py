"""The design document's examples, run as written: import the service and call it."""

import io

import pytest
from PIL import Image

from gallery.errors import InvalidInput
from gallery.models import Stats
from gallery.prompt_service import prompt_service
from tests.conftest import ENGINE


def test_seed_examples_work_without_an_app(tmp_path):
    image = tmp_path / "image.png"
    Image.new("RGB", (300, 200), "orange").save(image)

    response = prompt_service.create_or_update_prompt(
        prompt_text="A beautiful sunset over mountains",
        model="gemini-2.5-flash-image-preview",
        image_path=str(image),
    )
    assert response.id == 1 and response.total_uses == 1 and response.created

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "navy").save(buffer, "PNG")
    again = prompt_service.create_or_update_prompt(
        prompt_text="a beautiful   SUNSET over mountains",
        model="your-model",
        image_data=buffer.getvalue(),
    )
    assert again.id == 1 and again.total_uses == 2 and again.thumbnail_updated

    results = prompt_service.search_prompts("sunset", limit=10)
    assert [f"{p.prompt_text} ({p.total_uses} uses)" for p in results] == [
        "A beautiful sunset over mountains (2 uses)"
    ]
    stats = prompt_service.get_stats()
    assert (stats.total_prompts, stats.total_uses) == (1, 2)
    if ENGINE == "sqlite":
        assert (tmp_path / "standalone.db").exists()  # GALLERY_DATABASE_URL chose the file


def test_service_reads_and_deletes(tmp_path):
    for text in ["one", "two", "two", "three"]:
        prompt_service.create_or_update_prompt(text)
    assert prompt_service.get_popular_prompts(limit=1)[0].prompt_text == "two"
    assert prompt_service.get_recent_prompts(limit=1)[0].prompt_text == "three"
    assert prompt_service.get_prompt(1).prompt_text == "one"
    prompt_service.delete_prompt(1)
    assert prompt_service.get_stats().total_prompts == 2
    assert prompt_service.cleanup(without_thumbnail=True, dry_run=True).count == 2


def test_app_context_uses_the_apps_database(ctx, app):
    prompt_service.create_or_update_prompt("inside the app")
    assert prompt_service.get_stats().total_prompts == 1
    assert Stats.current().total_prompts == 1


def test_the_service_refuses_unstorable_input_with_a_clear_error():
    with pytest.raises(InvalidInput, match="surrogate") as info:
        prompt_service.create_or_update_prompt("sunset \udc80")
    assert info.value.field == "prompt_text"
    with pytest.raises(InvalidInput, match="used_at") as info:
        prompt_service.create_or_update_prompt("sunset", used_at="0001-01-01T00:00:00+14:00")
    assert info.value.field == "used_at"
    assert prompt_service.get_stats().total_prompts == 0
