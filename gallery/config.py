"""Settings: defaults, then instance/config.py, then GALLERY_* environment variables."""

import os
from pathlib import Path
from urllib.parse import urlsplit

from flask import Config, current_app, has_app_context

from .errors import InvalidInput

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE_PATH = PROJECT_ROOT / "instance"
ENV_PREFIX = "GALLERY"

DEFAULTS = {
    "DATABASE_URL": None,  # None: a SQLite file in the instance folder
    "DATABASE_POOL_SIZE": 8,  # PostgreSQL connections per process
    # Seconds one statement may wait for a lock or run (SQLite's busy timeout, retries
    # included; PostgreSQL's statement_timeout) before the caller gets a 503: below
    # gunicorn's 30 s worker timeout, so a locked database answers instead of a killed worker.
    "DATABASE_TIMEOUT": 10,
    "DATABASE_CONNECT_TIMEOUT": 3,  # seconds to reach PostgreSQL or get a pooled connection
    "SECRET_KEY": None,  # None: generated once and kept in the instance folder
    "MAX_PROMPT_LENGTH": 10_000,
    "THUMBNAIL_MAX_SIDE": 512,
    "THUMBNAIL_QUALITY": 80,
    "MAX_IMAGE_PIXELS": 64_000_000,
    "PAGE_SIZE": 24,
    "UNDO_MINUTES": 10,  # how long a deleted prompt can be restored
    "ADMIN_PASSWORD_HASH": None,  # None: admin actions are disabled
    "PERMANENT_SESSION_LIFETIME": 8 * 3600,  # seconds an admin stays signed in
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,  # True when served over HTTPS
    "MAX_CONTENT_LENGTH": 32 * 1024 * 1024,  # bytes of one request body
    "MAX_IMAGE_BYTES": 20 * 1024 * 1024,  # bytes of one uploaded image
    "API_READ_REQUIRES_TOKEN": False,
    "PRIVATE": False,  # True: pages, thumbnails and API reads need the admin or a read token
    "TRUSTED_PROXIES": 0,  # reverse proxies in front whose X-Forwarded-* headers count
    "BASE_URL": None,  # e.g. https://gallery.example.org; None: URLs in answers are relative
}


def instance_path_setting(environ=None):
    """GALLERY_INSTANCE_PATH, else instance/ in the project: data, secret key, config.py."""
    environ = os.environ if environ is None else environ
    return Path(environ.get(f"{ENV_PREFIX}_INSTANCE_PATH") or DEFAULT_INSTANCE_PATH)


def check_base_url(value):
    """The configured origin without a trailing slash, or None; a clear error if it is not
    one (a path would be joined twice with the app's own)."""
    if not value:
        return None
    parts = urlsplit(str(value).rstrip("/"))
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
        raise InvalidInput(
            f"GALLERY_BASE_URL must be an origin like https://gallery.example.org, not {value!r}",
            "BASE_URL",
        )
    return f"{parts.scheme}://{parts.netloc}"


def default_database_url(instance_path):
    """The embedded default: one SQLite file in the instance folder."""
    return f"sqlite:///{Path(instance_path) / 'gallery.db'}"


def standalone_settings():
    """Settings for callers outside a Flask app: defaults plus the environment, read by
    the same Flask loader an app uses (values that parse as JSON become numbers etc.)."""
    settings = Config(PROJECT_ROOT, DEFAULTS)
    settings.from_prefixed_env(ENV_PREFIX)
    if not settings["DATABASE_URL"]:
        settings["DATABASE_URL"] = default_database_url(instance_path_setting())
    return settings


def current_settings():
    """The running app's config inside an app context, else the standalone settings."""
    if has_app_context():
        return current_app.config
    return standalone_settings()
