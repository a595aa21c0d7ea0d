"""Import throughput with 1 and 2 worker processes on the sample photos, side by side.

    python bench/import_speed.py [--copies 8] [--rounds 3]

Each photo is copied `copies` times (a few bytes appended so every copy has its own
content hash) with a sidecar .txt prompt, so every file is read and thumbnailed.
Rounds alternate 1 and 2 workers on fresh databases; medians and the ratio are printed.
"""

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from gallery import create_app, importer

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"


def build_folder(root, copies):
    """Copies of every sample photo and AI image, each with its own prompt beside it."""
    sources = [
        p
        for folder in ("photos", "ai-metadata")
        for p in sorted((SAMPLES / folder).iterdir())
        if p.suffix.lower() in importer.IMAGE_SUFFIXES
    ]
    for n in range(copies):
        for source in sources:
            target = root / f"{source.stem}-{n}{source.suffix}"
            shutil.copy(source, target)
            with open(target, "ab") as file:
                file.write(f"copy {n}".encode())  # after the image's end marker
            target.with_suffix(".txt").write_text(f"benchmark prompt {source.stem} {n}")
    return len(sources) * copies


def timed_import(folder, workers, scratch):
    """Seconds to import the folder into a fresh database."""
    instance = Path(tempfile.mkdtemp(dir=scratch))
    app = create_app({"DATABASE_URL": f"sqlite:///{instance / 'g.db'}"}, instance_path=instance)
    with app.app_context():
        started = time.perf_counter()
        report = importer.import_paths([folder], workers=workers)
        elapsed = time.perf_counter() - started
    assert not report.failed, report.failed
    return elapsed, report.imported


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "images"
        folder.mkdir()
        files = build_folder(folder, args.copies)
        times = {1: [], 2: []}
        for _ in range(args.rounds):
            for workers in (1, 2):
                elapsed, imported = timed_import(folder, workers, scratch)
                assert imported == files
                times[workers].append(elapsed)
        one, two = statistics.median(times[1]), statistics.median(times[2])
        print(f"{files} files, {args.rounds} rounds, medians:")
        print(f"  1 worker : {one:6.2f} s  {files / one:6.1f} files/s")
        print(f"  2 workers: {two:6.2f} s  {files / two:6.1f} files/s")
        print(f"  speed-up 2 over 1: {one / two:.2f}x")


if __name__ == "__main__":
    main()
