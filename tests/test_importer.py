"""Importing folders of generated images: metadata, thumbnails, idempotence, the summary."""

import json
import shutil
import threading
import time
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from gallery import importer, store
from gallery.models import ImportedFile, Prompt, Stats


@pytest.fixture
def folder(samples, tmp_path):
    """A copy of the AI samples (the originals stay untouched) plus a photo without metadata."""
    target = tmp_path / "images"
    shutil.copytree(samples / "ai-metadata", target, ignore=shutil.ignore_patterns("*.json"))
    shutil.copy(samples / "photos" / "chelsea.png", target / "plain-photo.png")
    return target


def png_with(path, **chunks):
    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    Image.new("RGB", (64, 64), "teal").save(path, pnginfo=info)
    return path


def expected_prompts(samples):
    expected = json.loads((samples / "ai-metadata" / "expected.json").read_text())
    return {name: entry["prompt"] for name, entry in expected.items() if entry["prompt"]}


def test_import_reads_every_generator_and_reimport_adds_nothing(ctx, folder, samples):
    report = importer.import_paths([folder], workers=1)
    with_prompt = expected_prompts(samples)
    assert report.imported == len(with_prompt)
    assert report.failed == []
    assert {p.rsplit("/", 1)[-1] for p in report.no_prompt} == {
        "gimp.jpg",
        "Designer.jpeg",
        "plain-photo.png",
    }
    stats = Stats.current()
    assert stats.total_uses == len(with_prompt)
    assert report.new_prompts == stats.total_prompts < len(with_prompt)  # the miku prompts merge

    again = importer.import_paths([folder], workers=1)
    assert again.imported == 0 and again.already_imported == len(with_prompt)
    assert Stats.current().total_uses == len(with_prompt)


def test_records_keep_raw_metadata_and_link_prompts(ctx, folder):
    importer.import_paths([folder / "automatic1111_cropped.png"], workers=1)
    record = ImportedFile.get()
    assert record.status == ImportedFile.IMPORTED
    assert record.prompt.prompt_text == "photo of a duck"
    assert record.prompt.model == "realistic_realisticVisionV20_v20"
    assert "Negative prompt" in json.loads(record.raw_metadata)["parameters"]


def test_parallel_and_single_process_give_the_same_database(app, folder, tmp_path):
    from gallery import create_app

    def snapshot(workers, name):
        other = create_app(
            {"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / name}"},
            instance_path=tmp_path / name.replace(".db", ""),
        )
        with other.app_context():
            importer.import_paths([folder], workers=workers)
            columns = [
                c for c in Prompt.card_columns() if getattr(c, "name", None) != "thumbnail_bytes"
            ]
            rows = Prompt.select(*columns, Prompt.thumbnail_data).order_by(Prompt.id).tuples()
            return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows]

    assert snapshot(1, "one.db") == snapshot(2, "two.db")


def test_used_at_comes_from_the_file_time_without_metadata_time(ctx, tmp_path):
    import os

    path = png_with(tmp_path / "a.png", parameters="a castle\nSteps: 20, Model: m1")
    os.utime(path, (1_700_000_000, 1_700_000_000))
    importer.import_paths([path], workers=1)
    prompt = Prompt.card(1)
    assert prompt.last_used_at.timestamp() == 1_700_000_000
    assert prompt.model == "m1"


def test_model_option_fills_in_missing_models(ctx, tmp_path):
    png_with(tmp_path / "a.png", parameters="a castle\nSteps: 20")
    importer.import_paths([tmp_path], model="my-model", workers=1)
    assert Prompt.card(1).model == "my-model"


def test_bad_files_are_listed_and_do_not_stop_the_import(ctx, tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("not an image")
    good = png_with(tmp_path / "good.png", parameters="a lighthouse\nSteps: 20")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[:60])
    report = importer.import_paths([tmp_path, tmp_path / "missing"], workers=1)
    assert report.imported == 1
    failed = dict(report.failed)
    assert str(tmp_path / "missing") in failed
    assert str(tmp_path / "empty.png") in failed and str(tmp_path / "text.jpg") in failed


