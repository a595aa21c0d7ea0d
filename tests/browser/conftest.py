"""Browser fixtures: the app on a live server, a headless Chromium, and watched pages."""

import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from gallery import create_app
from gallery import db as gallery_db
from tests.conftest import ADMIN_PASSWORD, ADMIN_PASSWORD_HASH, close_pool, unavailable

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"  # gitignored
CHROMIUM = os.environ.get("GALLERY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PAGE_SIZE = 6
ADMIN_URL = re.compile(r"/admin/?$")
# Fast enough for a human-paced suite, slow enough for a loaded CI machine.
TIMEOUT_MS = 5_000


def pytest_collection_modifyitems(items):
    """Everything under tests/browser/ drives a real browser."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the whole session."""
    if not Path(CHROMIUM).is_file():
        unavailable(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[test]')")
    expect.set_options(timeout=TIMEOUT_MS)
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
    except Exception as exc:
        playwright.stop()
        unavailable(f"Chromium at {CHROMIUM} did not start: {exc}")
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def app_config():
    """Extra config for the live app; override in a module to change it."""
    return {}


@pytest.fixture
def app(tmp_path, app_config, database_url):
    """Like tests/conftest.py's app, with an admin password and small pages."""
    config = {
        "TESTING": True,
        "SECRET_KEY": "test",
        "DATABASE_URL": database_url,
        "ADMIN_PASSWORD_HASH": ADMIN_PASSWORD_HASH,
        "PAGE_SIZE": PAGE_SIZE,
    }
    app = create_app(config | app_config, instance_path=tmp_path / "instance")
    yield app
    close_pool(app)


@pytest.fixture
def live_server(app):
    """The app served on a free port in a background thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # A short poll interval: shutdown() waits up to one interval, once per test.
    thread = threading.Thread(
        target=server.serve_forever, args=(0.02,), name="live-server", daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def in_app(app):
    """Run fn() against the app's database in this thread, then let go of the connection.

    Peewee connections are thread-local and the server answers from its own threads:
    nothing here may stay open (least of all a transaction) while the browser works.
    """

    def run(fn, *args, **kwargs):
        with app.app_context():
            database = gallery_db.migrated_database()
            try:
                return fn(*args, **kwargs)
            finally:
                if not database.is_closed():
                    database.close()

    return run


@dataclass
class BrowserLog:
    """What the pages said: console errors, uncaught errors, dialogs."""

    console_errors: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)
    dialogs: list = field(default_factory=list)  # (type, message)
    accept_dialogs: bool = False
    allowed: list = field(default_factory=list)  # regexes of console errors a test expects

    def allow_console_error(self, pattern):
        """Expect console errors matching `pattern` (e.g. a refused request's status)."""
        self.allowed.append(re.compile(pattern))

    def on_console(self, message):
        if message.type == "error":
            self.console_errors.append(f"{message.text} ({message.location.get('url')})")

    def on_dialog(self, dialog):
        self.dialogs.append((dialog.type, dialog.message))
        if self.accept_dialogs:
            dialog.accept()
        else:
            dialog.dismiss()

    def unexpected(self):
        """Console and page errors no test asked for."""
        errors = [e for e in self.console_errors if not any(p.search(e) for p in self.allowed)]
        return errors + [f"page error: {e}" for e in self.page_errors]


@pytest.fixture
def browser_log():
    return BrowserLog()


@pytest.fixture
def open_page(browser, live_server, browser_log):
    """open_page(**context_options): a new watched page on the live server."""
    contexts = []

    def open_(**options):
        options = {"base_url": live_server, "viewport": {"width": 1280, "height": 900}} | options
        context = browser.new_context(**options)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("console", browser_log.on_console)
        page.on("pageerror", lambda error: browser_log.page_errors.append(str(error)))
        page.on("dialog", browser_log.on_dialog)
        return page

    yield open_
    for context in contexts:
        context.close()
    errors = browser_log.unexpected()
    assert not errors, f"the browser reported errors: {errors}"


@pytest.fixture
def page(open_page):
    """A watched page; at teardown the test fails on any unexpected console error."""
    return open_page()


@pytest.fixture
def expect(browser):
    """Playwright's retrying assertions (a fixture, so a missing Playwright skips)."""
    from playwright.sync_api import expect

    return expect


def shown_ids(page):
    """The data-id of every card in the grid, in page order."""
    found = page.locator("#cards article.card").evaluate_all("cs => cs.map(c => c.dataset.id)")
    return [int(i) for i in found]


@pytest.fixture
def card_ids():
    """card_ids(page): the ids of the cards shown now."""
    return shown_ids


@pytest.fixture
def expect_cards():
    """expect_cards(page, ids): wait until the grid shows exactly these cards, in order.

    After a click, a select or history navigation the URL changes before htmx swaps
    the grid, and old and new results can have the same length: compare whole lists.
    """

    def check(page, ids):
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while (shown := shown_ids(page)) != ids and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        assert shown == ids

    return check


@pytest.fixture
def artifacts():
    """The folder screenshots go to, at the repository root."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def sign_in():
    """sign_in(page): sign in as the admin through the real form."""

    def sign_in_(page):
        page.goto("/admin/sign-in")
        page.locator("input[name=password]").fill(ADMIN_PASSWORD)
        page.locator("form:has(input[name=password]) [type=submit]").click()
        page.wait_for_url(ADMIN_URL)

    return sign_in_
