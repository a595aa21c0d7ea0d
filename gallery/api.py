"""Blueprint "api": JSON in and out under /api, bearer tokens for writes, JSON errors."""

import base64
import binascii

from flask import Blueprint, current_app, request, url_for

from . import store
from .errors import InvalidInput, TooLarge, UnsupportedMediaType
from .metadata import read_generation
from .models import DEFAULT_LIMIT, Prompt, Stats, check_limit
from .openapi import openapi_document
from .responses import thumbnail_response
from .search import search_prompts
from .tokens import presented_token
from .validation import file_time

bp = Blueprint("api", __name__, url_prefix="/api")
OPEN_ENDPOINTS = {"api.openapi"}
# The token scope each endpoint needs; any other read needs "read" (when reads need a token).
REQUIRED_SCOPES = {
    "api.record": "record",
    "api.delete_prompt": "admin",
    "api.cleanup": "admin",
}


@bp.before_request
def authenticate():
    """Writes always need a token with the right scope; reads only when configured to."""
    if request.endpoint in OPEN_ENDPOINTS:
        return
    reading = request.method in ("GET", "HEAD")
    scope = REQUIRED_SCOPES.get(request.endpoint, "read" if reading else "record")
    if scope == "read" and not current_app.config["API_READ_REQUIRES_TOKEN"]:
        return
    presented_token(scope)


def public_url(endpoint, **values):
    """A URL for an answer: on GALLERY_BASE_URL when set, else relative. Never built from
    the request's Host header, which the client chooses."""
    path = url_for(endpoint, **values)
    base = current_app.config["BASE_URL"]
    return base + path if base else path


def prompt_json(prompt):
    """A prompt as the API shows it."""
    thumbnail = None
    if prompt.has_thumbnail:
        thumbnail = {
            "url": public_url("api.thumbnail", prompt_id=prompt.id, v=prompt.thumbnail_version),
            "width": prompt.thumbnail_width,
            "height": prompt.thumbnail_height,
            "mime": prompt.thumbnail_mime,
            "bytes": prompt.thumbnail_bytes,
        }
    return {
        "id": prompt.id,
        "prompt_text": prompt.prompt_text,
        "prompt_hash": prompt.prompt_hash,
        "total_uses": prompt.total_uses,
        "first_used_at": prompt.first_used_at.isoformat(),
        "last_used_at": prompt.last_used_at.isoformat(),
        "model": prompt.model,
        "thumbnail": thumbnail,
    }


def page_json(page):
    """A Page as {items, next_cursor}."""
    return {"items": [prompt_json(p) for p in page.items], "next_cursor": page.next_cursor}


def limit_arg():
    """The limit parameter, 1..100."""
    return check_limit(request.args.get("limit", DEFAULT_LIMIT))


@bp.get("/prompts/")
def list_prompts():
    """A page of prompts in a sort order, optionally for one model."""
    page = Prompt.page(
        request.args.get("sort"),
        request.args.get("model"),
        request.args.get("cursor"),
        limit_arg(),
    )
    return page_json(page)


@bp.get("/prompts/search")
def search():
    """Ranked full-text search."""
    q = request.args.get("q", "")
    if not q.strip():
        raise InvalidInput("q is required: the words to search for", "q")
    page = search_prompts(
        q,
        request.args.get("model"),
        request.args.get("sort"),
        limit_arg(),
        request.args.get("cursor"),
    )
    return page_json(page)


@bp.get("/prompts/popular")
def popular():
    """The most used prompts."""
    return {
        "items": [
            prompt_json(p) for p in Prompt.top("popular", limit_arg(), request.args.get("model"))
        ]
    }


@bp.get("/prompts/recent")
def recent():
    """The most recently used prompts."""
    return {
        "items": [
            prompt_json(p) for p in Prompt.top("recent", limit_arg(), request.args.get("model"))
        ]
    }


@bp.get("/prompts/<int:prompt_id>")
def get_prompt(prompt_id):
    """One prompt."""
    return prompt_json(Prompt.card(prompt_id))


@bp.get("/prompts/<int:prompt_id>/thumbnail")
def thumbnail(prompt_id):
    """The thumbnail bytes (ETag, 304, immutable when versioned), as on the pages."""
    return thumbnail_response(prompt_id)


@bp.delete("/prompts/<int:prompt_id>")
def delete_prompt(prompt_id):
    """Delete a prompt and its thumbnail."""
    store.delete_prompt(prompt_id)
    return {"deleted": prompt_id}


