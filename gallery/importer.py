"""Import folders of generated images: metadata -> store.record_use, thumbnails in parallel.

Reading and thumbnailing happen in worker processes; every database write stays
in this process, in batched transactions, so SQLite sees one writer.
"""

import hashlib
import io
import json
import multiprocessing
import os
import signal
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image

from . import db, store, vips_thumbnails
from .config import current_settings
from .errors import InvalidInput
from .metadata import Generation, extract_raw, interpret
from .models import ImportedFile, utcnow
from .normalize import normalize
from .thumbnails import ThumbnailError, make_thumbnail
from .validation import file_time

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
BATCH_SIZE = 32
# Scans a worker may have done or queued ahead of the writer: enough to keep it busy,
# few enough that finished scans (thumbnails and all) do not pile up in this process.
IN_FLIGHT_PER_WORKER = 2
MAX_RAW_BYTES = 1024 * 1024


@dataclass
class Scan:
    """What a worker learned from one file."""

    path: str
    sha256: str
    raw: dict
    generation: Generation
    thumbnail: object = None
    error: str | None = None  # the file is unusable (not an image, unreadable)
    mtime: float = 0.0


@dataclass
class ImportReport:
    """The outcome of an import, for the summary."""

    dry_run: bool = False
    new_prompts: int = 0
    repeated_prompts: int = 0
    already_imported: int = 0
    no_prompt: list = field(default_factory=list)  # paths
    failed: list = field(default_factory=list)  # (path, reason)
    would_import: list = field(default_factory=list)  # (path, prompt), dry runs only
    interrupted: bool = False

    @property
    def imported(self):
        return self.new_prompts + self.repeated_prompts

    def add(self, batch):
        """Count a committed batch's report in this one."""
        self.new_prompts += batch.new_prompts
        self.repeated_prompts += batch.repeated_prompts
        self.no_prompt += batch.no_prompt
        self.failed += batch.failed


def find_images(paths, recursive=False):
    """(image files in a stable order, [(path, reason)] for paths that are not there)."""
    found, missing = [], []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            pattern = path.rglob("*") if recursive else path.glob("*")
            found += sorted(
                p for p in pattern if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
            )
        else:
            missing.append((str(path), "no such file or folder"))
    return found, missing


def file_hash(path):
    """SHA-256 of a file's content, read in blocks (never whole into memory)."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def scan_file(job):
    """Read metadata and make the thumbnail of one file (runs in a worker process)."""
    path, sha256, options = job
    return scan(path, path, sha256, options, os.stat(path).st_mtime)


def scan(source, name, sha256, options, mtime):
    """Metadata and thumbnail of a path or bytes; `error` says when it is no image at all."""
    raw = extract_raw(source)
    generation = interpret(raw)
    result = Scan(name, sha256, raw, generation, mtime=mtime)
    try:
        if generation.prompt:
            result.thumbnail = make_thumbnail(source, **options)
        else:
            with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
                image.size  # noqa: B018 - opening reads the header: is it an image at all?
    except ThumbnailError as exc:
        # With a prompt the use still counts, without a picture; without one it is no image.
        if not generation.prompt:
            result.error = str(exc)
    except Exception as exc:  # Pillow raises anything on hostile files
        result.error = f"not an image ({type(exc).__name__})"
    return result


def start_worker():
    """Set up a worker process: Ctrl-C is left to the main process, which stops the pool
    cleanly, and libvips keeps to one thread, as the workers already share out the cores
    (its own threads on top of them made two workers slower, not faster)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    vips_thumbnails.use_one_thread()


