"""The ceiling for the thumbnail route: a bare Flask route returning a stored BLOB.

gunicorn -w 2 'bench.blob_app:create(\"/path/to/store.db\")'
"""

import sqlite3

from flask import Flask, Response, g


def create(path):
    app = Flask(__name__)

    def connection():
        if "db" not in g:
            g.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        return g.db

    @app.teardown_appcontext
    def close(exc):
        if "db" in g:
            g.db.close()

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
