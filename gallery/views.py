"""Blueprint "gallery": the card grid, a prompt's page, thumbnails, stats and /healthz."""

import logging
import threading

from flask import Blueprint, current_app, render_template, request, url_for

from . import engines
from .errors import InvalidInput
from .htmx import is_htmx, render
from .models import Prompt, Stats
from .responses import thumbnail_response
from .search import query_terms, search_prompts

log = logging.getLogger(__name__)

bp = Blueprint("gallery", __name__)

NO_MODEL = "__none__"  # the model filter's value for prompts recorded without one
# Each listing's sort menu as [(key, label)], from the table of sort orders.
SORT_MENUS = {
    listing: [(sort.key, sort.label) for sort in Prompt.sorts(listing)]
    for listing in ("list", "search")
}
MAX_QUERY_LENGTH = 500
FIRST_PAGE_NOTICES = {
    "sort": "There is no order “{sort}”, so this is the first page in the usual order.",
    "cursor": "That link to a later page is out of date or was edited, so this is the first page.",
}


def listing_args():
    """(q, model, sort, cursor) from the query string, as the gallery understands them."""
    q = request.args.get("q", "").strip()[:MAX_QUERY_LENGTH]
    model = request.args.get("model", "")
    sort = request.args.get("sort", "")
    offered = Prompt.SORTS.get(sort)
    if sort == "" or (offered and listing_of(q) not in offered.listings):
        sort = default_sort(q)  # "best match" means nothing without words to match
    return q, model, sort, request.args.get("cursor") or None


def listing_of(q):
    """The listing the gallery shows: a search when there are words, else all prompts."""
    return "search" if q else "list"


def default_sort(q):
    """The listing's first order: best match for a search, the most recent otherwise."""
    return Prompt.sorts(listing_of(q))[0].key


def listing(q, model, sort, cursor, limit):
    """A Page of cards: search results when there are words, else the whole gallery."""
    if q:
        return search_prompts(q, store_model(model), sort, limit, cursor)
    return Prompt.page(sort, store_model(model), cursor, limit)


def store_model(model):
    """The filter value as the store takes it: None for all, "" for no model."""
    if model == NO_MODEL:
        return ""
    return model or None


@bp.get("/")
def index():
    """The gallery: a page of cards, or the next page / new results for htmx."""
    q, model, sort, cursor = listing_args()
    limit = current_app.config["PAGE_SIZE"]
    notice = None
    try:
        page = listing(q, model, sort, cursor, limit)
    except InvalidInput as exc:
        if exc.field not in FIRST_PAGE_NOTICES:
            raise
        # An edited or outdated link gets the first page and a word on why, not an
        # error page (the API answers 400).
        notice = FIRST_PAGE_NOTICES[exc.field].format(sort=sort[:40])
        if exc.field == "sort":
            sort = default_sort(q)
        cursor = None
        page = listing(q, model, sort, cursor, limit)
    args = {"q": q or None, "model": model or None, "sort": sort}
    next_url = page.next_cursor and url_for(".index", **args, cursor=page.next_cursor)
    # A request with a cursor wants the next cards; without, fresh results.
    response = render(
        "index.html",
        "_cards.html" if cursor else "_results.html",
        message=notice,
        oob=is_htmx(),  # a fragment brings its notice out of band
        page=page,
        q=q,
        terms=query_terms(q),
        model=model,
        sort=sort,
        listing=listing_of(q),
        sort_menus=SORT_MENUS,  # this listing's menu, and both for the page script
        models=[] if is_htmx() else Prompt.models(),  # only the full page shows the filter
        no_model=NO_MODEL,
        next_url=next_url,
    )
    if notice and is_htmx():
        # Whichever element asked (the form, a "load more" link), the first page
        # replaces all results, and the address bar shows its URL.
        response.headers["HX-Retarget"] = "#results"
        response.headers["HX-Reswap"] = "innerHTML"
        response.headers["HX-Push-Url"] = url_for(".index", **args)
    return response


@bp.get("/prompts/<int:prompt_id>")
def prompt(prompt_id):
    """One prompt: its large thumbnail, full text and history."""
    return render_template(
        "prompt.html",
        prompt=Prompt.card(prompt_id),
    )


@bp.get("/prompts/<int:prompt_id>/thumbnail")
def thumbnail(prompt_id):
    """The thumbnail bytes, cached for good when asked for by their version."""
    return thumbnail_response(prompt_id)


@bp.get("/stats")
def stats():
    """Totals, uses by latest model as a chart, the most used and latest prompts."""
    return render_template(
        "stats.html",
        stats=Stats.current(),
        popular=Prompt.top("popular", 10),
        recent=Prompt.top("recent", 10),
    )


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page says."""
    return current_app.send_static_file("favicon.svg")


@bp.record_once
def limit_health_checks(state):
    """Each app's health checks: how many may be stuck at once, and how long one waits."""
    # A check runs in a thread of its own, so it can be given up on: statement_timeout
    # is the server's, and a server (or pooler) that takes the query and stays silent
    # would otherwise hold /healthz until the load balancer's own timeout.
    checks = threading.BoundedSemaphore(4)  # stuck checks at most; then 503 at once
    deadline = float(state.app.config["DATABASE_CONNECT_TIMEOUT"]) + 1
    state.app.extensions["gallery_health_checks"] = (checks, deadline)


@bp.get("/healthz")
def healthz():
    """200 when the database answers, 503 when not: for load balancers."""
    database = current_app.extensions["gallery_db"]
    checks, deadline = current_app.extensions["gallery_health_checks"]
    outcome = {}
    if not checks.acquire(timeout=deadline):
        outcome["error"] = TimeoutError("earlier health checks are still waiting")
    else:
        checker = threading.Thread(
            target=health_check, args=(database, checks, outcome), daemon=True
        )
        checker.start()
        checker.join(deadline)
    if "ok" in outcome:
        return {"status": "ok"}
    # Any failure means "not healthy"; the driver's words (hosts, roles) go to the log only.
    log.warning("health check failed: %s", outcome.get("error", "no answer in time"))
    reason = engines.unavailable(outcome.get("error")) or engines.UNREACHABLE
    return {"status": "unavailable", "error": reason}, 503


def health_check(database, checks, outcome):
    """Ask the database for one row; record "ok" or the error, then free the check's slot."""
    try:
        with database.connection_context():
            database.execute_sql("SELECT 1").fetchone()
        outcome["ok"] = True
    except Exception as exc:
        outcome["error"] = exc
    finally:
        checks.release()
