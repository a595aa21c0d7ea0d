"""Several gunicorn workers on one database, fed by several client processes: nothing lost."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from gallery import tokens
from gallery.models import Stats

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
CLIENT = """
import json, sys, urllib.request
from gallery.models import Stats
base, token, client, calls = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for i in range(calls):
    body = json.dumps({"prompt_text": f"shared prompt {(client + i) % 5}", "model": f"c{client}"})
    request = urllib.request.Request(base + "/api/prompts/", data=body.encode(), headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status in (200, 201), answer.status
print("ok")
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(base, server, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"gunicorn exited: {server.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as answer:
                if json.load(answer) == {"status": "ok"}:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail("gunicorn did not become healthy")


@contextmanager
def serving(app, *options):
    """gunicorn with these options on a free port of 127.0.0.1, on the app's database:
    yields (base URL, port) once /healthz answers, and stops it afterwards."""
    port = free_port()
    env = dict(os.environ, GALLERY_DATABASE_URL=app.config["DATABASE_URL"], GALLERY_SECRET_KEY="t")
    command = [sys.executable, "-m", "gunicorn", *options, "--bind", f"127.0.0.1:{port}"]
    server = subprocess.Popen(
        [*command, "gallery:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, server)
        yield base, port
    finally:
        server.terminate()
        server.wait(timeout=60)


@pytest.fixture
def gunicorn(app, tmp_path):
    """gunicorn with 4 workers on 127.0.0.1, on the test's database."""
    with serving(app, "--workers", "4") as (base, _):
        yield base


def test_four_workers_and_four_clients_lose_nothing(ctx, gunicorn):
    token = tokens.create_token("load")
    clients = [
        subprocess.Popen(
            [sys.executable, "-c", CLIENT, gunicorn, token, str(n), "100"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    for client in clients:
        out, err = client.communicate(timeout=300)
        assert client.returncode == 0 and out.strip() == "ok", err[-2000:]
    stats = Stats.current()
    assert stats.total_prompts == 5 and stats.total_uses == 400


STALLED_UPLOAD = (
    b"POST /admin/import HTTP/1.1\r\nHost: gallery\r\n"
    b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 10000000\r\n\r\n"
    b'--b\r\nContent-Disposition: form-data; name="images"; filename="a.png"\r\n\r\n'
    b"\x89PNG\r\n\x1a\n"  # ...and then nothing more
)


@pytest.fixture
def recommended_gunicorn(app):
    """gunicorn as README.md says to run it (deploy/gunicorn.conf.py), on a free port."""
    with serving(app, "-c", "deploy/gunicorn.conf.py") as served:
        yield served


@pytest.mark.slow
def test_stalled_uploads_leave_the_recommended_server_answering(recommended_gunicorn):
    base, port = recommended_gunicorn
    stalled = []
    try:
        for _ in range(4):  # twice as many as it has workers
            connection = socket.create_connection(("127.0.0.1", port))
            connection.sendall(STALLED_UPLOAD)
            stalled.append(connection)
        for _ in range(3):  # by the later ones, the stalled uploads surely hold their threads
            started = time.monotonic()
            with urllib.request.urlopen(base + "/api/prompts/", timeout=10) as answer:
                assert answer.status == 200
            assert time.monotonic() - started < 2, "a normal request waited on stalled uploads"
    finally:
        for connection in stalled:
            connection.close()
