"""/healthz for load balancers: 200 while the database answers, 503 when it does not,
quickly, and without the driver's message (hosts, roles) in the answer."""

import socket
import threading
import time

import pytest

from gallery import create_app, engines


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


# A silent server costs the whole 2 s connect timeout (psycopg's minimum).
@pytest.mark.parametrize(
    "where", [pytest.param("silent server", marks=pytest.mark.slow), "closed port"]
)
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


class FreezingProxy:
    """A TCP proxy to the test PostgreSQL that can go silent while its connections stay
    open, as a hung server or a pooler waiting for one does: TCP still acknowledges
    every byte, so only a deadline in the gallery can notice."""

    def __init__(self, host, port):
        self.upstream = (host, port)
        self.frozen = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets = [self.listener]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self.sockets += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self.pump, args=(source, target), daemon=True).start()

    def pump(self, source, target):
        try:
            while data := source.recv(65536):
                if not self.frozen.is_set():
                    target.sendall(data)
        except OSError:
            pass

    def close(self):
        for sock in self.sockets:
            sock.close()


@pytest.mark.slow
@pytest.mark.postgres
def test_healthz_answers_503_in_time_when_postgres_hangs_mid_connection(tmp_path, database_url):
    from urllib.parse import urlsplit

    parts = urlsplit(database_url)
    proxy = FreezingProxy(parts.hostname, parts.port or 5432)
    netloc = f"{parts.username}@127.0.0.1:{proxy.port}"
    config = {"DATABASE_URL": parts._replace(netloc=netloc).geturl(), "SECRET_KEY": "t"}
    config["DATABASE_CONNECT_TIMEOUT"] = 2
    app = create_app(config, instance_path=tmp_path)
    client = app.test_client()
    try:
        assert client.get("/healthz").status_code == 200  # a pooled connection, through the proxy
        proxy.frozen.set()
        for _ in range(3):  # the first check is stuck on the pooled connection, the rest queue
            response, took = answered_within(8, lambda: client.get("/healthz"))
            assert response.status_code == 503 and took < 4
            assert response.json == {"status": "unavailable", "error": engines.UNREACHABLE}
    finally:
        proxy.close()  # the stuck check fails now and lets go of its connection
