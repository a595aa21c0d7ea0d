"""Copy a whole store between any two databases (SQLite <-> PostgreSQL), then verify it.

The source is only read, in one snapshot. The target must be empty (rows keep their
ids), or with merge=True the source's rows are added to what it holds. Either way the
target is written in one transaction, verified before it commits: a failure anywhere
leaves it as it was.
"""

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from peewee import EXCLUDED, JOIN, DatabaseError, IntegrityError, fn

from . import engines
from .db import open_database
from .errors import InvalidInput
from .migrations import MIGRATIONS, migrate, schema_version
from .models import ApiToken, ImportedFile, Prompt, ThumbnailDigest
from .templating import plural

BATCH_SIZE = 200
# Prompts first: digests and import records refer to them.
TABLES = (Prompt, ThumbnailDigest, ApiToken, ImportedFile)


@dataclass
class CopyReport:
    """Rows copied per table and what the verification found."""

    copied: dict
    thumbnails_checksum: str | None  # None after a merge: the target holds more than the source
    merged: dict = field(default_factory=dict)  # table -> source rows folded into target rows


def copy_store(source_url, target_url, progress=None, merge=False):
    """Copy every table from source to target; raise InvalidInput, the target unchanged,
    when the target is not empty (unless merging), the source is not current, or a check fails.
    """
    if same_database(source_url, target_url):
        raise InvalidInput("the source and the target are the same database")
    source = open_database(source_url, pool_size=1, read_only=True)
    target = open_database(target_url, pool_size=2)
    try:
        check_source(source)
        held = rows_held(target)
        if any(held.values()) and not merge:
            raise InvalidInput(
                f"the target already holds {describe(held)}; copy into an empty database, "
                "or add --merge to add this store to it"
            )
        migrate(target)
        total = sum(count_rows(source, model) for model in TABLES)
        step = progress or (lambda rows, total: None)
        with engines.snapshot(source), target.atomic():
            if merge:
                report = merge_tables(source, target, held, lambda rows: step(rows, total))
            else:
                report = copy_tables(source, target, lambda rows: step(rows, total))
        engines.refresh_statistics(target)
        return report
    finally:
        for database in (source, target):
            if hasattr(database, "close_all"):
                database.close_all()
            else:
                database.close()


def same_database(source_url, target_url):
    """True when both URLs name one database (SQLite: one file, however it is spelled)."""
    if source_url == target_url:
        return True
    prefix = "sqlite:///"
    if source_url.startswith(prefix) and target_url.startswith(prefix):
        paths = (Path(url.removeprefix(prefix)).resolve() for url in (source_url, target_url))
        return len(set(paths)) == 1
    return False


def check_source(source):
    """Refuse a source this gallery cannot read as it is: copy-db never migrates it."""
    try:
        version = schema_version(source)
    except DatabaseError as exc:
        reason = str(exc).splitlines()[0]
        raise InvalidInput(f"cannot read the source database: {reason}") from None
    if version == 0 or not source.table_exists("prompts"):
        raise InvalidInput("the source database holds no Prompt Gallery store")
    if version < len(MIGRATIONS):
        raise InvalidInput(
            f"the source is at schema version {version}, this gallery's is {len(MIGRATIONS)}; "
            "copy-db only reads its source, so run the gallery on it once first "
            "(flask --app gallery gallery init-db, with GALLERY_DATABASE_URL set to it)"
        )
    if version > len(MIGRATIONS):
        raise InvalidInput(
            f"the source is at schema version {version}, newer than this gallery's "
            f"{len(MIGRATIONS)}; copy it with the newer gallery"
        )


def rows_held(target):
    """{table: rows} the target already holds, read before it is migrated or written."""
    if schema_version(target) > len(MIGRATIONS):
        raise InvalidInput("the target was made by a newer gallery; copy with that one")
    return {
        model._meta.table_name: count_rows(target, model) if target.table_exists(model) else 0
        for model in TABLES
    }


def describe(held):
    """What the target holds, for the error message: "2 prompts, 1 api_tokens row"."""
    return ", ".join(
        plural(rows, "prompt") if table == "prompts" else f"{plural(rows, table + ' row')}"
        for table, rows in held.items()
        if rows
    )


def count_rows(database, model):
    """How many rows a table holds in `database`."""
    with database.bind_ctx([model]):
        return model.select().count()


def batches(model, source):
    """Every row of a table in the source as dicts, in id order, a batch at a time."""
    last_id = 0
    while True:
        with source.bind_ctx([model]):
            query = model.select().where(model.id > last_id).order_by(model.id)
            rows = list(query.limit(BATCH_SIZE).dicts())
        if not rows:
            return
        yield rows
        last_id = rows[-1]["id"]


def written(model, action):
    """Run one write into the target; a constraint it breaks is a clear error."""
    try:
        return action()
    except IntegrityError as exc:
        reason = str(exc).splitlines()[0]  # PostgreSQL adds a DETAIL line
        raise InvalidInput(
            f"could not copy {model._meta.table_name}: {reason}; nothing was written to the target"
        ) from None


def copy_tables(source, target, progress):
    """Copy into an empty target, rows keeping their ids; verified before the commit."""
    copied = {}
    for model in TABLES:
        copied[model._meta.table_name] = 0
        for rows in batches(model, source):
            with target.bind_ctx([model]):
                written(model, lambda m=model, rows=rows: m.insert_many(rows).execute())
            copied[model._meta.table_name] += len(rows)
            progress(len(rows))
    restart_ids(target)
    return CopyReport(copied, verify(source, target))


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
    if total_uses(source) != total_uses(target):
        raise InvalidInput("verification failed: the use counts differ")
    return checksums[0]


