"""API tokens: shown once when made, kept only as a SHA-256 hash, revocable."""

import hashlib
import hmac
import secrets

from peewee import AutoField, Model, TextField

from . import db as database
from .errors import InvalidInput, NotFound
from .models import UTCDateTimeField, utcnow

PREFIX = "pg_"  # lets secret scanners and people recognise a gallery token
MAX_NAME_LENGTH = 100


class ApiToken(Model):
    id = AutoField()
    name = TextField()
    token_hash = TextField(unique=True)
    created_at = UTCDateTimeField(default=utcnow)
    last_used_at = UTCDateTimeField(null=True)
    revoked_at = UTCDateTimeField(null=True)

    class Meta:
        database = database.db
        table_name = "api_tokens"


def digest(token):
    """The stored form of a token. Tokens are random 256-bit strings: a fast hash is enough."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(name):
    """Make a token called `name`; return the token itself (it is not stored)."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"a token name is 1 to {MAX_NAME_LENGTH} characters", "name")
    database.ready()
    live = ApiToken.select().where(ApiToken.name == name, ApiToken.revoked_at.is_null())
    if live.exists():
        raise InvalidInput(f"a token named {name!r} already exists; revoke it or pick another name")
    token = PREFIX + secrets.token_urlsafe(32)
    ApiToken.create(name=name, token_hash=digest(token))
    return token


def verify_token(token):
    """The live ApiToken a presented token belongs to, or None."""
    if not token or len(token) > 200:
        return None
    database.ready()
    wanted = digest(token)
    found = ApiToken.get_or_none(ApiToken.token_hash == wanted, ApiToken.revoked_at.is_null())
    # The lookup is by hash, so timing reveals nothing of the token; compare anyway.
    if found is None or not hmac.compare_digest(found.token_hash, wanted):
        return None
    ApiToken.update(last_used_at=utcnow()).where(ApiToken.id == found.id).execute()
    return found


def list_tokens():
    """Every token, newest first (names and dates, never the token)."""
    database.ready()
    return list(ApiToken.select().order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))


def revoke_token(name):
    """Revoke the live token called `name`, or NotFound."""
    database.ready()
    revoked = (
        ApiToken.update(revoked_at=utcnow())
        .where(ApiToken.name == name, ApiToken.revoked_at.is_null())
        .execute()
    )
    if not revoked:
        raise NotFound(f"no live token named {name!r}", "name")
