"""No lost updates: several processes counting the same prompts through the plain Python API."""

import os
import subprocess
import sys

import pytest

from gallery.models import Stats
from tests.conftest import ENGINE

WORKER = """
import sys
from gallery.prompt_service import prompt_service
worker, calls = int(sys.argv[1]), int(sys.argv[2])
for i in range(calls):
    prompt_service.create_or_update_prompt(f"shared prompt {(worker + i) % 3}", model=f"w{worker}")
print("ok")
"""


READER = """
import sys
from gallery import store
from gallery.models import Prompt, Stats
from gallery.search import search_prompts
for i in range(int(sys.argv[2])):
    Prompt.page("popular", limit=10)
    search_prompts("shared prompt", limit=5)
    Stats.current()
print("ok")
"""


def run_workers(database_url, processes, calls, readers=0):
    env = dict(os.environ, GALLERY_DATABASE_URL=database_url)
    scripts = [WORKER] * processes + [READER] * readers
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(n), str(calls)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n, script in enumerate(scripts)
    ]
    results = [w.communicate(timeout=240) for w in workers]
    for worker, (out, err) in zip(workers, results, strict=True):
        assert worker.returncode == 0 and out.strip() == "ok", err


# SQLite: one machine's writers; PostgreSQL: the many workers it is chosen for. Readers
# list, search and count meanwhile: nobody may see "database is locked".
PROCESSES = 8 if ENGINE == "postgres" else 4


@pytest.mark.slow
def test_processes_lose_no_use(ctx, app):
    url = app.config["DATABASE_URL"]
    run_workers(url, processes=PROCESSES, calls=250, readers=2)
    stats = Stats.current()
    assert stats.total_prompts == 3
    assert stats.total_uses == PROCESSES * 250
