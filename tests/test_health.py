"""/healthz for load balancers: 200 while the database answers, 503 when it does not,
quickly, and without the driver's message (hosts, roles) in the answer."""

import socket
import threading
import time

import pytest

from gallery import create_app


def test_healthy(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_unhealthy_database_is_503(tmp_path):
    url = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1"
    app = create_app({"DATABASE_URL": url}, instance_path=tmp_path)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable" and response.json["error"]


class SilentServer:
    """A TCP server that accepts connections and never says a word, like a hung database."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed
                return
            self.accepted.append(connection)

    def close(self):
        self.listener.close()
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.close()  # a client still waiting on it gets an answer now


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


def postgres_app(tmp_path, port):
    pytest.importorskip("psycopg")
    url = f"postgresql://secret_role@127.0.0.1:{port}/secret_db"
    config = {"DATABASE_URL": url, "DATABASE_CONNECT_TIMEOUT": 2, "SECRET_KEY": "t"}
    return create_app(config, instance_path=tmp_path)


def answered_within(seconds, call):
    """call()'s answer, or a failure when it takes longer than `seconds`."""
    result = []
    worker = threading.Thread(target=lambda: result.append(call()), daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"no answer within {seconds} s"
    return result[0], time.monotonic() - started


@pytest.mark.parametrize("where", ["silent server", "closed port"])
@pytest.mark.parametrize("path", ["/healthz", "/", "/api/prompts/"])
def test_an_unreachable_postgres_is_a_quick_503(tmp_path, silent_server, where, path):
    port = silent_server.port if where == "silent server" else closed_port()
    client = postgres_app(tmp_path, port).test_client()
    response, took = answered_within(8, lambda: client.get(path))
    assert response.status_code == 503
    assert took < 6  # the 2 s connect timeout, however many addresses are tried
    body = response.get_data(as_text=True)
    for secret in ("secret_role", "secret_db", "127.0.0.1", str(port), "psycopg", "connection"):
        assert secret not in body, f"{secret!r} shows in {body[:300]}"
    if path != "/healthz":
        assert int(response.headers["Retry-After"]) >= 1
