"""Sign-in throttling: after 5 failures from one address in 15 minutes, 429 until they age out."""

from datetime import timedelta

from peewee import fn

from . import db
from .errors import TooManyAttempts
from .models import SignInFailure, utcnow
from .templating import plural

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)


def attempt(address):
    """Count a sign-in attempt from `address` before its password is checked, or raise
    TooManyAttempts when it is one too many.

    Recording first, in its own commit, then counting is what makes the limit hold under
    concurrency: the k-th attempt to commit sees at least k, so at most MAX_FAILURES
    attempts per window reach the password check. A refused attempt takes its row back,
    so waiting out the window is enough. A failed check leaves the row as the failure.
    """
    db.migrated_database()
    now = utcnow()
    SignInFailure.delete().where(SignInFailure.failed_at <= now - WINDOW).execute()
    row = SignInFailure.create(address=address, failed_at=now)
    recent = SignInFailure.select(
        fn.COUNT(SignInFailure.id), fn.MIN(SignInFailure.failed_at)
    ).where(SignInFailure.address == address, SignInFailure.failed_at > now - WINDOW)
    count, oldest = recent.tuples().first()
    if count > MAX_FAILURES:
        SignInFailure.delete().where(SignInFailure.id == row.id).execute()
        oldest = SignInFailure.failed_at.python_value(oldest)
        wait = max(1, int((oldest + WINDOW - now).total_seconds()) + 1)
        minutes = -(-wait // 60)
        raise TooManyAttempts(
            f"too many failed sign-ins from your address; try again in {plural(minutes, 'minute')}",
            wait,
        )


def forget(address):
    """A successful sign-in clears the address's failures."""
    db.migrated_database()
    SignInFailure.delete().where(SignInFailure.address == address).execute()
