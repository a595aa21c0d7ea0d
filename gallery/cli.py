"""`flask gallery ...` commands: thin wrappers over store, search and demo."""

import functools
import sqlite3
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from peewee import DatabaseError, InterfaceError
from playhouse.pool import MaxConnectionsExceeded
from werkzeug.security import generate_password_hash

from . import backup as backups
from . import copying, db, demo, importer, migrations, sessions, store, tokens
from .errors import GalleryError, InvalidInput, as_unavailable, database_failure
from .models import Stats
from .search import search_prompts
from .templating import plural

gallery = AppGroup("gallery", help="Manage the prompt store.")


def init_app(app):
    """Register the command group on the app."""
    app.cli.add_command(gallery)


def fail_clearly(command):
    """Turn a GalleryError (bad input, not found, ...), or a database that is locked,
    read-only or unreachable, into one `Error: ...` line and a non-zero exit."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except GalleryError as exc:
            raise click.ClickException(exc.message) from None
        except (DatabaseError, InterfaceError, sqlite3.Error, MaxConnectionsExceeded) as exc:
            # The operator at the terminal may see the driver's words (host, port, file);
            # a web page never does.
            unavailable = as_unavailable(exc)
            message = database_failure(exc)
            if unavailable is not None:
                message = f"{unavailable.message} ({message})"
            raise click.ClickException(message) from None

    return wrapper


def describe(prompt):
    """One line for a prompt."""
    model = prompt.model or "no model"
    return f"#{prompt.id}  {prompt.total_uses}x  [{model}]  {prompt.prompt_text}"


@gallery.command("init-db")
@fail_clearly
def init_db():
    """Create or migrate the schema (also happens on first use)."""
    version = migrations.migrate(db.migrated_database())
    click.echo(f"Database ready at schema version {version}.")


@gallery.command("add")
@click.argument("prompt")
@click.option("--model", "-m", help="Model name to record with the use.")
@click.option("--image", type=click.Path(dir_okay=False), help="Image made from the prompt.")
@fail_clearly
def add(prompt, model, image):
    """Record one use of PROMPT."""
    recorded = store.record_use(prompt, model=model, image_path=image)
    verb = "Added" if recorded.created else "Counted another use of"
    click.echo(f"{verb} prompt #{recorded.id} (used {recorded.total_uses}x).")
    if recorded.thumbnail_error:
        click.echo(f"Warning: image not used: {recorded.thumbnail_error}", err=True)


@gallery.command("search")
@click.argument("query")
@click.option("--model", "-m", help="Only prompts of this model.")
@click.option("--limit", "-n", default=20, show_default=True, help="Results to show (1-100).")
@fail_clearly
def search(query, model, limit):
    """Full-text search, best match first."""
    results = search_prompts(query, model=model, limit=limit).items
    for prompt in results:
        click.echo(describe(prompt))
    if not results:
        click.echo("No prompt matches.")


@gallery.command("stats")
@fail_clearly
def stats():
    """Totals, thumbnails, sizes and uses by latest model."""
    s = Stats.current()
    click.echo(f"Prompts:      {s.total_prompts}")
    click.echo(f"Uses:         {s.total_uses}")
    click.echo(f"Thumbnails:   {s.with_thumbnail} ({s.without_thumbnail} prompts without)")
    click.echo(f"Thumb bytes:  {s.thumbnail_bytes}")
    click.echo(f"Database:     {s.database_bytes} bytes")
    click.echo(f"Activity:     {s.first_activity or '-'} .. {s.last_activity or '-'}")
    if s.models:
        click.echo("Uses by latest model (each prompt's under the model it was last used with):")
    for model, prompts, uses in s.models:
        click.echo(f"  {model or '(no model)'}: {prompts} prompts, {uses} uses")


@gallery.command("delete")
@click.argument("prompt_id", type=int)
@fail_clearly
def delete(prompt_id):
    """Delete prompt PROMPT_ID and its thumbnail."""
    store.delete_prompt(prompt_id)
    click.echo(f"Deleted prompt #{prompt_id}.")


@gallery.command("cleanup")
@click.option("--without-thumbnail", is_flag=True, help="Prompts that have no thumbnail.")
@click.option("--unused-days", type=int, help="Prompts not used for this many days.")
@click.option("--dry-run", is_flag=True, help="Only show what would be removed.")
@fail_clearly
def cleanup(without_thumbnail, unused_days, dry_run):
    """Remove prompts without a thumbnail and/or unused for a long time (restorably)."""
    report = store.cleanup(without_thumbnail, unused_days, dry_run)
    for prompt_id, text in report.examples:
        click.echo(f"  #{prompt_id}  {text[:80]}")
    verb = "Would remove" if dry_run else "Removed"
    click.echo(f"{verb} {plural(report.count, 'prompt')}.")
    if report.count and not dry_run:
        until = report.restorable_until.strftime("%Y-%m-%d %H:%M UTC")
        click.echo(f"They can be restored from the admin page until {until}.")


@gallery.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@fail_clearly
def backup(path):
    """Write a consistent copy of the live database to PATH (a new file)."""
    size = backups.backup(path)
    click.echo(f"Backed up to {path} ({size} bytes).")


@gallery.command("set-admin-password")
@click.password_option(help="The new admin password (asked for twice when not given).")
@fail_clearly
def set_admin_password(password):
    """Store a hash of the admin password in instance/config.py."""
    if len(password) < 8:
        raise InvalidInput("choose a password of at least 8 characters")
    path = Path(current_app.instance_path) / "config.py"
    write_setting(path, "ADMIN_PASSWORD_HASH", generate_password_hash(password))
    sessions.end_admin_sessions()
    click.echo(f"Admin password set in {path}. Every admin session has been ended.")
    click.echo("Restart the gallery to use the new password.")


def write_setting(path, name, value):
    """Set NAME = value in a config file, replacing an earlier line for it."""
    lines = path.read_text().splitlines() if path.exists() else []
    lines = [line for line in lines if not line.startswith(f"{name} =")]
    lines.append(f"{name} = {value!r}")
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)


@gallery.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--recursive", "-r", is_flag=True, help="Look in sub-folders too.")
@click.option("--model", "-m", help="Model for images whose metadata names none.")
@click.option("--dry-run", is_flag=True, help="Show what would be imported; change nothing.")
@click.option(
    "--workers", "-w", type=click.IntRange(min=1), help="Worker processes [one per core]."
)
@fail_clearly
def import_images(paths, recursive, model, dry_run, workers):
    """Import AI-generated images, reading the prompt each generator embeds."""
    db.migrated_database()  # an unreachable database fails here, not under the progress bar
    total = len(importer.find_images(paths, recursive)[0])
    started = time.monotonic()

    def rate(_):
        done = bar.pos or 0
        return f"{done / max(time.monotonic() - started, 1e-6):.1f} files/s"

    with click.progressbar(
        length=total, label="Importing", show_eta=True, show_pos=True, item_show_func=rate
    ) as bar:
        report = importer.import_paths(
            paths, recursive, model, dry_run, workers, progress=lambda path: bar.update(1)
        )
    print_report(report)
    if report.interrupted:
        raise SystemExit(130)


def print_report(report):
    """The import summary: what was imported, skipped and why, and what failed."""
    if report.dry_run:
        click.echo(f"Would import {plural(len(report.would_import), 'image')}:")
        for path, prompt in report.would_import:
            click.echo(f"  {path}: {prompt[:70]}")
    else:
        click.echo(
            f"Imported {plural(report.imported, 'image')}: "
            f"{plural(report.new_prompts, 'new prompt')}, "
            f"{report.repeated_prompts} repeated."
        )
    click.echo(
        f"Skipped {report.already_imported} already imported, "
        f"{len(report.no_prompt)} with no prompt found."
    )
    for path in report.no_prompt:
        click.echo(f"  no prompt: {path}")
    if report.failed:
        click.echo(f"Failed {len(report.failed)}:")
        for path, reason in report.failed:
            click.echo(f"  {path}: {reason}")
    if report.interrupted:
        click.echo("Interrupted: everything above is saved; run the import again to go on.")


@gallery.command("reparse")
@fail_clearly
def reparse():
    """Re-read the stored metadata of imported files with today's readers."""
    report = importer.reparse()
    click.echo(f"Found prompts in {plural(report.found, 'file')} that had none; recorded them.")
    for path, stored, now in report.changed:
        click.echo(
            f"  reads differently now: {path}\n    stored: {stored[:70]}\n    now:    {now[:70]}"
        )
    click.echo(
        f"{len(report.changed)} read differently (left as they are), {report.unchanged} unchanged."
    )
    if report.failed:
        click.echo(f"Could not record {len(report.failed)}:")
        for path, reason in report.failed:
            click.echo(f"  {path}: {reason}")


