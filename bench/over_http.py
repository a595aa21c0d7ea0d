"""Requests per second over HTTP, ours beside its peers, in one run (127.0.0.1 only).

    python bench/over_http.py bench/stores/100000.db [--seconds 5] [--rounds 3] [--datasette PATH]

Starts the gallery under gunicorn (2 workers), Datasette on the same SQLite file (full-text
search enabled on prompts through its prompts_fts table), and bench/blob_app.py (a bare
Flask route returning a stored BLOB: the ceiling for the thumbnail route). Each URL gets
`wrk -t2 -c4` for the given seconds, all cases in turn, round after round; the table gives
median requests/s and our ratios over theirs (the median of each round's ratio).
Needs Debian's wrk and, for the Datasette rows, a datasette executable.
"""

import argparse
import os
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command, port, probe, env=None):
    """A server process, once it answers `probe`."""
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{probe}", timeout=2).read()
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit(f"{command[0]} did not start")


def wrk(url, seconds, header=None):
    """(requests/s, non-2xx/3xx count) from wrk -t2 -c4."""
    command = ["wrk", "-t2", "-c4", f"-d{seconds}s", url]
    if header:
        command[1:1] = ["-H", header]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, int(bad.group(1)) if bad else 0


def children(pid):
    """The process ids of a process's children (gunicorn's workers)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def worker_peak_rss_mb(pid):
    """VmHWM: the most resident memory the process ever had."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def word_in_share(store, share):
    """An indexed word in about `share` of the prompts."""
    connection = sqlite3.connect(store)
    total = connection.execute("SELECT COUNT(*) FROM prompts").fetchone()[0]
    low, high = int(total * share * 0.8), int(total * share * 1.2)
    row = connection.execute(
        "SELECT term FROM prompts_fts_vocab WHERE doc BETWEEN ? AND ? AND length(term) > 3 "
        "ORDER BY doc DESC LIMIT 1",
        (low, high),
    ).fetchone()
    thumb = connection.execute(
        "SELECT id FROM prompts WHERE thumbnail_data IS NOT NULL LIMIT 1"
    ).fetchone()[0]
    connection.close()
    return row[0], thumb


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--datasette", default=shutil.which("datasette"))
    args = parser.parse_args()
    store = args.store.resolve()
    word, thumb = word_in_share(store, 0.02)
    ours, blob, peer = free_port(), free_port(), free_port()
    env = dict(os.environ, GALLERY_DATABASE_URL=f"sqlite:///{store}", GALLERY_SECRET_KEY="b")
    gunicorn = [sys.executable, "-m", "gunicorn", "-w", "2"]
    servers = [
        start(
            [*gunicorn, "-b", f"127.0.0.1:{ours}", "gallery:create_app()"], ours, "/healthz", env
        ),
        start(
            [*gunicorn, "-b", f"127.0.0.1:{blob}", f"bench.blob_app:create({str(store)!r})"],
            blob,
            f"/blob/{thumb}",
        ),
    ]
    if args.datasette:
        servers.append(
            start(
                [args.datasette, "serve", str(store), "-p", str(peer)],
                peer,
                "/-/versions.json",
            )
        )
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ours}/api/prompts/{thumb}") as answer:
            version = re.search(r"v=([0-9a-f]+)", answer.read().decode()).group(1)
        thumbnail = f"http://127.0.0.1:{ours}/prompts/{thumb}/thumbnail?v={version}"
        cases = {"search page, ours": (f"http://127.0.0.1:{ours}/?q={word}", None)}
        if args.datasette:
            base = f"http://127.0.0.1:{peer}/{store.stem}/prompts?_search={word}"
            plain = f"{base}&_nofacet=1&_nosuggest=1"
            cases[PLAIN] = (plain, None)
            cases[DEFAULT] = (base, None)
            cases["search, Datasette JSON"] = (plain.replace("/prompts?", "/prompts.json?"), None)
        cases["thumbnail 200, ours"] = (thumbnail, None)
        cases["thumbnail 304, ours"] = (thumbnail, f'If-None-Match: "{version}"')
        cases["bare BLOB route"] = (f"http://127.0.0.1:{blob}/blob/{thumb}", None)
        runs = {name: [] for name in cases}
        for _ in range(args.rounds):  # interleaved: a slow spell hits every case alike
            for name, (url, header) in cases.items():
                runs[name].append(wrk(url, args.seconds, header))
        peak_mb = [worker_peak_rss_mb(pid) for pid in children(servers[0].pid)]
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    report(runs, store, word, args, peak_mb)


PLAIN = "search, Datasette (no facets/suggestions)"
DEFAULT = "search, Datasette default page"


def report(runs, store, word, args, peak_mb):
    """Median requests/s per case, and ratios as the median of each round's ratio."""
    print(
        f"store {store.name}, word {word!r} (~2% of prompts), wrk -t2 -c4 -d{args.seconds}s, "
        f"{args.rounds} rounds\n"
    )
    print("| case | requests/s (median) | errors (all rounds) |\n|---|---|---|")
    for name, results in runs.items():
        rate = statistics.median(r for r, _ in results)
        print(f"| {name} | {rate:.0f} | {sum(bad for _, bad in results)} |")

    def ratio(ours, theirs):
        pairs = zip(runs[ours], runs[theirs], strict=True)
        return statistics.median(a / b for (a, _), (b, _) in pairs)

    if args.datasette:
        print(f"\nours / Datasette (no facets): {ratio('search page, ours', PLAIN):.1f}x")
        print(f"ours / Datasette default: {ratio('search page, ours', DEFAULT):.1f}x")
    print(f"peak RSS of our gunicorn workers: {', '.join(f'{mb:.0f} MB' for mb in peak_mb)}")
    print(f"thumbnail 200 / bare BLOB: {ratio('thumbnail 200, ours', 'bare BLOB route'):.2f}")
    print(f"thumbnail 304 / bare BLOB: {ratio('thumbnail 304, ours', 'bare BLOB route'):.2f}")


if __name__ == "__main__":
    main()
