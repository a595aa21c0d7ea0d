"""htmx helpers: one URL serves the full page and the fragment htmx swaps in."""

from flask import make_response, render_template, request


def is_htmx():
    """True for an htmx request, but not for a history restore (that needs a full page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render(page_template, fragment_template, **context):
    """Render the fragment for htmx, else the page that includes it; caches told apart."""
    template = fragment_template if is_htmx() else page_template
    response = make_response(render_template(template, **context))
    response.vary.add("HX-Request")
    return response
