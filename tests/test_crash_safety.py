"""Nothing acknowledged is lost: a writer killed with SIGKILL, 20 times over."""

import os
import random
import re
import signal
import subprocess
import sys

import pytest

from gallery import db as gallery_db
from gallery import engines
from gallery.models import Prompt

pytestmark = pytest.mark.slow

WRITER = """
import sys
from gallery import store
from gallery.models import Prompt
i = int(sys.argv[1])
while True:
    recorded = store.record_use(f"crash prompt {i % 7}", model="crash")
    print(recorded.id, recorded.total_uses, flush=True)  # acknowledged
    i += 1
"""


def run_and_kill(url, start, kill_after):
    """Start a writer, SIGKILL it once it has acknowledged kill_after uses; return its lines.

    The writer keeps writing while its acknowledgements are read, so the kill lands
    somewhere in a later write: at a different point each round, with no sleep to race.
    """
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(start)],
        env=dict(os.environ, GALLERY_DATABASE_URL=url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = "".join(writer.stdout.readline() for _ in range(kill_after))
    if first.count("\n") < kill_after:
        raise AssertionError(f"the writer died by itself: {writer.stderr.read()[-2000:]}")
    writer.send_signal(signal.SIGKILL)
    rest = writer.stdout.read()  # the same buffered reader, to the end of the pipe
    writer.wait()
    writer.stderr.close()
    writer.stdout.close()
    # A line cut by the kill was never acknowledged in full: only whole lines count.
    return [tuple(map(int, line.split())) for line in re.findall(r"^\d+ \d+$", first + rest, re.M)]


def test_sigkill_twenty_times_loses_nothing_acknowledged(ctx, app):
    rng = random.Random(20)  # the same kill points every run
    acknowledged = {}  # prompt id -> highest count a writer was told
    acks = 0
    for round_ in range(20):
        lines = run_and_kill(app.config["DATABASE_URL"], round_ * 1000, rng.randint(1, 40))
        acks += len(lines)
        for prompt_id, count in lines:
            acknowledged[prompt_id] = max(acknowledged.get(prompt_id, 0), count)
    assert acks >= 20, "the writers never got going"  # each acknowledged at least one
    database = gallery_db.migrated_database()
    if engines.is_sqlite(database):
        assert database.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {p.id: p.total_uses for p in Prompt.page(limit=100).items}
    for prompt_id, count in acknowledged.items():
        assert stored[prompt_id] >= count
    # At most one use per kill was committed but not yet acknowledged.
    assert acks <= sum(stored.values()) <= acks + 20
