"""Sign-in throttling: after 5 failures from one address in 15 minutes, 429 until they age out."""

from datetime import timedelta

from peewee import AutoField, Model, TextField, fn

from . import db as database
from .errors import TooManyAttempts
from .models import UTCDateTimeField, utcnow

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)


class SignInFailure(Model):
    id = AutoField()
    address = TextField()
    failed_at = UTCDateTimeField()

    class Meta:
        database = database.db
        table_name = "sign_in_failures"


def check_allowed(address):
    """Raise TooManyAttempts while `address` has MAX_FAILURES failures in the window."""
    database.ready()
    since = utcnow() - WINDOW
    recent = SignInFailure.select(
        fn.COUNT(SignInFailure.id), fn.MIN(SignInFailure.failed_at)
    ).where(SignInFailure.address == address, SignInFailure.failed_at > since)
    count, oldest = recent.tuples().first()
    if count >= MAX_FAILURES:
        oldest = SignInFailure.failed_at.python_value(oldest)
        wait = max(1, int((oldest + WINDOW - utcnow()).total_seconds()) + 1)
        minutes = -(-wait // 60)
        raise TooManyAttempts(
            f"too many failed sign-ins from your address; try again in {minutes} minute(s)", wait
        )


def record_failure(address):
    """Count one failed sign-in, forgetting failures that have aged out."""
    database.ready()
    now = utcnow()
    SignInFailure.delete().where(SignInFailure.failed_at <= now - WINDOW).execute()
    SignInFailure.create(address=address, failed_at=now)


def forget(address):
    """A successful sign-in clears the address's failures."""
    database.ready()
    SignInFailure.delete().where(SignInFailure.address == address).execute()
