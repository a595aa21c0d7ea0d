"""The one error path: GalleryError's kinds and the handlers that turn them into answers."""

import logging

log = logging.getLogger(__name__)


class GalleryError(Exception):
    """An error with an answer for the user: its status, code, message and the field
    it concerns. Catch this for every kind; catch a subclass for one kind only."""

    status = 500

    def __init__(self, message, field=None, code="error"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


class InvalidInput(GalleryError, ValueError):
    """Outside input we refuse; the message says what was wrong."""

    status = 400

    def __init__(self, message, field=None, code="invalid_input"):
        super().__init__(message, field, code)


class InvalidPrompt(InvalidInput):
    """A prompt that is empty, too long or not text."""

    def __init__(self, message):
        super().__init__(message, field="prompt_text", code="invalid_prompt")


class NotFound(GalleryError):
    """A record that does not exist (or no longer does)."""

    status = 404

    def __init__(self, message, field=None):
        super().__init__(message, field=field, code="not_found")


class Forbidden(GalleryError):
    """An action this visitor may not take (not signed in, bad CSRF token, ...)."""

    status = 403

    def __init__(self, message):
        super().__init__(message, code="forbidden")


class Unauthorized(GalleryError):
    """A request that needs credentials and came without them."""

    status = 401
    headers = {"WWW-Authenticate": 'Bearer realm="prompt-gallery"'}

    def __init__(self, message):
        super().__init__(message, code="unauthorized")


class TooLarge(InvalidInput):
    """A body or image over the configured limit."""

    status = 413

    def __init__(self, message, field=None):
        super().__init__(message, field=field, code="too_large")


class UnsupportedMediaType(InvalidInput):
    """A body in a format the endpoint does not take."""

    status = 415

    def __init__(self, message):
        super().__init__(message, code="unsupported_media_type")


class UnusableDatabase(GalleryError):
    """A database the gallery cannot take as its store (a foreign prompts table, ...)."""

    status = 500

    def __init__(self, message):
        super().__init__(message, field="DATABASE_URL", code="unusable_database")


class TooManyAttempts(GalleryError):
    """Too many failed sign-ins from one address; try again after `retry_after` seconds."""

    status = 429

    def __init__(self, message, retry_after):
        super().__init__(message, code="too_many_attempts")
        self.headers = {"Retry-After": str(retry_after)}


def database_failure(exc):
    """One line saying why the database could not be used, with the driver's own words."""
    detail = " ".join(str(exc).split()) or type(exc).__name__
    if "readonly" in detail or "read-only" in detail:
        return f"the database is read-only, so nothing can be changed ({detail})"
    return f"the database could not be used: {detail}"


class Unavailable(GalleryError):
    """The database is busy or out of reach: try again after `retry_after` seconds."""

    status = 503

    def __init__(self, message, retry_after=5):
        super().__init__(message, code="database_unavailable")
        self.headers = {"Retry-After": str(retry_after)}


def as_unavailable(exc):
    """Unavailable (503 with Retry-After) for an error that means a locked or unreachable
    database, else None."""
    from .engines import unavailable  # engines uses these errors: imported when needed

    reason = unavailable(exc)
    if reason is None:
        return None
    log.warning("database unavailable: %s", exc)
    return Unavailable(reason)


def wants_json():
    """API paths answer errors in JSON; pages answer in HTML."""
    from flask import request

    return request.path.startswith("/api/") or request.path == "/api"


def register_handlers(app):
    """One error path: GalleryError and HTTP errors become JSON under /api, pages elsewhere."""
    from flask import render_template
    from peewee import DatabaseError
    from playhouse.pool import MaxConnectionsExceeded
    from werkzeug.exceptions import HTTPException

    def answer(status, code, message, field=None):
        if wants_json():
            return {"error": {"code": code, "message": message, "field": field}}, status
        page = render_template("error.html", status=status, message=message)
        return page, status

    @app.errorhandler(GalleryError)
    def gallery_error(exc):
        return (*answer(exc.status, exc.code, exc.message, exc.field), getattr(exc, "headers", {}))

    @app.errorhandler(DatabaseError)
    @app.errorhandler(MaxConnectionsExceeded)
    def database_error(exc):
        """A locked or unreachable database is a 503 to retry; any other error stays a 500."""
        unavailable = as_unavailable(exc)
        if unavailable is None:
            raise exc
        return gallery_error(unavailable)

    @app.errorhandler(HTTPException)
    def http_error(exc):
        code = (exc.name or "error").lower().replace(" ", "_")
        response = answer(exc.code, code, exc.description)
        if exc.code == 405 and exc.valid_methods:
            return (*response, {"Allow": ", ".join(exc.valid_methods)})
        return response
