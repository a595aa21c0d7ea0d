"""Blueprint "admin": sign-in, delete, cleanup and database upkeep, CSRF-checked."""

import time
from datetime import UTC, datetime

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.security import check_password_hash

from . import importer, store, throttle
from .csrf import check_csrf
from .errors import Forbidden, InvalidInput
from .htmx import is_htmx, render

bp = Blueprint("admin", __name__, url_prefix="/admin")
IMPORT_SECONDS = 15  # one import request's work: well below gunicorn's 30 s and proxies' 60 s
NOT_IMPORTED = "the time for one request ran out; choose it again (imported files are skipped)"
clock = time.monotonic  # tests move it on
bp.before_request(check_csrf)


def is_admin():
    """True when this session signed in as the admin."""
    return bool(session.get("admin")) and admin_enabled()


def admin_enabled():
    """Admin actions exist only once an admin password hash is configured."""
    return bool(current_app.config.get("ADMIN_PASSWORD_HASH"))


def require_admin():
    """Refuse the request unless the admin is signed in."""
    if not is_admin():
        raise Forbidden("only the signed-in admin can do this")


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """Sign in with the admin password."""
    error = None
    if request.method == "POST":
        if not admin_enabled():
            raise Forbidden("admin actions are disabled: no admin password is set")
        address = request.remote_addr or "unknown"
        throttle.check_allowed(address)
        password = request.form.get("password", "")
        # check_password_hash compares in constant time.
        if check_password_hash(current_app.config["ADMIN_PASSWORD_HASH"], password):
            throttle.forget(address)
            session.clear()  # a new session id's worth: drop anything from before
            session["admin"] = True
            session["signed_in_at"] = int(time.time())
            session.permanent = True
            flash("Signed in.")
            return redirect(url_for(".dashboard"))
        throttle.record_failure(address)
        error = "That password is not right."
    status = 401 if error else 200
    return render_template("sign_in.html", error=error, enabled=admin_enabled()), status


@bp.post("/sign-out")
def sign_out():
    """End the admin session."""
    session.clear()
    flash("Signed out.")
    return redirect(url_for("gallery.index"))


@bp.get("/")
def dashboard():
    """Cleanup and upkeep, with the store's figures."""
    if not is_admin():
        return redirect(url_for(".sign_in"))
    return render_template(
        "admin.html",
        stats=store.get_stats(),
        session_ends=session_ends(),
        recently_deleted=store.recently_deleted(),
    )


def session_ends():
    """When this admin session expires (signed cookies older than this are refused)."""
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    return datetime.fromtimestamp(session.get("signed_in_at", time.time()) + lifetime, UTC)


@bp.delete("/prompts/<int:prompt_id>")
def delete_prompt(prompt_id):
    """Delete from a card (htmx): an empty body removes the card, a notice confirms."""
    require_admin()
    store.delete_prompt(prompt_id)
    return render_template("_notice.html", deleted=prompt_id, oob=True)


@bp.post("/prompts/<int:prompt_id>/delete")
def delete_prompt_form(prompt_id):
    """Delete from a plain form (no JavaScript), then back to the gallery."""
    require_admin()
    store.delete_prompt(prompt_id)
    flash(f"Deleted prompt #{prompt_id}. It can be restored from the admin page for a while.")
    return redirect(url_for("gallery.index"))


@bp.post("/prompts/<int:prompt_id>/restore")
def restore_prompt(prompt_id):
    """Undo a recent delete, from the notice or from the admin page."""
    require_admin()
    prompt = store.restore_prompt(prompt_id)
    if is_htmx():
        return render_template("_notice.html", restored=prompt, oob=False)
    flash(f"Restored prompt #{prompt.id}.")
    return redirect(url_for("gallery.prompt", prompt_id=prompt.id))


@bp.post("/cleanup")
def cleanup():
    """A dry run first; the same form with confirm=yes removes what it showed."""
    require_admin()
    without_thumbnail = request.form.get("without_thumbnail") == "yes"
    unused_days = request.form.get("unused_days") or None
    dry_run = request.form.get("confirm") != "yes"
    report = store.cleanup(without_thumbnail, unused_days, dry_run)
    return render(
        "admin.html",
        "_cleanup_report.html",
        report=report,
        without_thumbnail=without_thumbnail,
        unused_days=unused_days,
        stats=store.get_stats(),
    )


@bp.post("/import")
def import_images():
    """Import uploaded images through the importer; htmx sends one file per request."""
    require_admin()
    uploads = request.files.getlist("images")
    if not uploads or not any(upload.filename for upload in uploads):
        raise InvalidInput("choose one or more images to import", "images")
    model = request.form.get("model") or None
    # Without JavaScript every file comes in one request: stop importing when the time is
    # up, so the answer comes before a worker or proxy timeout, and say what is left.
    deadline = clock() + IMPORT_SECONDS
    results = []
    for upload in uploads:
        name = upload.filename or "upload"
        if results and clock() > deadline:
            results.append(importer.UploadResult(name, "not imported", NOT_IMPORTED))
        else:
            results.append(importer.import_upload(name, upload.read(), model))
    return render(
        "admin.html",
        "_import_results.html",
        results=results,
        stats=store.get_stats(),
    )


@bp.post("/optimize")
def optimize():
    """Refresh planner statistics, merge the search index, reclaim free pages."""
    require_admin()
    before, after = store.optimize()
    message = f"Database optimized: {before:,} bytes before, {after:,} bytes after."
    if is_htmx():
        return render_template("_notice.html", message=message, oob=False)
    flash(message)
    return redirect(url_for(".dashboard"))
