"""CSRF tokens for the session: forms send a hidden field, htmx a header."""

import hmac
import secrets

from flask import request, session

from .errors import Forbidden

HEADER = "X-CSRF-Token"
FIELD = "csrf_token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def csrf_token():
    """This session's token, made on first use."""
    if FIELD not in session:
        session[FIELD] = secrets.token_urlsafe(32)
    return session[FIELD]


def check_csrf():
    """Refuse a state-changing request whose token is missing or wrong."""
    if request.method in SAFE_METHODS:
        return
    expected = session.get(FIELD)
    sent = request.headers.get(HEADER) or request.form.get(FIELD)
    # compare_digest takes str only when it is ASCII; our tokens always are, so
    # anything else is just another wrong token.
    if not expected or not sent or not sent.isascii() or not hmac.compare_digest(expected, sent):
        raise Forbidden("the form's security token is missing or out of date; reload the page")