def test_dry_run_changes_nothing(ctx, folder):
    report = importer.import_paths([folder], dry_run=True, workers=1)
    assert report.dry_run and len(report.would_import) >= 10
    assert Stats.current().total_prompts == 0
    assert ImportedFile.select().count() == 0


def test_recursive_walks_subfolders(ctx, tmp_path):
    (tmp_path / "sub").mkdir()
    png_with(tmp_path / "sub" / "deep.png", parameters="deep prompt\nSteps: 1")
    assert importer.import_paths([tmp_path], workers=1).imported == 0
    assert importer.import_paths([tmp_path], recursive=True, workers=1).imported == 1


def test_sidecar_text_file(ctx, tmp_path):
    png = tmp_path / "plain.png"
    Image.new("RGB", (32, 32)).save(png)
    (tmp_path / "plain.txt").write_text("a prompt from a sidecar file\n")
    assert importer.import_paths([png], workers=1).imported == 1
    assert Prompt.card(1).prompt_text == "a prompt from a sidecar file"


def test_reparse_finds_prompts_in_stored_metadata(ctx, tmp_path):
    path = png_with(tmp_path / "x.png", parameters="")
    importer.import_paths([path], workers=1)
    record = ImportedFile.get()
    assert record.status == ImportedFile.NO_PROMPT
    # A better reader today: pretend the stored metadata holds what it can read.
    ImportedFile.update(raw_metadata=json.dumps({"parameters": "found later\nSteps: 5"})).execute()
    report = importer.reparse()
    assert report.found == 1
    assert ImportedFile.get().status == ImportedFile.IMPORTED
    assert Prompt.card(1).prompt_text == "found later"


def test_deleted_prompts_do_not_come_back(ctx, tmp_path):
    path = png_with(tmp_path / "x.png", parameters="unwanted\nSteps: 5")
    importer.import_paths([path], workers=1)
    store.delete_prompt(1)
    assert ImportedFile.get().prompt is None
    assert importer.import_paths([path], workers=1).already_imported == 1
    assert Stats.current().total_prompts == 0


def test_upload_import(ctx, tmp_path):
    data = png_with(tmp_path / "u.png", parameters="uploaded prompt\nSteps: 3").read_bytes()
    result = importer.import_upload("u.png", data)
    assert result.outcome == "new" and result.prompt_id == 1
    assert importer.import_upload("u.png", data).outcome == "already imported"
    assert importer.import_upload("x.png", b"junk").outcome == "failed"
    blank = tmp_path / "blank.png"
    Image.new("RGB", (8, 8)).save(blank)
    assert importer.import_upload("blank.png", blank.read_bytes()).outcome == "no prompt"


