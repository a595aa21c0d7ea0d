"""The ceiling for the thumbnail route: a bare Flask route returning a stored BLOB.

gunicorn -w 2 'bench.blob_app:create(\"/path/to/store.db\")'

Each thread keeps one open connection (as the gallery's pool does), so the route pays for
nothing but Flask, one indexed read and the response.
"""

import sqlite3
import threading

from flask import Flask, Response


def create(path):
    app = Flask(__name__)
    local = threading.local()

    def connection():
        if not hasattr(local, "db"):
            local.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        return local.db

    @app.get("/blob/<int:prompt_id>")
    def blob(prompt_id):
        row = (
            connection()
            .execute(
                "SELECT thumbnail_data, thumbnail_mime FROM prompts WHERE id = ?", (prompt_id,)
            )
            .fetchone()
        )
        return Response(row[0], mimetype=row[1])

    return app
