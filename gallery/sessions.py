"""Flask's signed-cookie sessions, minus the work a request without a session does not need.

Most requests (thumbnails, pages for visitors) carry no session at all, yet Flask builds
the cookie signer for each and reads seven cookie settings on the way out: together a
sixth of a thumbnail request. The behaviour is Flask's own, step for step.

And the admin session generation (auth_state): what makes signing out end every copy
of a session cookie.
"""

from flask.sessions import SecureCookieSessionInterface

from . import db
from .models import AuthState


class LeanSessionInterface(SecureCookieSessionInterface):
    """The signer is kept per secret key, a request without cookies reads none, and an
    untouched empty session saves nothing."""

    _signer = (None, None)

    def get_signing_serializer(self, app):
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        kept_keys, signer = self._signer
        if kept_keys != keys or signer is None:
            signer = super().get_signing_serializer(app)
            self._signer = (keys, signer)
        return signer

    def open_session(self, app, request):
        # No cookie at all: nothing to read or verify.
        if app.secret_key and "HTTP_COOKIE" not in request.environ:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        # Flask itself would add no header and set no cookie here.
        if not session and not session.modified and not session.accessed:
            return
        super().save_session(app, session, response)


def session_generation():
    """The generation new admin sessions get and live ones must match."""
    db.migrated_database()
    return AuthState.select(AuthState.session_generation).where(AuthState.id == 1).scalar()


def end_admin_sessions():
    """Make every admin session issued so far invalid, on every host and worker."""
    db.migrated_database()
    AuthState.update(session_generation=AuthState.session_generation + 1).where(
        AuthState.id == 1
    ).execute()
