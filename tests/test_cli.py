"""`flask gallery ...` commands, including their one-line errors."""

import sqlite3

import pytest
from PIL import Image

from gallery import store


def run(runner, *args):
    return runner.invoke(args=["gallery", *args])


def test_add_search_stats_delete(runner, ctx, tmp_path):
    image = tmp_path / "pic.jpg"
    Image.new("RGB", (900, 600), "teal").save(image)
    result = run(runner, "add", "A lighthouse at dusk", "--model", "sdxl", "--image", str(image))
    assert result.exit_code == 0 and "Added prompt #1" in result.output
    result = run(runner, "add", "a LIGHTHOUSE  at dusk")
    assert "Counted another use of prompt #1 (used 2x)" in result.output

    result = run(runner, "search", "lighth")
    assert "#1  2x  [sdxl]  A lighthouse at dusk" in result.output
    assert "No prompt matches." in run(runner, "search", "zebra").output

    result = run(runner, "stats")
    assert "Prompts:      1" in result.output and "sdxl: 1 prompts, 2 uses" in result.output

    assert "Deleted prompt #1." in run(runner, "delete", "1").output
    assert store.get_stats().total_prompts == 0


def test_errors_are_one_clear_line(runner, ctx):
    result = run(runner, "add", "   ")
    assert result.exit_code == 1 and result.output.strip() == "Error: prompt is empty"
    result = run(runner, "delete", "42")
    assert result.exit_code == 1 and "no prompt with id 42" in result.output
    result = run(runner, "cleanup")
    assert result.exit_code == 1 and "choose what to clean up" in result.output
    result = run(runner, "search", "x", "--limit", "0")
    assert result.exit_code == 1 and "limit must be between 1 and 100" in result.output


def test_add_with_unreadable_image_warns_but_records(runner, ctx, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"nope")
    result = run(runner, "add", "still counted", "--image", str(bad))
    assert result.exit_code == 0 and "Warning: image not used" in result.output
    assert store.get_stats().total_prompts == 1


def test_cleanup_dry_run_and_real(runner, ctx):
    store.record_use("no picture")
    result = run(runner, "cleanup", "--without-thumbnail", "--dry-run")
    assert "Would remove 1 prompt(s)." in result.output and "no picture" in result.output
    assert store.get_stats().total_prompts == 1
    assert "Removed 1 prompt(s)." in run(runner, "cleanup", "--without-thumbnail").output
    assert store.get_stats().total_prompts == 0


@pytest.mark.sqlite
def test_backup(runner, ctx, tmp_path):
    store.record_use("save me")
    target = tmp_path / "backup.db"
    result = run(runner, "backup", str(target))
    assert result.exit_code == 0 and "Backed up to" in result.output
    assert sqlite3.connect(target).execute("SELECT prompt_text FROM prompts").fetchone() == (
        "save me",
    )
    assert "already exists" in run(runner, "backup", str(target)).output


def test_demo_fills_the_gallery(runner, ctx):
    result = run(runner, "demo")
    assert result.exit_code == 0 and "Loaded 36 demo prompts" in result.output
    stats = store.get_stats()
    assert stats.total_prompts == 36
    assert stats.total_uses > 36
    assert 0 < stats.with_thumbnail < 36
    assert len(stats.models) == 5


def test_reparse_lists_a_file_it_cannot_record_and_goes_on(runner, ctx, app, tmp_path):
    import json

    from gallery import importer
    from gallery.models import ImportedFile
    from tests.test_importer import png_with

    for n in range(2):
        importer.import_paths([png_with(tmp_path / f"{n}.png", parameters="", note=f"{n}")])
    for record, text in zip(
        ImportedFile.select().order_by(ImportedFile.id), ["x" * 30, "short"], strict=True
    ):
        raw = json.dumps({"parameters": f"{text}\nSteps: 5", "Creation Time": "2090-01-01"})
        ImportedFile.update(raw_metadata=raw).where(ImportedFile.id == record.id).execute()
    app.config["MAX_PROMPT_LENGTH"] = 20
    result = run(runner, "reparse")
    assert result.exit_code == 0, result.output
    assert "Found prompts in 1 file(s) that had none; recorded them." in result.output
    assert "Could not record 1:" in result.output
    assert f"{tmp_path / '0.png'}: prompt is 30 characters long; the limit is 20" in result.output
    assert [p.prompt_text for p in store.list_prompts().items] == ["short"]