@gallery.command("copy-db")
@click.argument("source_url")
@click.argument("target_url")
@click.option("--merge", is_flag=True, help="Add to a target that already holds a store.")
@fail_clearly
def copy_db(source_url, target_url, merge):
    """Copy every prompt, thumbnail, token and import record between two databases."""
    with click.progressbar(length=1, label="Copying rows", show_pos=True, show_eta=True) as bar:

        def progress(rows, total):
            bar.length = max(total, 1)
            bar.update(rows)

        report = copying.copy_store(source_url, target_url, progress, merge=merge)
    for table, rows in report.copied.items():
        if merge:
            click.echo(
                f"  {table}: {plural(rows, 'row')}, "
                f"{report.merged[table]} merged into one the target had"
            )
        else:
            click.echo(f"  {table}: {plural(rows, 'row')}")
    if merge:
        click.echo("Verified: the target's counts and uses grew by what the source holds.")
    else:
        click.echo(
            f"Verified: counts, uses and thumbnails match (sha256 {report.thumbnails_checksum})."
        )


@gallery.command("create-token")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(tokens.SCOPES),
    help="What the token may do; repeat for several [record]. admin includes the others.",
)
@fail_clearly
def create_token(name, scopes):
    """Make an API token called NAME; it is printed once and stored only as a hash."""
    token = tokens.create_token(name, scopes or tokens.DEFAULT_SCOPES)
    click.echo(token)
    click.echo(f"Token {name!r} created. Keep it now: it cannot be shown again.", err=True)


@gallery.command("list-tokens")
@fail_clearly
def list_tokens():
    """The API tokens: names, scopes, when made and last used, revoked or live."""
    rows = tokens.list_tokens()
    for t in rows:
        state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "live"
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
        click.echo(
            f"{t.name}  scopes {t.scopes}  created {t.created_at:%Y-%m-%d %H:%M}  "
            f"last used {used}  {state}"
        )
    if not rows:
        click.echo("No API tokens yet: make one with create-token NAME.")


@gallery.command("revoke-token")
@click.argument("name")
@fail_clearly
def revoke_token(name):
    """Revoke the live API token called NAME."""
    tokens.revoke_token(name)
    click.echo(f"Token {name!r} revoked.")


@gallery.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.confirmation_option(prompt="Replace the live store with this backup?")
@fail_clearly
def restore(path):
    """Replace the live database with backup PATH, after checking it; keeps the old file."""
    kept = backups.restore(path)
    click.echo(f"Restored from {path}. The previous store is kept as {kept}.")


@gallery.command("demo")
@fail_clearly
def load_demo():
    """Fill the gallery with a few dozen prompts and drawn images."""
    count = demo.load()
    click.echo(f"Loaded {count} demo prompts. Start the gallery and have a look.")