def worker_context():
    """Where worker processes come from: a fork server that has imported the importer
    once (each spawned worker imported it anew: a third of a second per import run),
    or plain spawning where there is no fork server (Windows)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # Importing starts no threads, so the server forks from a clean process.
    context.set_forkserver_preload(["gallery.importer"])
    return context


def scans(jobs, workers):
    """Scan results in job order: in this process for one worker, else in a pool that
    runs at most IN_FLIGHT_PER_WORKER scans per worker ahead of the caller (Pool.imap
    runs through every job and keeps each result until it is asked for)."""
    if workers <= 1:
        yield from map(scan_file, jobs)
        return
    window = workers * IN_FLIGHT_PER_WORKER
    pool = ProcessPoolExecutor(workers, mp_context=worker_context(), initializer=start_worker)
    try:
        pending = deque()
        for job in jobs:
            pending.append(pool.submit(scan_file, job))
            if len(pending) > window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        # Scans not started are cancelled and the few running ones (one file each) end.
        # Pool.terminate() instead could hang joining its result thread when it killed a
        # worker in the middle of sending a result (seen under Ctrl-C in the test suite).
        pool.shutdown(wait=True, cancel_futures=True)


def import_paths(paths, recursive=False, model=None, dry_run=False, workers=None, progress=None):
    """Import image files and folders; returns an ImportReport. Safe to run again."""
    workers = workers or os.cpu_count() or 1
    if workers < 1:
        raise InvalidInput("workers must be at least 1", "workers")
    db.migrated_database()
    files, missing = find_images(paths, recursive)
    report = ImportReport(dry_run=dry_run, failed=list(missing))
    progress = progress or (lambda path: None)
    jobs = new_files(files, report, progress)
    options = store.thumbnail_options(current_settings())
    batch = []
    try:
        with closing(scans([(str(p), sha, options) for p, sha in jobs], workers)) as found:
            for scan in found:
                if dry_run:
                    classify(scan, report)
                else:
                    batch.append(scan)
                    if len(batch) >= BATCH_SIZE:
                        full, batch = batch, []  # interrupted, it is rolled back, not retried
                        write_batch(full, model, report)
                progress(scan.path)
        last, batch = batch, []
        write_batch(last, model, report)
    except KeyboardInterrupt:
        report.interrupted = True
        save_scanned(batch, model, report)
    return report


def save_scanned(batch, model, report):
    """After Ctrl-C: keep the files scanned but not yet written; a second Ctrl-C drops them."""
    with suppress(KeyboardInterrupt):
        write_batch(batch, model, report)


def new_files(files, report, progress):
    """[(path, sha256)] of files not imported before (nor twice in this run)."""
    hashed = []
    for path in files:
        try:
            hashed.append((path, file_hash(path)))
        except OSError as exc:
            report.failed.append((str(path), f"cannot read: {exc.strerror or exc}"))
            progress(str(path))
    known = set()
    hashes = [sha for _, sha in hashed]
    for start in range(0, len(hashes), 500):
        known |= ImportedFile.imported_among(hashes[start : start + 500])
    fresh = []
    for path, sha in hashed:
        if sha in known:
            report.already_imported += 1
            progress(str(path))
        else:
            known.add(sha)
            fresh.append((path, sha))
    return fresh


def classify(scan, report):
    """Count a scan in a dry run's report."""
    if scan.error:
        report.failed.append((scan.path, scan.error))
    elif scan.generation.prompt:
        report.would_import.append((scan.path, scan.generation.prompt))
    else:
        report.no_prompt.append(scan.path)


def write_batch(batch, model, report):
    """Record a batch of scans in one transaction, counted in `report` once it is committed.

    A deadlock or a lock held too long rolls the batch back, and it is written again.
    """

    def attempt():
        written = ImportReport()
        with db.migrated_database().atomic():
            for scan in batch:
                write_scan(scan, model, written)
        return written

    if batch:
        report.add(store.retry_when_busy(attempt))


def write_scan(scan, model, report):
    """Record one scanned file: a use of its prompt and its import record."""
    if scan.error:
        report.failed.append((scan.path, scan.error))
        return
    prompt = None
    if scan.generation.prompt:
        try:
            recorded = store.record_use(
                scan.generation.prompt,
                model=scan.generation.model or model,
                used_at=used_at(scan),
                thumbnail=scan.thumbnail,
            )
        except InvalidInput as exc:
            report.failed.append((scan.path, exc.message))
            return
        prompt = recorded.id
        if recorded.created:
            report.new_prompts += 1
        else:
            report.repeated_prompts += 1
    else:
        report.no_prompt.append(scan.path)
    remember(scan, prompt)


def used_at(scan):
    """When the image was made: its metadata's time, else the file's, never in the future."""
    return file_time(scan.generation.generated_at or datetime.fromtimestamp(scan.mtime, UTC))