def test_import_command_prints_a_summary(runner, ctx, folder):
    result = runner.invoke(args=["gallery", "import", str(folder), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "Imported 14 images" in result.output
    assert "Skipped 0 already imported, 3 with no prompt found." in result.output
    again = runner.invoke(args=["gallery", "import", str(folder), "--dry-run"])
    assert "Would import 0 images" in again.output and "Skipped 14 already imported" in again.output
    missing = runner.invoke(args=["gallery", "import", "/nonexistent/folder"])
    assert "/nonexistent/folder: no such file or folder" in missing.output


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_keeps_and_counts_what_was_imported(ctx, tmp_path, workers):
    for n in range(40):
        png_with(tmp_path / f"{n:02}.png", parameters=f"prompt {n}\nSteps: 1")
    seen = []

    def progress(path):
        seen.append(path)
        if len(seen) == 25:
            raise KeyboardInterrupt  # what Ctrl-C raises in the main process

    report = importer.import_paths([tmp_path], workers=workers, progress=progress)
    assert report.interrupted
    assert report.imported == Stats.current().total_prompts == 25
    assert ImportedFile.select().count() == 25
    rest = importer.import_paths([tmp_path], workers=workers)
    assert rest.already_imported == 25 and rest.imported == 15


def test_an_image_whose_prompt_is_only_invisible_is_skipped_with_a_reason(ctx, tmp_path):
    blank = png_with(tmp_path / "blank.png", parameters="\u200b\u200b\nSteps: 20")
    png_with(tmp_path / "good.png", parameters="a lighthouse\nSteps: 20")
    report = importer.import_paths([tmp_path], workers=1)
    assert report.imported == 1
    assert dict(report.failed)[str(blank)] == "prompt is empty: it has only invisible characters"
    assert [p.prompt_text for p in Prompt.top("recent")] == ["a lighthouse"]


def interrupt_at(monkeypatch, k):
    """Make the k-th recorded use raise what Ctrl-C raises, in the middle of a batch write."""
    real = store.record_use
    calls = []

    def record_use(*args, **kwargs):
        calls.append(1)
        if len(calls) == k:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "record_use", record_use)


@pytest.mark.parametrize(("k", "workers"), [(10, 2), (35, 1)])
def test_ctrl_c_inside_a_batch_write_counts_only_what_was_saved(
    ctx, tmp_path, monkeypatch, k, workers
):
    for n in range(40):  # a full batch of 32, then a last one of 8
        png_with(tmp_path / f"{n:02}.png", parameters=f"prompt {n}\nSteps: 1")
    interrupt_at(monkeypatch, k)
    report = importer.import_paths([tmp_path], workers=workers)
    assert report.interrupted
    saved = Prompt.select().count()
    assert report.imported == report.new_prompts == saved == ImportedFile.select().count()
    monkeypatch.undo()
    rest = importer.import_paths([tmp_path], workers=1)
    assert rest.already_imported == saved and rest.imported == 40 - saved
    assert Stats.current().total_uses == 40


def test_ctrl_c_in_the_last_batch_ends_with_the_summary(runner, ctx, tmp_path, monkeypatch):
    for n in range(5):
        png_with(tmp_path / f"{n}.png", parameters=f"prompt {n}\nSteps: 1")
    interrupt_at(monkeypatch, 3)
    result = runner.invoke(args=["gallery", "import", str(tmp_path), "--workers", "1"])
    assert result.exit_code == 130, result.output
    assert "Imported 0 images: 0 new prompts, 0 repeated." in result.output
    assert "Interrupted: everything above is saved" in result.output
    assert Stats.current().total_prompts == 0
    monkeypatch.undo()
    again = runner.invoke(args=["gallery", "import", str(tmp_path), "--workers", "1"])
    assert "Imported 5 images" in again.output


def marking_scan(job):
    """scan_file that leaves a mark beside each file it starts and each it finishes."""
    path = job[0]
    Path(f"{path}.started").touch()
    result = importer.scan_file(job)
    Path(f"{path}.finished").touch()
    return result


def test_workers_run_only_a_bounded_window_ahead_of_the_writer(ctx, tmp_path, monkeypatch):
    images = tmp_path / "images"
    images.mkdir()
    for n in range(40):
        png_with(images / f"{n:02}.png", parameters=f"prompt {n}\nSteps: 1")
    monkeypatch.setattr(importer, "scan_file", marking_scan)
    bound = 2 * importer.IN_FLIGHT_PER_WORKER
    consumed, ahead = [], []

    def marks(kind):
        return len(list(images.glob(f"*.{kind}")))

    def progress(path):
        consumed.append(path)
        if len(consumed) == 1:
            # The writer is slow here: let the workers get as far ahead as they are allowed
            # (they stop at the bound, or run on past it).
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                started = marks("started")
                if started > len(consumed) + bound or (
                    started >= len(consumed) + bound and started == marks("finished")
                ):
                    break
                time.sleep(0.01)
        ahead.append(marks("started") - len(consumed))

    report = importer.import_paths([images], workers=2, progress=progress)
    assert report.imported == 40
    assert max(ahead) <= bound


def test_reparse_handles_each_file_on_its_own_and_clamps_dates(ctx, app, tmp_path):
    for n in range(3):
        importer.import_paths([png_with(tmp_path / f"{n}.png", parameters="", note=f"{n}")])
    found_later = [
        {"parameters": "dated ahead\nSteps: 5", "Creation Time": "2090-01-01T00:00:00"},
        {"parameters": "far too long a prompt for this gallery\nSteps: 5"},
        {"parameters": "found later\nSteps: 5"},
    ]
    for record, raw in zip(
        ImportedFile.select().order_by(ImportedFile.id), found_later, strict=True
    ):
        ImportedFile.update(raw_metadata=json.dumps(raw)).where(
            ImportedFile.id == record.id
        ).execute()
    app.config["MAX_PROMPT_LENGTH"] = 20
    before = store.utcnow()
    report = importer.reparse()
    assert report.found == 2
    assert report.failed == [
        (str(tmp_path / "1.png"), "prompt is 38 characters long; the limit is 20")
    ]
    by_text = {p.prompt_text: p for p in Prompt.page(limit=10).items}
    assert set(by_text) == {"dated ahead", "found later"}
    assert before <= by_text["dated ahead"].last_used_at <= store.utcnow()
    statuses = [r.status for r in ImportedFile.select().order_by(ImportedFile.id)]
    assert statuses == [ImportedFile.IMPORTED, ImportedFile.NO_PROMPT, ImportedFile.IMPORTED]


def pause_after_first_use(monkeypatch, pause):
    """Run `pause()` in each thread after its first recorded use, inside its batch."""
    real = store.record_use
    calls = threading.local()

    def record_use(*args, **kwargs):
        recorded = real(*args, **kwargs)
        calls.count = getattr(calls, "count", 0) + 1
        if calls.count == 1:
            pause()
        return recorded

    monkeypatch.setattr(store, "record_use", record_use)


def run_in_threads(*calls):
    """Run each call in a thread of its own; the exceptions they raised."""
    errors = []

    def run(call):
        try:
            call()
        except Exception as exc:  # the test reports it
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def model_counts():
    return {model: (prompts, uses) for model, prompts, uses in Stats.current().models}


@pytest.mark.postgres
def test_batches_meeting_models_in_opposite_orders_both_finish(tmp_path, monkeypatch):
    store.record_use("seen before", model="A")
    store.record_use("seen before too", model="B")
    for name, models in (("one", "AB"), ("two", "BA")):
        (tmp_path / name).mkdir()
        for n, model in enumerate(models):
            png_with(
                tmp_path / name / f"{n}.png", parameters=f"{name} {n}\nSteps: 1, Model: {model}"
            )
    both_in_their_batch = threading.Barrier(2, timeout=20)
    pause_after_first_use(monkeypatch, both_in_their_batch.wait)
    reports = []

    def importing(name):
        return lambda: reports.append(importer.import_paths([tmp_path / name], workers=1))

    assert run_in_threads(importing("one"), importing("two")) == []
    assert sorted(r.new_prompts for r in reports) == [2, 2]
    assert model_counts() == {"A": (3, 3), "B": (3, 3)}


@pytest.mark.postgres
def test_an_open_import_batch_does_not_hold_up_uses_of_its_models(tmp_path, monkeypatch):
    for n in range(2):
        png_with(tmp_path / f"{n}.png", parameters=f"imported {n}\nSteps: 1, Model: A")
    in_batch, recorded = threading.Event(), threading.Event()
    waited = []

    def wait_for_the_other_writer():
        in_batch.set()
        waited.append(recorded.wait(timeout=5))

    record_use = store.record_use
    pause_after_first_use(monkeypatch, wait_for_the_other_writer)

    def record_beside():
        assert in_batch.wait(timeout=20)
        record_use("recorded meanwhile", model="A")
        recorded.set()

    importing = lambda: importer.import_paths([tmp_path], workers=1)  # noqa: E731
    assert run_in_threads(importing, record_beside) == []
    assert waited == [True]  # the use went in while the batch was still open
    assert model_counts() == {"A": (3, 3)}