def total_uses(database):
    """The sum of every prompt's uses."""
    with database.bind_ctx([Prompt]):
        return Prompt.select(fn.SUM(Prompt.total_uses)).scalar() or 0


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


def merge_tables(source, target, held, progress):
    """Add the source to a target that holds a store: prompts by hash (uses summed, first
    and last use widened, the target's model and thumbnail kept where it has them), import
    records by content hash, tokens by hash. New rows get the target's next ids."""
    uses_before = total_uses(target)
    check_token_names(source, target)
    ids, copied, merged = {}, {}, {}
    for model, merge_batch in (
        (Prompt, merge_prompts),
        (ApiToken, merge_tokens),
        (ImportedFile, merge_files),
    ):
        table = model._meta.table_name
        copied[table] = merged[table] = 0
        for rows in batches(model, source):
            with target.bind_ctx([model, ThumbnailDigest]):
                merged[table] += written(
                    model, lambda merge=merge_batch, rows=rows: merge(target, rows, ids)
                )
            copied[table] += len(rows)
            progress(len(rows))
        if model is Prompt:  # their digests were settled with them
            progress(count_rows(source, ThumbnailDigest))
        expected = held[table] + copied[table] - merged[table]
        if count_rows(target, model) != expected:
            raise InvalidInput(f"verification failed: {table} row counts differ")
    if total_uses(target) != uses_before + total_uses(source):
        raise InvalidInput("verification failed: the use counts differ")
    return CopyReport(copied, None, merged)


def merge_prompts(target, rows, ids):
    """Upsert a batch of source prompts by hash; note their ids in the target; return how
    many the target already had."""
    hashes = [row["prompt_hash"] for row in rows]
    had = Prompt.select().where(Prompt.prompt_hash.in_(hashes)).count()
    query = (
        Prompt.insert_many([without_id(row) for row in rows])
        .on_conflict(
            conflict_target=[Prompt.prompt_hash], update=Prompt.merged_with_excluded(target)
        )
        .returning(Prompt.id, Prompt.prompt_hash)
    )
    new_id = dict((prompt_hash, prompt_id) for prompt_id, prompt_hash in query.tuples().execute())
    ids.update((row["id"], new_id[row["prompt_hash"]]) for row in rows)
    remember_digests(list(new_id.values()))
    return had


def remember_digests(prompt_ids):
    """Give these merged prompts the digest of the picture they now have (a target's own
    picture keeps its digest; one that came from the source gets one)."""
    pictured = (
        Prompt.select(Prompt.id, Prompt.thumbnail_data)
        .join(ThumbnailDigest, JOIN.LEFT_OUTER, on=(ThumbnailDigest.id == Prompt.id))
        .where(
            Prompt.id.in_(prompt_ids),
            Prompt.thumbnail_data.is_null(False),
            ThumbnailDigest.id.is_null(),
        )
    )
    for prompt_id, data in pictured.tuples():
        ThumbnailDigest.remember(prompt_id, bytes(data))


def check_token_names(source, target):
    """Refuse, before writing, a live token name both stores use for different tokens."""
    with source.bind_ctx([ApiToken]):
        live = {
            t.name: t.token_hash for t in ApiToken.select().where(ApiToken.revoked_at.is_null())
        }
    with target.bind_ctx([ApiToken]):
        taken = ApiToken.select(ApiToken.name).where(
            ApiToken.revoked_at.is_null(),
            ApiToken.name.in_(list(live)),
            ApiToken.token_hash.not_in(list(live.values())),
        )
        clash = sorted(t.name for t in taken)
    if clash:
        raise InvalidInput(
            f"both stores have a live API token named {clash[0]!r}; "
            "revoke it in one of them, then merge"
        )


def merge_tokens(target, rows, ids):
    """Add the source's tokens the target lacks; return how many it had."""
    hashes = [row["token_hash"] for row in rows]
    had = ApiToken.select().where(ApiToken.token_hash.in_(hashes)).count()
    ApiToken.insert_many([without_id(row) for row in rows]).on_conflict_ignore().execute()
    return had


def merge_files(target, rows, ids):
    """Add import records by content hash, pointing at the prompts' ids in the target; a
    record the target has wins, unless only the source's found a prompt. Returns how many
    the target had."""
    shas = [row["sha256"] for row in rows]
    had = ImportedFile.select().where(ImportedFile.sha256.in_(shas)).count()
    records = []
    for row in rows:
        prompt_id = row["prompt"]
        if prompt_id is not None and prompt_id not in ids:
            raise InvalidInput(
                f"could not copy imported_files: a record refers to prompt {prompt_id}, "
                "which the source does not hold; nothing was written to the target"
            )
        records.append({**without_id(row), "prompt": ids.get(prompt_id)})
    update = ("path", "status", "prompt", "generator", "raw_metadata", "imported_at")
    ImportedFile.insert_many(records).on_conflict(
        conflict_target=[ImportedFile.sha256],
        update={
            getattr(ImportedFile, name): getattr(
                EXCLUDED, ImportedFile._meta.fields[name].column_name
            )
            for name in update
        },
        where=(ImportedFile.status != ImportedFile.IMPORTED)
        & (EXCLUDED.status == ImportedFile.IMPORTED),
    ).execute()
    return had


def without_id(row):
    """A row's columns but its id, for the target to number."""
    return {name: value for name, value in row.items() if name != "id"}
