"""Checks on what callers hand the store: model names, times of use, prompt ids."""

from datetime import UTC, datetime, timedelta

from .errors import InvalidInput
from .models import utcnow
from .normalize import has_visible, lone_surrogate

MAX_MODEL_LENGTH = 200
# A generation service's clock may run a little ahead; a year ahead is a bug.
FUTURE_TOLERANCE = timedelta(days=1)


def clean_model(model):
    """A model name trimmed, None when blank or invisible, or InvalidInput."""
    if model is None:
        return None
    if not isinstance(model, str):
        raise InvalidInput(f"model must be text, not {type(model).__name__}", "model")
    model = " ".join(model.split())
    if len(model) > MAX_MODEL_LENGTH:
        raise InvalidInput(f"model name is longer than {MAX_MODEL_LENGTH} characters", "model")
    if "\x00" in model:
        raise InvalidInput("model must not contain NUL characters", "model")
    if surrogate := lone_surrogate(model):
        raise InvalidInput(f"model contains {surrogate}; send it as valid UTF-8", "model")
    # Only zero-width or other invisible characters: no model, as a blank name is.
    return model if has_visible(model) else None


def clean_time(used_at):
    """An aware UTC datetime from a datetime or ISO 8601 text (naive means UTC)."""
    if used_at is None:
        return utcnow()
    if isinstance(used_at, str):
        try:
            used_at = datetime.fromisoformat(used_at.strip())  # a trailing Z too
        except ValueError:
            raise InvalidInput(f"used_at is not an ISO 8601 time: {used_at!r}", "used_at") from None
    if not isinstance(used_at, datetime):
        raise InvalidInput("used_at must be a datetime or ISO 8601 text", "used_at")
    if used_at.tzinfo is None:
        used_at = used_at.replace(tzinfo=UTC)
    try:
        used_at = used_at.astimezone(UTC)
    except OverflowError:  # 0001-01-01 at +14:00 is still year 0 in UTC
        raise InvalidInput(
            f"used_at {used_at.isoformat()} is outside the years 1-9999 in UTC", "used_at"
        ) from None
    if used_at > utcnow() + FUTURE_TOLERANCE:
        raise InvalidInput(f"used_at {used_at.isoformat()} is in the future", "used_at")
    return used_at


def file_time(moment):
    """A time read from a file (its metadata or its clock), never later than now.

    Clocks that made files run ahead; the use still counts, as of now. A time given
    explicitly as used_at is checked by clean_time instead, and refused when ahead.
    """
    return None if moment is None else min(moment, utcnow())
