"""Load test: gunicorn with 2+ workers, 8 clients, a mix of views, thumbnails and recordings.

    python bench/load.py [--seconds 60] [--clients 8] [--workers 2] [--engine-url URL]

Only 127.0.0.1 is contacted, and every loop stops at its deadline. The mix is 75% page
views and searches, 20% thumbnail fetches and 5% recorded uses. Afterwards the sum of
total_uses must equal what was there before plus every acknowledged recording.
"""

import argparse
import contextlib
import csv
import http.client
import json
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from gallery import create_app, demo, store, tokens
from gallery.models import Prompt, Stats

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = (
    ROOT.parent / "shared" / "samples" / "prompts" / "sd-discord-dream-5.sample-2000.prompts.csv"
)
WORDS = ["cat", "portrait", "castle", "space", "forest", "lighthouse", "city", "dragon", "sunset"]


def fill(url):
    """Demo prompts with pictures plus the 2,000 real prompts of the sample dataset."""
    instance = Path(tempfile.mkdtemp())
    app = create_app({"DATABASE_URL": url}, instance_path=instance)
    with app.app_context():
        demo.load()
        with open(PROMPTS, newline="") as file:
            for row in csv.DictReader(file):
                with contextlib.suppress(ValueError):  # the dataset has a few empty prompts
                    store.record_use(row["prompt"], model=row["model"])
        token = tokens.create_token(f"load-{time.time()}")
        with_picture = Prompt.select(Prompt.id).where(Prompt.thumbnail_mime.is_null(False))
        thumbnails = [p.id for p in with_picture]
        return token, thumbnails, Stats.current().total_uses


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(port, method, path, body=None, headers=None):
    """(status, seconds) of one request on a fresh connection."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        connection.close()


def client(args):
    """One client's loop until the deadline: [(kind, status, seconds)]."""
    port, token, thumbnails, deadline, seed = args
    rng = random.Random(seed)
    results = []
    while time.monotonic() < deadline:
        roll = rng.random()
        if roll < 0.05:
            body = json.dumps({"prompt_text": f"load prompt {rng.randrange(200)}", "model": "load"})
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
            status, seconds = request(port, "POST", "/api/prompts/", body, headers)
            results.append(("record", status, seconds))
        elif roll < 0.25:
            path = f"/prompts/{rng.choice(thumbnails)}/thumbnail"
            results.append(("thumbnail", *request(port, "GET", path)))
        elif roll < 0.6:
            sort = rng.choice(["recent", "popular", "oldest"])
            results.append(("page", *request(port, "GET", f"/?sort={sort}")))
        else:
            q = quote(
                rng.choice(WORDS) + (" " + rng.choice(WORDS)[:3] if rng.random() < 0.3 else "")
            )
            headers = {"HX-Request": "true"} if rng.random() < 0.5 else {}
            results.append(("search", *request(port, "GET", f"/?q={q}", headers=headers)))
    return results


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--engine-url", help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    url = args.engine_url or f"sqlite:///{tempfile.mkdtemp()}/load.db"
    token, thumbnails, uses_before = fill(url)
    port = free_port()
    env = dict(os.environ, GALLERY_DATABASE_URL=url, GALLERY_SECRET_KEY="load")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{port}",
            "gallery:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                if request(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        deadline = time.monotonic() + args.seconds
        jobs = [(port, token, thumbnails, deadline, n) for n in range(args.clients)]
        started = time.monotonic()
        with multiprocessing.Pool(args.clients) as pool:
            results = [r for chunk in pool.map(client, jobs) for r in chunk]
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    report(results, elapsed, url, uses_before, args)


def report(results, elapsed, url, uses_before, args):
    """Print the rate, latencies, errors and the use-count check."""
    errors = [r for r in results if r[1] >= 400]
    acknowledged = sum(
        1 for kind, status, _ in results if kind == "record" and status in (200, 201)
    )
    app = create_app({"DATABASE_URL": url}, instance_path=Path(tempfile.mkdtemp()))
    with app.app_context():
        uses_after = Stats.current().total_uses
    print(f"{args.clients} clients, gunicorn {args.workers} workers, {elapsed:.1f} s")
    print(f"{'kind':<10} {'requests':>8} {'median ms':>10} {'p99 ms':>8}")
    for kind in ("page", "search", "thumbnail", "record", "all"):
        times = [s for k, _, s in results if kind in (k, "all")]
        if times:
            print(
                f"{kind:<10} {len(times):>8} {statistics.median(times) * 1000:>10.1f} "
                f"{percentile(times, 0.99) * 1000:>8.1f}"
            )
    print(f"requests/s: {len(results) / elapsed:.1f}   errors: {len(errors)}")
    print(
        f"uses: before {uses_before} + acknowledged {acknowledged} = {uses_before + acknowledged}; "
        f"stored {uses_after}: {'OK' if uses_after == uses_before + acknowledged else 'MISMATCH'}"
    )
    if errors or uses_after != uses_before + acknowledged:
        sys.exit(1)


if __name__ == "__main__":
    main()
