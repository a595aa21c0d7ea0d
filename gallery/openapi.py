"""The API described in OpenAPI 3.1; tests keep it in step with the registered routes."""

from .models import MAX_LIMIT, Prompt


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def json_body(schema, description):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR = json_body(ref("Error"), "An error: what was wrong, and in which field")
ERRORS = {status: ERROR for status in ("400", "401", "403", "404", "405", "413", "415")}
# OpenAPI 3.1 lets a bearer requirement list the roles it needs: here the token scope.
RECORD = [{"bearer": ["record"]}]
ADMIN = [{"bearer": ["admin"]}]
SCOPES_DESCRIPTION = (
    "A gallery API token (`create-token NAME --scope ...`). Scopes: `read` (the reads, "
    "when GALLERY_API_READ_REQUIRES_TOKEN or GALLERY_PRIVATE is set), `record` (record a "
    "use; the default), `admin` (delete and cleanup; includes `read` and `record`). A "
    "token without the scope an operation lists gets 403."
)


def query(name, schema, description, required=False):
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }


LIMIT = query(
    "limit",
    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 24},
    "How many prompts to return",
)


def sort_query(listing):
    """The sort parameter of a listing: the keys it offers in Prompt.SORTS."""
    offered = Prompt.sorts(listing)
    meanings = "; ".join(f"{sort.key}: {sort.meaning}" for sort in offered)
    return query(
        "sort",
        {"type": "string", "enum": [sort.key for sort in offered], "default": offered[0].key},
        f"The order ({meanings})",
    )


SORT = sort_query("list")
MODEL = query("model", {"type": "string"}, "Only prompts recorded with this model")
CURSOR = query(
    "cursor",
    {"type": "string"},
    "next_cursor from the previous page (opaque: an edited one is a 400). Best-match "
    "pages go on among the prompts there were when the first page was made",
)
PROMPT_ID = {
    "name": "prompt_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}


def operation(summary, responses, parameters=(), body=None, security=None):
    op = {"summary": summary, "parameters": list(parameters), "responses": {**responses, **ERRORS}}
    if body:
        op["requestBody"] = body
    if security is not None:
        op["security"] = security
    return op


SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "field": {"type": ["string", "null"]},
                },
            }
        },
    },
    "Thumbnail": {
        "type": "object",
        "required": ["url", "width", "height", "mime", "bytes"],
        "properties": {
            "url": {
                "type": "string",
                "format": "uri-reference",
                "description": "Relative to this server, or on GALLERY_BASE_URL when set",
            },
            "width": {"type": "integer"},
            "height": {"type": "integer"},
            "mime": {"type": "string"},
            "bytes": {"type": "integer"},
        },
    },
    "Prompt": {
        "type": "object",
        "required": [
            "id",
            "prompt_text",
            "prompt_hash",
            "total_uses",
            "first_used_at",
            "last_used_at",
            "model",
            "thumbnail",
        ],
        "properties": {
            "id": {"type": "integer"},
            "prompt_text": {"type": "string"},
            "prompt_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "total_uses": {"type": "integer", "minimum": 1},
            "first_used_at": {"type": "string", "format": "date-time"},
            "last_used_at": {"type": "string", "format": "date-time"},
            "model": {"type": ["string", "null"]},
            "thumbnail": {"oneOf": [{"type": "null"}, ref("Thumbnail")]},
        },
    },
    "Recorded": {
        "allOf": [
            ref("Prompt"),
            {
                "type": "object",
                "required": ["created", "thumbnail_updated", "thumbnail_error"],
                "properties": {
                    "created": {"type": "boolean"},
                    "thumbnail_updated": {"type": "boolean"},
                    "thumbnail_error": {"type": ["string", "null"]},
                },
            },
        ]
    },
    "PromptPage": {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": ref("Prompt")},
            "next_cursor": {"type": ["string", "null"]},
        },
    },
    "PromptList": {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": ref("Prompt")}},
    },
    "ModelCount": {
        "type": "object",
        "description": "Counts by latest model: each prompt, with all its uses, counts under "
        "the model it was last recorded with (100 uses with sdxl and then one with flux "
        "count as 101 for flux)",
        "required": ["model", "prompts", "uses"],
        "properties": {
            "model": {"type": ["string", "null"]},
            "prompts": {
                "type": "integer",
                "description": "Prompts whose latest model this is",
            },
            "uses": {
                "type": "integer",
                "description": "Every use of those prompts, whichever model made it: "
                "counted by latest model",
            },
        },
    },
    "Stats": {
        "type": "object",
        "required": [
            "total_prompts",
            "total_uses",
            "with_thumbnail",
            "without_thumbnail",
            "thumbnail_bytes",
            "database_bytes",
            "first_activity",
            "last_activity",
            "models",
        ],
        "properties": {
            "total_prompts": {"type": "integer"},
            "total_uses": {"type": "integer"},
            "with_thumbnail": {"type": "integer"},
            "without_thumbnail": {"type": "integer"},
            "thumbnail_bytes": {"type": "integer"},
            "database_bytes": {"type": "integer"},
            "first_activity": {"type": ["string", "null"], "format": "date-time"},
            "last_activity": {"type": ["string", "null"], "format": "date-time"},
            "models": {"type": "array", "items": ref("ModelCount")},
        },
    },
    "NewUse": {
        "type": "object",
        "properties": {
            "prompt_text": {
                "type": ["string", "null"],
                "description": "The prompt, up to 10,000 characters. Leave it out to read it "
                "from the image's generation metadata (400 when the image has none).",
            },
            "model": {"type": ["string", "null"], "maxLength": 200},
            "used_at": {
                "type": "string",
                "format": "date-time",
                "description": "When it was used (default: now); naive times are UTC",
            },
            "image": {
                "type": "string",
                "contentEncoding": "base64",
                "description": "The generated image, base64 (a data: URL is fine)",
            },
        },
    },
    "CleanupOptions": {
        "type": "object",
        "properties": {
            "without_thumbnail": {"type": "boolean", "default": False},
            "unused_for_days": {"type": ["integer", "null"], "minimum": 1, "maximum": 36_500},
            "dry_run": {"type": "boolean", "default": False},
            "cutoff": {
                "type": ["string", "null"],
                "format": "date-time",
                "description": "A dry run's cutoff: with unused_for_days, 'unused' means last "
                "used before this time, so prompts that aged since the dry run stay",
            },
            "highest_id": {
                "type": ["integer", "null"],
                "minimum": 1,
                "description": "A dry run's highest_id: prompts recorded since it stay",
            },
        },
    },
    "CleanupReport": {
        "type": "object",
        "required": ["count", "dry_run", "examples", "cutoff", "highest_id", "restorable_until"],
        "properties": {
            "count": {"type": "integer", "description": "Prompts removed (or that would be)"},
            "dry_run": {"type": "boolean"},
            "cutoff": {"type": ["string", "null"], "format": "date-time"},
            "highest_id": {"type": ["integer", "null"]},
            "restorable_until": {
                "type": ["string", "null"],
                "format": "date-time",
                "description": "Until when the admin page can undo this cleanup as a whole",
            },
            "examples": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "prompt_text"],
                    "properties": {"id": {"type": "integer"}, "prompt_text": {"type": "string"}},
                },
            },
        },
    },
}

