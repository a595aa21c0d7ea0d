"""Copy a whole store between any two databases (SQLite <-> PostgreSQL), then verify it.

Rows keep their ids, so running the copy again updates rather than duplicates.
"""

import hashlib
from dataclasses import dataclass

from peewee import IntegrityError, fn

from . import engines
from .db import migrate
from .errors import InvalidInput
from .models import ImportedFile, Prompt, ThumbnailDigest
from .tokens import ApiToken

BATCH_SIZE = 200
TABLES = (Prompt, ApiToken, ImportedFile)  # prompts first: import records refer to them


@dataclass
class CopyReport:
    """Rows copied per table and what the verification found."""

    copied: dict
    thumbnails_checksum: str


def copy_store(source_url, target_url, progress=None):
    """Copy every table from source to target in batches; raise InvalidInput on mismatch."""
    if source_url == target_url:
        raise InvalidInput("the source and the target are the same database")
    source, target = (engines.open_database(url, pool_size=2) for url in (source_url, target_url))
    try:
        migrate(source)
        migrate(target)
        total = sum(count_rows(source, model) for model in TABLES)
        step = progress or (lambda rows, total: None)
        copied = {
            m._meta.table_name: copy_table(m, source, target, lambda rows: step(rows, total))
            for m in TABLES
        }
        restart_ids(target)
        engines.refresh_statistics(target)
        return CopyReport(copied, verify(source, target))
    finally:
        for database in (source, target):
            if hasattr(database, "close_all"):
                database.close_all()
            else:
                database.close()


def count_rows(database, model):
    """How many rows a table holds in `database`."""
    with database.bind_ctx([model]):
        return model.select().count()


def copy_table(model, source, target, progress):
    """Upsert every row of one table from source to target, by id, a batch at a time."""
    copied, last_id = 0, 0
    others = [field for field in model._meta.sorted_fields if field is not model.id]
    while True:
        with source.bind_ctx([model]):
            batch = model.select().where(model.id > last_id).order_by(model.id).limit(BATCH_SIZE)
            rows = list(batch.dicts())
        if not rows:
            return copied
        with target.bind_ctx([model]), target.atomic():
            try:
                model.insert_many(rows).on_conflict(
                    conflict_target=[model.id], preserve=others
                ).execute()
                if model is Prompt:  # a thumbnail and its digest change together
                    copy_digests(source, target, [row["id"] for row in rows])
            except IntegrityError as exc:
                raise InvalidInput(
                    f"the target holds a different store ({model._meta.table_name}: {exc}); "
                    "copy into an empty database"
                ) from None
        copied += len(rows)
        last_id = rows[-1]["id"]
        progress(len(rows))


def restart_ids(target):
    """After explicit ids, new rows must number on from the largest (PostgreSQL identity)."""
    if engines.is_sqlite(target):
        return  # AUTOINCREMENT follows explicit ids by itself
    for model in TABLES:
        table = model._meta.table_name
        target.execute_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        )


def verify(source, target):
    """Compare row counts, use totals and a checksum of every thumbnail; return the checksum."""
    for model in TABLES:
        if count_rows(source, model) != count_rows(target, model):
            raise InvalidInput(f"verification failed: {model._meta.table_name} row counts differ")
    checksums = [thumbnails_checksum(database) for database in (source, target)]
    if checksums[0] != checksums[1]:
        raise InvalidInput("verification failed: the thumbnails differ")
    totals = []
    for database in (source, target):
        with database.bind_ctx([Prompt]):
            totals.append(Prompt.select(fn.SUM(Prompt.total_uses)).scalar())
    if totals[0] != totals[1]:
        raise InvalidInput("verification failed: the use counts differ")
    return checksums[0]


def thumbnails_checksum(database):
    """SHA-256 over every (id, thumbnail) in id order, read a batch at a time."""
    digest, last_id = hashlib.sha256(), 0
    with database.bind_ctx([Prompt]):
        while True:
            rows = list(
                Prompt.select(Prompt.id, Prompt.thumbnail_data)
                .where(Prompt.id > last_id)
                .order_by(Prompt.id)
                .limit(BATCH_SIZE)
                .tuples()
            )
            if not rows:
                return digest.hexdigest()
            for prompt_id, data in rows:
                digest.update(f"{prompt_id}:".encode())
                digest.update(bytes(data or b""))
            last_id = rows[-1][0]


def copy_digests(source, target, prompt_ids):
    """Upsert the thumbnail digests of these prompts (inside the target's transaction)."""
    with source.bind_ctx([ThumbnailDigest]):
        rows = list(ThumbnailDigest.select().where(ThumbnailDigest.id.in_(prompt_ids)).dicts())
    if rows:
        with target.bind_ctx([ThumbnailDigest]):
            ThumbnailDigest.insert_many(rows).on_conflict(
                conflict_target=[ThumbnailDigest.id], preserve=[ThumbnailDigest.digest]
            ).execute()
