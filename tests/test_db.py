"""The database helpers: retrying a write that found the database locked."""

import pytest
from peewee import OperationalError

from gallery import db as gallery_db


def flaky(failures, message="database is locked"):
    calls = []

    def operation():
        calls.append(1)
        if len(calls) <= failures:
            raise OperationalError(message)
        return "done"

    return operation, calls


def test_retries_a_locked_database_with_backoff(ctx):
    gallery_db.ready()
    operation, calls = flaky(2)
    assert gallery_db.retry_when_busy(operation, first_wait=0.001) == "done"
    assert len(calls) == 3


def test_gives_up_after_the_last_attempt(ctx):
    gallery_db.ready()
    operation, calls = flaky(10)
    with pytest.raises(OperationalError):
        gallery_db.retry_when_busy(operation, attempts=3, first_wait=0.001)
    assert len(calls) == 3


def test_other_errors_and_transactions_are_not_retried(ctx):
    database = gallery_db.ready()
    operation, calls = flaky(1, "no such table: x")
    with pytest.raises(OperationalError):
        gallery_db.retry_when_busy(operation, first_wait=0.001)
    operation, calls = flaky(1)
    with database.atomic(), pytest.raises(OperationalError):
        gallery_db.retry_when_busy(operation, first_wait=0.001)
    assert len(calls) == 1
