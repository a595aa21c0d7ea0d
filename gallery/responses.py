"""Answers the pages and the API give alike."""

from flask import current_app, request

from .models import Prompt

# A versioned thumbnail URL names one image for good: a new image gets a new version.
CACHED_FOR_GOOD = f"public, max-age={365 * 86400}, immutable"


def thumbnail_response(prompt_id):
    """The thumbnail with a strong ETag (its stored digest, no hashing) and 304 on a match."""
    thumb = Prompt.thumbnail(prompt_id)
    # Headers as plain strings: the cache_control helpers re-parse the header on every
    # change, which cost more than reading the thumbnail.
    versioned = request.args.get("v") == thumb.version
    headers = {
        "ETag": f'"{thumb.version}"',
        "Cache-Control": CACHED_FOR_GOOD if versioned else "no-cache",
    }
    asked = "HTTP_IF_NONE_MATCH" in request.environ  # parsing an absent header costs too
    if asked and request.if_none_match.contains(thumb.version):
        return current_app.response_class(status=304, headers=headers)
    return current_app.response_class(thumb.data, mimetype=thumb.mime, headers=headers)