RECORD_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": ref("NewUse")},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "prompt_text": {"type": "string"},
                    "model": {"type": "string"},
                    "used_at": {"type": "string", "format": "date-time"},
                    "image": {"type": "string", "format": "binary"},
                },
            }
        },
    },
}

PATHS = {
    "/api/prompts/": {
        "get": operation(
            "List prompts, a page at a time",
            {"200": json_body(ref("PromptPage"), "A page of prompts")},
            [LIMIT, SORT, MODEL, CURSOR],
        ),
        "post": operation(
            "Record one use of a prompt, with an optional image for its thumbnail",
            {
                "201": json_body(ref("Recorded"), "A new prompt"),
                "200": json_body(ref("Recorded"), "Another use of a known prompt"),
            },
            body=RECORD_BODY,
            security=RECORD,
        ),
    },
    "/api/prompts/search": {
        "get": operation(
            "Full-text search, best match first; the last word matches as a prefix",
            {"200": json_body(ref("PromptPage"), "A page of matches")},
            [
                query("q", {"type": "string", "minLength": 1}, "The words to look for", True),
                MODEL,
                sort_query("search"),
                LIMIT,
                CURSOR,
            ],
        )
    },
    "/api/prompts/popular": {
        "get": operation(
            "The most used prompts",
            {"200": json_body(ref("PromptList"), "Prompts")},
            [LIMIT, MODEL],
        )
    },
    "/api/prompts/recent": {
        "get": operation(
            "The most recently used prompts",
            {"200": json_body(ref("PromptList"), "Prompts")},
            [LIMIT, MODEL],
        )
    },
    "/api/prompts/{prompt_id}": {
        "get": operation(
            "One prompt", {"200": json_body(ref("Prompt"), "The prompt")}, [PROMPT_ID]
        ),
        "delete": operation(
            "Delete a prompt and its thumbnail",
            {
                "200": json_body(
                    {
                        "type": "object",
                        "required": ["deleted"],
                        "properties": {"deleted": {"type": "integer"}},
                    },
                    "Deleted",
                )
            },
            [PROMPT_ID],
            security=ADMIN,
        ),
    },
    "/api/prompts/{prompt_id}/thumbnail": {
        "get": operation(
            "The thumbnail image; cache it for good when fetched with its ?v= version",
            {
                "200": {
                    "description": "The image",
                    "content": {"image/webp": {"schema": {"type": "string", "format": "binary"}}},
                },
                "304": {"description": "Not modified (If-None-Match matched the ETag)"},
            },
            [
                PROMPT_ID,
                query("v", {"type": "string"}, "The thumbnail's version: the SHA-256 of its bytes"),
            ],
        )
    },
    "/api/prompts/stats/overview": {
        "get": operation("Store statistics", {"200": json_body(ref("Stats"), "Statistics")})
    },
    "/api/prompts/cleanup": {
        "post": operation(
            "Remove prompts without a thumbnail and/or unused for N days",
            {"200": json_body(ref("CleanupReport"), "What was (or would be) removed")},
            body={
                "required": True,
                "content": {"application/json": {"schema": ref("CleanupOptions")}},
            },
            security=ADMIN,
        )
    },
    "/api/models": {
        "get": operation(
            "The models with their prompt and use counts, by latest model",
            {
                "200": json_body(
                    {
                        "type": "object",
                        "required": ["items"],
                        "properties": {"items": {"type": "array", "items": ref("ModelCount")}},
                    },
                    "Models",
                )
            },
        )
    },
    "/api/openapi.json": {
        "get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}
    },
}


def openapi_document():
    """The whole document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Prompt Gallery API",
            "version": "1",
            "description": "Record prompts with their images, and read them back. Reading is "
            "open unless configured otherwise; writing needs 'Authorization: Bearer <token>' "
            "with the scope the operation lists (make one with "
            "`flask --app gallery gallery create-token NAME --scope record`).",
        },
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": SCOPES_DESCRIPTION,
                }
            },
        },
    }
