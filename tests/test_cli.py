"""`flask gallery ...` commands, including their one-line errors."""

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from gallery import create_app, store
from gallery.models import Prompt, Stats
from tests.conftest import close_pool, unavailable


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
    assert Stats.current().total_prompts == 0


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
    assert Stats.current().total_prompts == 1


def test_cleanup_dry_run_and_real(runner, ctx):
    store.record_use("no picture")
    result = run(runner, "cleanup", "--without-thumbnail", "--dry-run")
    assert "Would remove 1 prompt." in result.output and "no picture" in result.output
    assert Stats.current().total_prompts == 1
    assert "Removed 1 prompt." in run(runner, "cleanup", "--without-thumbnail").output
    assert Stats.current().total_prompts == 0


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
    stats = Stats.current()
    assert stats.total_prompts == 36
    assert stats.total_uses > 36
    assert 0 < stats.with_thumbnail < 36
    assert len(stats.models) == 5


def test_an_invisible_prompt_is_one_error_line(runner, ctx):
    result = run(runner, "add", "\u200b\u2060\u3000")
    assert result.exit_code == 1
    assert result.output.strip().startswith("Error: prompt is empty")
    assert len(result.output.strip().splitlines()) == 1
    assert Stats.current().total_prompts == 0


def assert_one_error_line(result, *words, after=()):
    """Exit status 1 with one `Error: ...` line that says what (after the lines a command
    printed before it failed, such as the import's progress bar), and no traceback."""
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    *before, error = result.output.strip().splitlines()
    assert result.exit_code == 1 and error.startswith("Error: ") and before == list(after)
    for word in words:
        assert word in error


def write_commands(tmp_path):
    image = tmp_path / "images" / "made.png"
    image.parent.mkdir()
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "an imported prompt\nSteps: 20")
    Image.new("RGB", (32, 32), "plum").save(image, pnginfo=info)
    return [
        ["add", "a new prompt"],
        ["delete", "1"],
        ["cleanup", "--without-thumbnail"],
        ["create-token", "worker"],
        ["import", str(image.parent)],
    ]


def test_an_unreachable_postgresql_is_one_error_line(tmp_path):
    pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    app = create_app(
        {"SECRET_KEY": "test", "DATABASE_URL": "postgresql://gallery@127.0.0.1:1/gallery"},
        instance_path=tmp_path / "instance",
    )
    runner = app.test_cli_runner()
    reads = [["stats"], ["search", "fox"], ["list-tokens"], ["init-db"]]
    for args in reads + write_commands(tmp_path):
        assert_one_error_line(run(runner, *args), "127.0.0.1", "port 1")


@pytest.fixture
def read_only_store(app, tmp_path):
    """The app's SQLite file with one prompt, made read-only in a way that holds for root:
    the immutable attribute (chattr +i), which refuses writes to everyone."""
    with app.app_context():
        store.record_use("kept safe")
    close_pool(app)  # the last connection checkpoints the write-ahead log away
    path = Path(app.config["DATABASE_URL"].removeprefix("sqlite:///"))
    if os.geteuid() != 0:
        path.chmod(0o444)
    elif subprocess.run(["chattr", "+i", path], capture_output=True).returncode != 0:
        unavailable("chattr +i does not work here (not root, or the file system lacks it)")
    yield path
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", path], check=True)
    path.chmod(0o644)


@pytest.mark.sqlite
def test_a_read_only_sqlite_store_reads_and_refuses_writes_in_one_line(
    app, runner, read_only_store, tmp_path
):
    for args in write_commands(tmp_path):
        progress = ["Importing"] if args[0] == "import" else []
        assert_one_error_line(run(runner, *args), "read-only", after=progress)
    assert "#1  1x  [no model]  kept safe" in run(runner, "search", "kept").output
    assert "Prompts:      1" in run(runner, "stats").output


def test_an_argument_that_is_not_utf8_is_one_error_line(runner, ctx):
    # A shell passes bytes; Python turns undecodable ones into lone surrogates.
    assert_one_error_line(run(runner, "add", "a fox \udcff"), "lone surrogate")
    assert_one_error_line(run(runner, "add", "a fox", "--model", "sd\udcff"), "model")
    assert Stats.current().total_prompts == 0


def test_cleanup_can_be_undone_within_the_undo_window(runner, ctx):
    store.record_use("first without image")
    store.record_use("second without image")
    result = run(runner, "cleanup", "--without-thumbnail")
    assert result.exit_code == 0 and "Removed 2 prompts." in result.output
    assert "can be restored from the admin page until" in result.output
    assert Stats.current().total_prompts == 0
    (entry,) = store.recently_deleted()
    assert entry.count == 2 and store.restore_cleanup(entry.batch) == 2
    assert Stats.current().total_prompts == 2


def test_stats_say_uses_follow_the_latest_model(runner, ctx):
    store.record_use("switched models", model="sdxl")
    store.record_use("switched models", model="flux")
    result = run(runner, "stats")
    assert "Uses by latest model" in result.output and "flux: 1 prompts, 2 uses" in result.output


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
    assert "Found prompts in 1 file that had none; recorded them." in result.output
    assert "Could not record 1:" in result.output
    assert f"{tmp_path / '0.png'}: prompt is 30 characters long; the limit is 20" in result.output
    assert [p.prompt_text for p in Prompt.page().items] == ["short"]
