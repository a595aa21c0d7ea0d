"""API tokens: shown once when made, kept only as a SHA-256 hash, revocable, scoped.

Scopes: `read` (the API's reads and, in private mode, the pages and thumbnails),
`record` (POST /api/prompts/), `admin` (delete and cleanup). `admin` includes the other
two: a token that may delete everything may as well read and record.
"""

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta

from flask import request
from peewee import DatabaseError

from . import db
from .errors import Forbidden, InvalidInput, NotFound, Unauthorized
from .models import ApiToken, utcnow

PREFIX = "pg_"  # lets secret scanners and people recognise a gallery token
MAX_NAME_LENGTH = 100
SCOPES = ApiToken.SCOPES
DEFAULT_SCOPES = ApiToken.DEFAULT_SCOPES
# Recording the last use on every request would make every API call a write.
LAST_USE_PRECISION = timedelta(minutes=1)
log = logging.getLogger(__name__)


def digest(token):
    """The stored form of a token. Tokens are random 256-bit strings: a fast hash is enough."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(name, scopes=DEFAULT_SCOPES):
    """Make a token called `name` with `scopes`; return the token itself (it is not stored)."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"a token name is 1 to {MAX_NAME_LENGTH} characters", "name")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise InvalidInput(f"a token's scopes are one or more of {', '.join(SCOPES)}", "scopes")
    db.migrated_database()
    live = ApiToken.select().where(ApiToken.name == name, ApiToken.revoked_at.is_null())
    if live.exists():
        raise InvalidInput(f"a token named {name!r} already exists; revoke it or pick another name")
    token = PREFIX + secrets.token_urlsafe(32)
    granted = " ".join(scope for scope in SCOPES if scope in scopes)
    ApiToken.create(name=name, token_hash=digest(token), scopes=granted)
    return token


def verify_token(token, now=None):
    """The live ApiToken a presented token belongs to, or None."""
    if not token or len(token) > 200:
        return None
    db.migrated_database()
    wanted = digest(token)
    found = ApiToken.get_or_none(ApiToken.token_hash == wanted, ApiToken.revoked_at.is_null())
    # The lookup is by hash, so timing reveals nothing of the token; compare anyway.
    if found is None or not hmac.compare_digest(found.token_hash, wanted):
        return None
    note_use(found, now or utcnow())
    return found


def note_use(token, now):
    """Record when `token` was last used, to the minute: at most one write a minute per
    token, and a write that fails (a locked or full database) does not fail the request
    it came with, which has its own work to do."""
    if token.last_used_at is not None and now - token.last_used_at < LAST_USE_PRECISION:
        return
    try:
        with db.proxy.atomic():
            ApiToken.update(last_used_at=now).where(ApiToken.id == token.id).execute()
    except DatabaseError as exc:
        log.warning("could not record the last use of token %r: %s", token.name, exc)


def presented_token(scope):
    """The request's bearer token if it is live and may do `scope`; 401 or 403 if not."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if not token:
        raise Unauthorized("this needs an API token: send 'Authorization: Bearer <token>'")
    found = verify_token(token.strip()) if scheme.lower() == "bearer" else None
    if found is None:
        raise Forbidden("the API token is not valid (wrong, or revoked)")
    if not found.allows(scope):
        raise Forbidden(
            f"this token may not do this: it needs the {scope!r} scope "
            f"and has {found.scopes.replace(' ', ', ')}"
        )
    return found


def list_tokens():
    """Every token, newest first (names and dates, never the token)."""
    db.migrated_database()
    return list(ApiToken.select().order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))


def revoke_token(name):
    """Revoke the live token called `name`, or NotFound."""
    db.migrated_database()
    revoked = (
        ApiToken.update(revoked_at=utcnow())
        .where(ApiToken.name == name, ApiToken.revoked_at.is_null())
        .execute()
    )
    if not revoked:
        raise NotFound(f"no live token named {name!r}", "name")
