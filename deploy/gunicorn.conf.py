"""gunicorn settings for the gallery, tested by tests/test_multiworker.py:

    .venv/bin/gunicorn -c deploy/gunicorn.conf.py 'gallery:create_app()'

Threads, not sync workers: a sync worker reads a request's body itself, so two clients
that send their headers and stall hold two workers until --timeout kills them, and
every other visitor waits. A gthread worker waits for a new connection's first bytes
in its poller, and a stalled body holds one of its threads, not the worker.
"""

bind = "0.0.0.0:8000"
worker_class = "gthread"
workers = 2  # processes: one or two per core
# Requests each process serves at once. No more than GALLERY_DATABASE_POOL_SIZE (8):
# each thread holds a PostgreSQL connection while it works.
threads = 8
# A worker whose main loop stops answering this long is restarted; keep it above
# GALLERY_DATABASE_TIMEOUT and GALLERY_DATABASE_CONNECT_TIMEOUT, so a locked or
# unreachable database answers 503 before that.
timeout = 30
graceful_timeout = 30
keepalive = 5  # seconds an idle kept-alive connection stays open
