"""Headers every answer carries, and the request checks that come before any view."""

from flask import current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

from .errors import InvalidInput, TooLarge

# No inline script, style or handler anywhere, so the policy can be strict; htmx is
# configured (meta htmx-config) not to inject its indicator styles or eval anything.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class SecurityHeaders:
    """WSGI middleware: the security headers on every answer (pages, API, thumbnails,
    errors, even a crash), unless the answer set one itself.

    Added to the header list as the response starts: through Werkzeug's Headers they
    cost a tenth of a thumbnail request.
    """

    ADDED = list(HEADERS.items())
    NAMES = {name.lower() for name in HEADERS}

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        def start_with_headers(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers} & self.NAMES
            missing = [h for h in self.ADDED if h[0].lower() not in present]
            return start_response(status, [*headers, *missing], exc_info)

        return self.app(environ, start_with_headers)


def check_request():
    """The checks every request passes before its view (one hook: each costs a call)."""
    refuse_oversized_bodies()
    refuse_nul_bytes()


def refuse_nul_bytes():
    """NUL in a query string is never meaningful; PostgreSQL cannot even store it."""
    for name, value in request.args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            raise InvalidInput("the query string must not contain NUL characters", name)


def refuse_oversized_bodies():
    """413 from the Content-Length header alone, before a byte of the body is read."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and request.content_length and request.content_length > limit:
        raise TooLarge(
            f"the request body is {request.content_length:,} bytes; the limit is {limit:,}"
        )


def init_app(app):
    """Install the header middleware, the request checks and, behind proxies, ProxyFix."""
    app.wsgi_app = SecurityHeaders(app.wsgi_app)
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:
        # The client's address (for sign-in throttling) and scheme as the proxy saw them.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.before_request(check_request)