def remember(scan, prompt_id):
    """Write (or refresh) the file's import record with its raw metadata."""
    raw = json.dumps(scan.raw, ensure_ascii=False)
    if len(raw.encode()) > MAX_RAW_BYTES:
        raw = json.dumps({"truncated": raw[: MAX_RAW_BYTES // 4]})
    status = ImportedFile.IMPORTED if prompt_id else ImportedFile.NO_PROMPT
    fields = {
        ImportedFile.path: scan.path,
        ImportedFile.status: status,
        ImportedFile.prompt: prompt_id,
        ImportedFile.generator: scan.generation.generator,
        ImportedFile.raw_metadata: raw,
        ImportedFile.imported_at: utcnow(),
    }
    ImportedFile.insert({ImportedFile.sha256: scan.sha256, **fields}).on_conflict(
        conflict_target=[ImportedFile.sha256], update=fields
    ).execute()


@dataclass
class UploadResult:
    """What became of one uploaded file."""

    name: str
    outcome: str  # "new", "repeated", "already imported", "no prompt", "failed"
    message: str
    prompt_id: int | None = None


def import_upload(name, data, model=None):
    """Import one uploaded image through the same path as folders; never raises on bad files."""
    sha256 = hashlib.sha256(data).hexdigest()
    db.migrated_database()
    if ImportedFile.imported_among([sha256]):
        return UploadResult(name, "already imported", "this file was imported before")
    options = store.thumbnail_options(current_settings())
    report = ImportReport()
    result = scan(data, name, sha256, options, utcnow().timestamp())
    write_batch([result], model, report)
    if report.failed:
        return UploadResult(name, "failed", report.failed[0][1])
    if report.no_prompt:
        return UploadResult(name, "no prompt", "no prompt found in this file's metadata")
    record = ImportedFile.get(ImportedFile.sha256 == sha256)
    outcome = "new" if report.new_prompts else "repeated"
    return UploadResult(name, outcome, result.generation.prompt, record.prompt_id)


@dataclass
class ReparseReport:
    """What re-reading stored metadata found."""

    found: int = 0  # files that had no prompt and now have one (recorded)
    changed: list = field(default_factory=list)  # (path, stored prompt, prompt read now)
    unchanged: int = 0
    failed: list = field(default_factory=list)  # (path, reason): a prompt found, not recorded


def reparse():
    """Re-interpret every stored raw metadata with today's readers, one file at a time."""
    report = ReparseReport()
    db.migrated_database()
    last_id = 0
    while True:
        records = list(
            ImportedFile.select()
            .where(ImportedFile.id > last_id)
            .order_by(ImportedFile.id)
            .limit(BATCH_SIZE)
        )
        if not records:
            return report
        for record in records:
            reread(record, report)
        last_id = records[-1].id


def reread(record, report):
    """Re-interpret one file's metadata; one that cannot be recorded is listed, not fatal."""
    generation = interpret(json.loads(record.raw_metadata or "{}"))
    if record.status == ImportedFile.NO_PROMPT and generation.prompt:
        try:
            recover(record, generation)
        except InvalidInput as exc:
            report.failed.append((record.path, exc.message))
            return
        report.found += 1
    elif record.prompt_id and generation.prompt and record.prompt:
        stored = record.prompt.prompt_text
        if normalize(stored) != normalize(generation.prompt):
            report.changed.append((record.path, stored, generation.prompt))
        else:
            report.unchanged += 1
    else:
        report.unchanged += 1


def recover(record, generation):
    """Record the use a better reader found, dated and pictured from the file if it is
    still there; the use and the file's new status are written together."""
    path = Path(record.path)
    made, thumbnail = record.imported_at, None
    if path.is_file():
        made = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        try:
            thumbnail = make_thumbnail(path, **store.thumbnail_options(current_settings()))
        except ThumbnailError:
            thumbnail = None
    with db.migrated_database().atomic():
        recorded = store.record_use(
            generation.prompt,
            model=generation.model,
            used_at=file_time(generation.generated_at or made),
            thumbnail=thumbnail,
        )
        ImportedFile.update(status=ImportedFile.IMPORTED, prompt=recorded.id).where(
            ImportedFile.id == record.id
        ).execute()
