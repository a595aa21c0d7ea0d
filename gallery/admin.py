"""Blueprint "admin": sign-in, delete, cleanup and database upkeep, CSRF-checked."""

import hashlib
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

from . import importer, sessions, store, throttle
from .csrf import check_csrf
from .errors import Forbidden, InvalidInput, Unauthorized, wants_json
from .htmx import is_htmx, render
from .models import Stats
from .templating import plural
from .tokens import presented_token

bp = Blueprint("admin", __name__, url_prefix="/admin")
IMPORT_SECONDS = 15  # one import request's work: well below gunicorn's 30 s and proxies' 60 s
NOT_IMPORTED = "the time for one request ran out; choose it again (imported files are skipped)"
clock = time.monotonic  # tests move it on
bp.before_request(check_csrf)
ADMIN_CHECKED = "gallery.is_admin"  # the request's answer, kept in its WSGI environ


def is_admin():
    """True when this session signed in as the admin, and nothing has ended it since."""
    if not session.get("admin") or not admin_enabled():
        return False
    # A page asks once per card: the database once per request. (Not in g: a test's
    # app context outlives its requests, and g with it.)
    if ADMIN_CHECKED not in request.environ:
        request.environ[ADMIN_CHECKED] = (
            session.get("generation") == sessions.session_generation()
            and session.get("password") == password_fingerprint()
        )
    return request.environ[ADMIN_CHECKED]


def password_fingerprint():
    """A short digest of the admin password hash: a session made under another password
    (set in the environment, say, without the command) does not count."""
    configured = current_app.config["ADMIN_PASSWORD_HASH"]
    return hashlib.sha256(configured.encode("utf-8")).hexdigest()[:16]


def admin_enabled():
    """Admin actions exist only once an admin password hash is configured."""
    return bool(current_app.config.get("ADMIN_PASSWORD_HASH"))


def require_admin():
    """Refuse the request unless the admin is signed in."""
    if not is_admin():
        raise Forbidden("only the signed-in admin can do this")


# What a private gallery still shows to anyone: the way in, its assets, the health check.
OPEN_WHEN_PRIVATE = {"admin.sign_in", "static", "gallery.favicon", "gallery.healthz"}


def require_private_access():
    """With GALLERY_PRIVATE, every page, thumbnail and API read needs the signed-in admin or
    a token with the `read` scope. Writes keep their own checks (the admin, or a token with
    the scope they need), so a recording worker still records."""
    if not current_app.config["PRIVATE"] or request.method not in ("GET", "HEAD"):
        return None
    if request.endpoint is None or request.endpoint in OPEN_WHEN_PRIVATE or is_admin():
        return None
    if "Authorization" in request.headers:
        presented_token("read")
        return None
    if wants_json():
        raise Unauthorized("this gallery is private: send a token with the read scope")
    return redirect(url_for("admin.sign_in"))


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """Sign in with the admin password."""
    error = None
    if request.method == "POST":
        if not admin_enabled():
            raise Forbidden("admin actions are disabled: no admin password is set")
        address = request.remote_addr or "unknown"
        throttle.attempt(address)  # counted before the check, so racing requests count too
        password = request.form.get("password", "")
        # check_password_hash compares in constant time.
        if check_password_hash(current_app.config["ADMIN_PASSWORD_HASH"], password):
            throttle.forget(address)
            session.clear()  # a new session id's worth: drop anything from before
            session["admin"] = True
            session["generation"] = sessions.session_generation()
            session["password"] = password_fingerprint()
            session["signed_in_at"] = int(time.time())
            session.permanent = True
            flash("Signed in.")
            return redirect(url_for(".dashboard"))
        error = "That password is not right."
    status = 401 if error else 200
    return render_template("sign_in.html", error=error, enabled=admin_enabled()), status


@bp.post("/sign-out")
def sign_out():
    """End the admin session, and with it every copy of every admin session cookie."""
    if is_admin():  # a visitor's sign-out must not end the admin's sessions
        sessions.end_admin_sessions()
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
        stats=Stats.current(),
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
    """A dry run first; its form with confirm=yes removes exactly the prompts it showed."""
    require_admin()
    without_thumbnail = request.form.get("without_thumbnail") == "yes"
    unused_days = request.form.get("unused_days") or None
    confirm = request.form.get("confirm") == "yes"
    fixed = {}
    if confirm:
        # The dry run's cut-off and highest id: what was recorded or aged since stays.
        fixed["highest_id"] = request.form.get("highest_id", "")
        if unused_days:
            fixed["cutoff"] = request.form.get("cutoff", "")
    report = store.cleanup(without_thumbnail, unused_days, not confirm, **fixed)
    return render(
        "admin.html",
        "_cleanup_report.html",
        report=report,
        without_thumbnail=without_thumbnail,
        unused_days=unused_days,
        stats=Stats.current(),
        recently_deleted=store.recently_deleted(),
    )


@bp.post("/cleanups/<batch>/restore")
def restore_cleanup(batch):
    """Undo a recent cleanup as a whole, from its result or from the admin page."""
    require_admin()
    restored = store.restore_cleanup(batch)
    if is_htmx():
        return render_template("_cleanup_report.html", restored=restored)
    flash(f"Restored {plural(restored, 'prompt')} from the cleanup.")
    return redirect(url_for(".dashboard"))


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
        stats=Stats.current(),
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