@bp.post("/prompts/")
def record():
    """Record a use from JSON or multipart: 201 for a new prompt, 200 for another use."""
    fields, image = read_submission()
    if fields.get("prompt_text") is None:
        fields = from_image_metadata(fields, image)
    recorded = store.record_use(
        fields["prompt_text"],
        model=fields.get("model"),
        image_data=image,
        used_at=fields.get("used_at"),
    )
    body = {
        **prompt_json(recorded.prompt),
        "created": recorded.created,
        "thumbnail_updated": recorded.thumbnail_updated,
        "thumbnail_error": recorded.thumbnail_error,
    }
    return body, 201 if recorded.created else 200


def from_image_metadata(fields, image):
    """Fill prompt_text (and model, used_at where not given) from the image's own metadata."""
    if image is None:
        raise InvalidInput(
            "prompt_text is required (or an image whose metadata holds the prompt)", "prompt_text"
        )
    generation = read_generation(image, sidecar=False)
    if not generation.prompt:
        raise InvalidInput(
            "the image carries no prompt in its metadata: send prompt_text with it", "prompt_text"
        )
    return {
        **fields,
        "prompt_text": generation.prompt,
        "model": fields.get("model") or generation.model,
        "used_at": fields.get("used_at") or file_time(generation.generated_at),
    }


def read_submission():
    """(fields, image bytes or None) from a JSON or multipart/form-data body."""
    if request.mimetype == "application/json":
        fields = json_object()
        return fields, decode_image(fields.get("image"))
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("image")
        image = upload.read() if upload else b""
        check_image_size(len(image))
        return request.form.to_dict(), image or None
    raise UnsupportedMediaType("send application/json or multipart/form-data")


def json_object():
    """The JSON body as a dict, or InvalidInput (not valid JSON, not an object, too deep)."""
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # the parser recurses once per level of nesting
        raise InvalidInput("the JSON body is nested too deeply") from None
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    return body


def decode_image(value):
    """Bytes from a base64 string (a data: URL prefix is fine), or None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput("image must be a base64 string", "image")
    if value.startswith("data:"):
        value = value.partition(",")[2]
    check_image_size(len(value) * 3 // 4)  # before decoding it
    try:
        image = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("image is not valid base64", "image") from None
    return image or None


def check_image_size(size):
    """TooLarge when an image of `size` bytes is over MAX_IMAGE_BYTES."""
    limit = current_app.config["MAX_IMAGE_BYTES"]
    if size > limit:
        raise TooLarge(f"the image is {size:,} bytes; the limit is {limit:,}", "image")


@bp.get("/prompts/stats/overview")
def stats():
    """Everything get_stats() knows."""
    s = Stats.current()
    return {
        "total_prompts": s.total_prompts,
        "total_uses": s.total_uses,
        "with_thumbnail": s.with_thumbnail,
        "without_thumbnail": s.without_thumbnail,
        "thumbnail_bytes": s.thumbnail_bytes,
        "database_bytes": s.database_bytes,
        "first_activity": s.first_activity and s.first_activity.isoformat(),
        "last_activity": s.last_activity and s.last_activity.isoformat(),
        "models": [{"model": m, "prompts": p, "uses": u} for m, p, u in s.models],
    }


@bp.post("/prompts/cleanup")
def cleanup():
    """Remove prompts without a thumbnail and/or unused for N days, restorably; dry_run counts.

    A dry run's cutoff and highest_id, sent back, remove exactly the prompts it counted.
    """
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("send the cleanup options as application/json")
    options = json_object()
    for name in ("without_thumbnail", "dry_run"):
        if not isinstance(options.get(name, False), bool):
            raise InvalidInput(f"{name} must be true or false", name)
    days = options.get("unused_for_days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)):
        raise InvalidInput("unused_for_days must be a whole number", "unused_for_days")
    cutoff, highest_id = options.get("cutoff"), options.get("highest_id")
    if cutoff is not None and not isinstance(cutoff, str):
        raise InvalidInput("cutoff must be an ISO 8601 time, as a dry run gave it", "cutoff")
    if highest_id is not None and (isinstance(highest_id, bool) or not isinstance(highest_id, int)):
        raise InvalidInput("highest_id must be a whole number, as a dry run gave it", "highest_id")
    report = store.cleanup(
        options.get("without_thumbnail", False),
        days,
        options.get("dry_run", False),
        cutoff=cutoff,
        highest_id=highest_id,
    )
    return {
        "count": report.count,
        "dry_run": report.dry_run,
        "examples": [{"id": i, "prompt_text": t} for i, t in report.examples],
        "cutoff": report.cutoff and report.cutoff.isoformat(),
        "highest_id": report.highest_id,
        "restorable_until": report.restorable_until and report.restorable_until.isoformat(),
    }


@bp.get("/models")
def models():
    """The models with their prompt and use counts, each prompt under its latest model."""
    return {"items": [{"model": m, "prompts": p, "uses": u} for m, p, u in Prompt.models()]}


@bp.get("/openapi.json")
def openapi():
    """This API described in OpenAPI 3.1."""
    return openapi_document()
