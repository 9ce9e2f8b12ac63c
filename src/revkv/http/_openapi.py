"""The OpenAPI 3.1 document of the HTTP API (`GET /openapi.json`), built by hand.

By hand because `/kv` routes on the raw path itself (a key may hold `/`), so no route
table could generate it, and because Rainer's requests answer errors in Rainer's plain
text while revkv's own verbs answer JSON: each operation is written beside its
responses. `tests/unit/test_http_openapi.py` checks that every route of the app and
every line of kv.py's route table is described here and that the document validates;
`tests/integration/test_schemathesis.py` checks that the app answers as described.

Response objects allow properties they do not list (clients ignore what they do not
know); request bodies do not (the server refuses what it does not know).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

import revkv
from revkv._model import MAX_AUTHOR_LENGTH, MAX_KEY_LENGTH

Schema = dict[str, Any]

# -- small helpers ---------------------------------------------------------------------


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    return {
        "type": "object",
        "required": list(required),
        "properties": {**required, **(optional or {})},
    }


def closed(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    return {**obj(required, optional), "additionalProperties": False}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def param(where: str, name: str, schema: Schema, doc: str, required: bool = False) -> Schema:
    required = required or where == "path"
    return {"name": name, "in": where, "required": required, "schema": schema, "description": doc}


MEDIA = {
    "json": "application/json",
    "text": "text/plain",
    "binary": "application/octet-stream",
    "sse": "text/event-stream",
    "openmetrics": "application/openmetrics-text",
}


def respond(doc: str, headers: tuple[str, ...] = (), **media: Schema) -> Schema:
    """A response: `respond("Meta.", ("ETag",), json=ref("Meta"))`; headers from HEADERS."""
    response: Schema = {"description": doc}
    if media:
        response["content"] = {MEDIA[short]: {"schema": s} for short, s in media.items()}
    if headers:
        response["headers"] = {name: HEADERS[name] for name in headers}
    return response


# -- the words -------------------------------------------------------------------------

TEXT: Schema = {"type": "string"}
INT: Schema = {"type": "integer", "minimum": 0}
POSITIVE: Schema = {"type": "integer", "minimum": 1}
SECONDS: Schema = {"type": "number", "exclusiveMinimum": 0}
TIME: Schema = {"type": "string", "format": "date-time"}
#: revkv's times (`exact_time`): UTC, milliseconds and every further digit the time has
EXACT_TIME: Schema = {
    "type": "string",
    "format": "date-time",
    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{3,}Z$",
}
NAME: Schema = {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_.-]{0,63}$"}
KEY: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_KEY_LENGTH,
    "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]+$",
}
AUTHOR: Schema = {"type": "string", "maxLength": MAX_AUTHOR_LENGTH}
YES_NO: Schema = {"type": "string", "enum": ["yes", "no", "true", "false", "1", "0"]}
ETAG: Schema = {"type": "string", "pattern": '^"[0-9]+"$'}
PAYLOAD: Schema = {"type": "string", "format": "binary"}

HEADERS: dict[str, Schema] = {
    name: {"schema": schema, "required": True}
    for name, schema in {
        "ETag": ETAG,
        "WWW-Authenticate": {"type": "string", "pattern": "^Bearer"},
        "X-Rainer-Key": TEXT,
        "X-Rainer-Version": {"type": "string", "pattern": "^[0-9]+$"},
        "X-Rainer-Author": TEXT,
        "X-Rainer-Comment": TEXT,
        "X-Rainer-Modified-Time": TEXT,
        "X-Rainer-Empty": {"type": "string", "enum": ["Yes", "No"]},
        "X-Revkv-Index": {"type": "string", "pattern": "^[0-9]+$"},
    }.items()
}
RAINER_HEADERS = tuple(name for name in HEADERS if name.startswith("X-Rainer"))

NS = param("path", "ns", NAME, "A namespace.")
KEY_ = param("path", "key", KEY, "A key, percent-encoded (a `/` in it as `%2F`).")
VERSION = param("path", "version", POSITIVE, "A version of the key.")
IF_NONE_MATCH = param("header", "If-None-Match", TEXT, "ETags the client holds: 304 if current.")
ABSENT = param(
    "header",
    "X-Revkv-Absent",
    {"type": "string", "enum": ["404"]},
    "404: a deleted or expired key is absent (404), not Rainer's empty 200.",
)
CAS = [
    param(
        "query",
        "expect",
        {"type": "string", "pattern": "^([0-9]{1,18}|absent|exists)$"},
        "Compare-and-set: the version you read (0 or `absent`: create only; `exists`).",
    ),
    param(
        "header",
        "If-Match",
        {"type": "string", "pattern": '^(\\*|(W/)?"?[0-9]{1,18}"?)$'},
        'Compare-and-set: the ETag of the version you read ("3"), or * for "exists"; '
        "412 when it no longer holds.",
    ),
    param("header", "X-Revkv-Author", AUTHOR, "The author (default: the token's name)."),
    param("header", "X-Revkv-Comment", TEXT, "A comment."),
]
TTL_DOC = "Seconds until the value expires, or `never` (default: the namespace's)."
TTL: Schema = {"type": "string", "pattern": "^(never|[0-9]+(\\.[0-9]+)?([eE]\\+?[0-9]+)?)$"}
LISTING = [
    param("query", "all", YES_NO, "Rainer: include empty (deleted) keys."),
    param("query", "payload_utf8", YES_NO, "Rainer: include payloads as text."),
    param("query", "payload_base64", YES_NO, "Rainer: include payloads in base64."),
    param("query", "prefix", TEXT, "Only keys that start with this."),
    param("query", "limit", POSITIVE, "Paged form: page size."),
    param("query", "start_after", TEXT, "Paged form: the `next` of the previous page."),
    param("query", "$filter", TEXT, "Query form: e.g. `startswith(Key,'a') and Version gt 2`."),
    param("query", "$orderby", TEXT, "Query form: e.g. `Mtime desc`."),
    param("query", "$top", INT, "Query form: at most this many."),
    param("query", "$skip", INT, "Query form: skip this many."),
]
WATCHING = [
    param("query", "prefix", TEXT, "Only keys that start with this."),
    param("query", "since", INT, "Resume after this rev (default: from now)."),
    param(
        "query",
        "wait",
        {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?(ms|s|m)?$"},
        "Long poll: wait up to this long (e.g. 30s; at most 5m).",
    ),
    param("query", "resync", YES_NO, "Past the retained history: a reset event instead of 410."),
    param("query", "payloads", YES_NO, "Include payloads (base64) in events."),
    param("header", "Last-Event-ID", {"type": "string", "pattern": "^[0-9]*$"}, "SSE resume."),
]
MIN_REV = [
    param(
        "header",
        "X-Revkv-Min-Rev",
        {"type": "string", "pattern": "^ *[0-9]{1,18} *$"},
        "Read your writes across servers: the rev this read must see (the rev a write "
        "answered, maybe through another server on the same database). A server behind it "
        "waits up to its min_rev_wait (default 2 s), then answers 503 RevNotReached.",
    ),
    param("query", "min_rev", INT, "The same as X-Revkv-Min-Rev (the larger of both counts)."),
]
RAINER_WRITE = [
    param("header", "X-Rainer-Author", AUTHOR, "The author.", required=True),
    param("header", "X-Rainer-Comment", TEXT, "A comment."),
    param("header", "X-Rainer-Empty", YES_NO, "yes: commit an empty (deleted) version."),
    param("header", "X-Rainer-Key", TEXT, "If given, the key again."),
    param("header", "X-Rainer-Version", TEXT, "If given, the version again."),
    param("header", "X-Rainer-Modified-Time", TIME, "Checked, then ignored (the server stamps)."),
    param("header", "X-Revkv-TTL", TTL, TTL_DOC),
]

# -- responses -------------------------------------------------------------------------

ERRORS = {
    400: "The request is malformed; the message says how.",
    401: "No valid token: send `Authorization: Bearer <token>`.",
    403: "The token may not read (or write) this namespace.",
    404: "No such namespace, key or version.",
    409: "A compare-and-set found another version.",
    410: "Gone: the rev asked for is older than the retained history, or the version's "
    "payload was purged.",
    412: "An If-Match or If-None-Match precondition does not hold.",
    413: "The body is over the namespace's size limit.",
    503: "Unavailable, with Retry-After: too many open watches (Busy), or the read's min "
    "rev not reached in time (RevNotReached); retry later.",
}


def error(status: int, rainer: bool) -> Schema:
    """revkv's JSON error; on Rainer's requests also Rainer's text (and conflict object)."""
    headers = ("WWW-Authenticate",) if status == 401 else ()
    if not rainer:
        return respond(ERRORS[status], headers, json=ref("Error"))
    json_body = {"anyOf": [ref("Error"), ref("RainerConflict")]} if status == 409 else ref("Error")
    return respond(ERRORS[status], headers, json=json_body, text=TEXT)


def op(
    summary: str,
    ok: dict[str, Schema],
    params: list[Schema] | None = None,
    fails: tuple[int, ...] = (),
    *,
    body: Schema | None = None,
    rainer: bool = False,
    public: bool = False,
) -> Schema:
    """One operation. Unless public, it needs a token: 401 and 403 come with every one."""
    statuses = sorted(set(fails if public else (401, 403, *fails)))
    operation: Schema = {
        "summary": summary,
        "parameters": params or [],
        "responses": {**ok, **{str(s): error(s, rainer) for s in statuses}},
    }
    if body is not None:
        operation["requestBody"] = body
    if public:
        operation["security"] = []
    return operation


def json_body(schema: Schema, required: bool = True) -> Schema:
    return {"required": required, "content": {MEDIA["json"]: {"schema": schema}}}


PAYLOAD_BODY = {
    "required": False,
    "content": {MEDIA["binary"]: {"schema": PAYLOAD}, MEDIA["text"]: {"schema": TEXT}},
}
NOT_MODIFIED = respond("Not modified: If-None-Match names the current ETag.", ("ETag",))
PAYLOAD_OK = {
    "200": respond(
        "The payload verbatim: text/plain if it is UTF-8, else application/octet-stream.",
        ("ETag", *RAINER_HEADERS),
        text=TEXT,
        binary=PAYLOAD,
    ),
    "304": NOT_MODIFIED,
}
RAINER_META_OK = {
    "200": respond("The meta.", ("ETag",), json=ref("RainerMeta")),
    "304": NOT_MODIFIED,
}
META_OK = {"200": respond("The commit.", ("ETag",), json=ref("Meta"))}
NAMESPACES = {"200": respond("The namespaces the token may read.", json=array(ref("Namespace")))}


# -- the paths -------------------------------------------------------------------------


def paths() -> dict[str, Schema]:
    namespace = {"200": respond("The namespace.", json=ref("Namespace"))}
    return {
        "/": {
            "get": op(
                "What this server is and where its doors are; a browser (Accept: text/html) "
                "is redirected (303) to the web page at /ui/.",
                {
                    "200": respond("This server.", json=ref("Root")),
                    "303": {
                        "description": "To the web page, for a browser.",
                        "headers": {"Location": {"schema": {"const": "/ui/"}}},
                    },
                },
                public=True,
            )
        },
        "/health": {
            "get": op(
                "Liveness and the current rev; 503 when the store cannot take writes.",
                {
                    "200": respond("Up.", json=ref("Health")),
                    "503": respond("Failing: a full disk, a failed journal.", json=ref("Failing")),
                },
                public=True,
            )
        },
        "/metrics": {
            "get": op(
                "Prometheus metrics (any valid token).",
                {"200": respond("Metrics.", text=TEXT, openmetrics=TEXT)},
            )
        },
        "/stats": {
            "get": op(
                "Sizes (keys, versions, payload bytes, memory per namespace; files on disk) "
                "and fsync latency, as `revkv stats --json` (any valid token).",
                {"200": respond("The stats.", json={"type": "object"})},
            )
        },
        "/backup": {
            "get": op(
                "A consistent copy of the store as a tar archive: a snapshot taken now, the "
                "journal after it up to the rev in X-Revkv-Rev, and SYSTEM (a token that may "
                "read every namespace; 400 for a store in memory or in PostgreSQL).",
                {
                    "200": {
                        "description": "The archive.",
                        "headers": {
                            "X-Revkv-Rev": {
                                "description": "The rev the copy opens at.",
                                "schema": {"type": "integer"},
                            }
                        },
                        "content": {"application/x-tar": {"schema": {}}},
                    }
                },
                [],
                (400,),
            )
        },
        "/openapi.json": {
            "get": op(
                "This document.",
                {"200": respond("OpenAPI 3.1.", json={"type": "object"})},
                public=True,
            )
        },
        "/ns": {"get": op("List namespaces.", NAMESPACES)},
        "/ns/{ns}": {
            "get": op("A namespace's settings.", namespace, [NS], (400, 404)),
            "put": op(
                "Create a namespace, or change the settings given.",
                namespace,
                [NS],
                (400, 413),
                body=json_body(ref("NamespaceSettings"), required=False),
            ),
        },
        "/compact": {
            "post": op(
                "Compact the store now (an admin token: read-write on every namespace).",
                {"200": respond("What was written and removed.", json=ref("Compaction"))},
            )
        },
        "/txn": {
            "post": op(
                "Writes, all or none, if the checks hold.",
                {"200": respond("Committed.", json=ref("TxnResult"))},
                [],
                (400, 404, 409, 413),
                body=json_body(ref("Txn")),
            )
        },
        "/changes": {
            "get": op(
                "Durable changes after a rev.",
                {"200": respond("The changes.", json=ref("Changes"))},
                [
                    param("query", "since", INT, "After this rev (default 0)."),
                    param("query", "namespace", NAME, "Only this namespace."),
                    param("query", "prefix", TEXT, "Only keys that start with this."),
                    param("query", "limit", POSITIVE, "At most this many (default 1000)."),
                    param("query", "payloads", TEXT, "1, true or yes: include payloads."),
                ],
                (400, 410),
            )
        },
        "/watch": {"get": watch("Watch every namespace (a token for all).", [])},
        "/watch/{ns}": {"get": watch("Watch one namespace.", [NS])},
        **kv_paths(),
    }


def watch(summary: str, params: list[Schema]) -> Schema:
    ok = respond(
        "Server-Sent Events without `wait`; the long poll's JSON with it.",
        sse=ref("StreamEvent"),
        json=ref("LongPoll"),
    )
    return op(summary, {"200": ok}, params + WATCHING, (400, 410, 503))


def kv_paths() -> dict[str, Schema]:
    key = [NS, KEY_]
    version = [*key, VERSION]
    listing = {"anyOf": [ref("Listing"), ref("Page"), ref("QueryPage")]}
    put_params = [
        *key,
        *CAS,
        IF_NONE_MATCH,
        param("header", "X-Revkv-TTL", TTL, TTL_DOC),
        param("query", "ttl", TTL, TTL_DOC),
    ]
    revert_params = [*key, param("query", "to", POSITIVE, "The version to revert to.", True), *CAS]
    history_params = [
        *key,
        param("query", "limit", POSITIVE, "Page size (default 100)."),
        param("query", "before", POSITIVE, "The previous page's `next`."),
    ]
    diff_params = [
        *key,
        param("query", "from", POSITIVE, "Default: to - 1."),
        param("query", "to", POSITIVE, "Default: the newest."),
    ]
    rainer_post = {"200": respond("The commit's meta.", json=ref("RainerMeta"))}
    return {
        "/kv": {"get": op("List namespaces.", NAMESPACES)},
        "/kv/{ns}": {
            "get": op(
                "Rainer's listing {key: meta}; a page with limit, start_after or $-options.",
                {"200": respond("The newest version of each key.", json=listing)},
                [NS, *LISTING],
                (400, 404),
                rainer=True,
            )
        },
        "/kv/{ns}/{key}": {
            "get": op(
                "The newest payload.",
                PAYLOAD_OK,
                [*key, IF_NONE_MATCH, ABSENT],
                (400, 404, 410),
                rainer=True,
            ),
            "head": op(
                "The newest payload's headers.",
                {"200": respond("No body.", ("ETag",)), "304": NOT_MODIFIED},
                [*key, IF_NONE_MATCH, ABSENT],
                (400, 404, 410),
                rainer=True,
            ),
            "put": op(
                "Commit the next version; 201 for the first.",
                {**META_OK, "201": META_OK["200"]},
                put_params,
                (400, 404, 409, 412, 413),
                body=PAYLOAD_BODY,
            ),
            "delete": op(
                "Commit a tombstone (history stays).", META_OK, [*key, *CAS], (400, 404, 409, 412)
            ),
        },
        "/kv/{ns}/{key}/meta": {
            "get": op(
                "The newest meta.",
                RAINER_META_OK,
                [*key, IF_NONE_MATCH, ABSENT],
                (400, 404),
                rainer=True,
            )
        },
        "/kv/{ns}/{key}/history": {
            "get": op(
                "Versions, newest first, a page at a time.",
                {"200": respond("A page.", json=ref("History"))},
                history_params,
                (400, 404),
            ),
            "delete": op(
                "Purge old versions' payloads for good, keeping their metas (admin token).",
                {"200": respond("How many were purged; the history now.", json=ref("Purged"))},
                [
                    *key,
                    param("query", "before", POSITIVE, "Purge the versions below this one."),
                    param("query", "all", TEXT, "true: every version, the newest too."),
                ],
                (400, 404),
            ),
        },
        "/kv/{ns}/{key}/revert": {
            "post": op(
                "Commit version `to`'s payload again.",
                META_OK,
                revert_params,
                (400, 404, 409, 410, 412),
            )
        },
        "/kv/{ns}/{key}/diff": {
            "get": op(
                "A unified diff of two versions (UTF-8 only).",
                {"200": respond("The diff.", text=TEXT)},
                diff_params,
                (400, 404, 410),
            )
        },
        "/kv/{ns}/{key}/{version}": {
            "get": op(
                "That version's payload.",
                PAYLOAD_OK,
                [*version, IF_NONE_MATCH],
                (400, 404, 410),
                rainer=True,
            ),
            "post": op(
                "Rainer's commit: exactly this version; 409 unless it is the next.",
                rainer_post,
                [*version, *RAINER_WRITE],
                (400, 404, 409, 413),
                body=PAYLOAD_BODY,
                rainer=True,
            ),
        },
        "/kv/{ns}/{key}/{version}/meta": {
            "get": op(
                "That version's meta.",
                RAINER_META_OK,
                [*version, IF_NONE_MATCH],
                (400, 404),
                rainer=True,
            )
        },
    }


# -- the shapes ------------------------------------------------------------------------

RAINER_META = {
    "key": TEXT,
    "version": POSITIVE,
    "author": TEXT,
    "comment": TEXT,
    "mtime": TIME,
    "empty": {"type": "boolean"},
}
#: revkv's one shape of a commit (`Meta.to_dict`), everywhere but Rainer's own answers
META = {
    "namespace": TEXT,
    "key": TEXT,
    "version": POSITIVE,
    "rev": INT,
    "author": TEXT,
    "comment": TEXT,
    "mtime": EXACT_TIME,
    "expires": nullable(EXACT_TIME),
    "deleted": {"type": "boolean"},
}
PAYLOADS = {"payload_utf8": TEXT, "payload_base64": TEXT}
TOKEN = {"token": TEXT, "purged": {"type": "boolean"}}  # when a token made it; when purged
#: with the payload (`Commit.to_dict(payload=True)`): text, or base64 when not UTF-8
COMMIT = obj(META, {"payload": TEXT, "payload_base64": TEXT, **TOKEN})
WRITER = {"author": AUTHOR, "comment": TEXT}
TARGET = {"namespace": NAME, "key": KEY}


def with_min_rev(described: dict[str, Schema]) -> dict[str, Schema]:
    """Every read (GET, HEAD) takes a min rev (`revkv.http._min_rev`, which answers
    before any route): its parameters, its 400 and its 503, in revkv's JSON."""
    for item in described.values():
        for method in ("get", "head"):
            operation = item.get(method)
            if operation is None:
                continue
            operation["parameters"] = [*operation["parameters"], *MIN_REV]
            responses = operation["responses"]
            responses.setdefault("400", error(400, rainer=False))
            unavailable = error(503, rainer=False)
            own = responses.setdefault("503", unavailable)
            if own is not unavailable and own != unavailable:  # /health's own 503 too
                schema = own["content"][MEDIA["json"]]["schema"]
                own["description"] += " Or: " + ERRORS[503]
                own["content"][MEDIA["json"]]["schema"] = {"anyOf": [schema, ref("Error")]}
    return described


def schemas() -> dict[str, Schema]:
    error_data = {  # the fields of revkv.errors classes (RevkvError.fields)
        "namespace": TEXT,
        "key": TEXT,
        "version": INT,
        "expected": {"anyOf": [INT, TEXT]},
        "current_version": INT,
        "exists": {"type": "boolean"},
        "requested_rev": INT,
        "oldest_rev": INT,
        "expression": TEXT,
        "position": INT,
        "limit": INT,
        "primary": TEXT,
        "retry_after": {"type": "number"},
    }
    failed = array(obj({**TARGET, "expected": nullable(INT), "actual": nullable(INT)}))
    settings = {
        "max_payload": POSITIVE,
        "default_ttl": nullable(SECONDS),
        "keep_versions": nullable(POSITIVE),
        "keep_seconds": nullable(SECONDS),
        "content_type": nullable({"type": "string", "maxLength": 255}),
        "json_objects_only": {"type": "boolean"},
        "schema": nullable({"type": "object"}),
    }
    ttl = {"ttl": nullable(SECONDS)}
    return {
        "Error": obj(
            {"error": obj({"code": TEXT, "message": TEXT}, {**error_data, "failed": failed})}
        ),
        "RainerConflict": obj(
            {"conflict": obj({"key": TEXT, "expectedVersion": POSITIVE, "providedVersion": INT})}
        ),
        "Root": obj(
            {
                "name": {"const": "revkv"},
                "version": TEXT,
                "links": obj({"ui": TEXT, "openapi": TEXT, "kv": TEXT, "health": TEXT}),
            }
        ),
        "Health": obj({"status": {"const": "ok"}, "rev": INT}),
        "Failing": obj({"status": {"const": "failing"}, "rev": INT, "problem": TEXT}),
        "RainerMeta": obj(RAINER_META),
        "Meta": obj(META, TOKEN),
        "Listing": {"type": "object", "additionalProperties": obj(RAINER_META, PAYLOADS)},
        "Page": obj({"items": array(obj(META, {**PAYLOADS, **TOKEN})), "next": nullable(TEXT)}),
        "QueryPage": obj({"items": array(obj(META, {**PAYLOADS, **TOKEN})), "count": INT}),
        "History": obj({"items": array(ref("Meta")), "next": nullable(POSITIVE)}),
        "Purged": obj({"purged": INT, "items": array(ref("Meta"))}),
        "Compaction": obj(
            {
                "snapshot": nullable(TEXT),
                "removed_files": INT,
                "removed_bytes": INT,
                "rev": INT,
            }
        ),
        "Namespace": obj({"name": NAME, **settings, "created_rev": INT}),
        "NamespaceSettings": closed({}, settings),
        "Txn": closed({}, {"checks": array(ref("TxnCheck")), "writes": array(ref("TxnWrite"))}),
        "TxnCheck": closed(TARGET, {"version": nullable(POSITIVE)}),
        "TxnWrite": {
            "oneOf": [
                closed({"op": {"const": "put"}, **TARGET}, {"payload": TEXT, **ttl, **WRITER}),
                closed(
                    {
                        "op": {"const": "put"},
                        **TARGET,
                        "payload_base64": {"type": "string", "contentEncoding": "base64"},
                    },
                    {**ttl, **WRITER},
                ),
                closed({"op": {"const": "delete"}, **TARGET}, WRITER),
            ]
        },
        "TxnResult": obj({"rev": INT, "commits": array(ref("Meta"))}),
        "Event": obj(
            {"type": {"enum": ["put", "delete", "expire", "reset"]}, "rev": INT},
            {"commit": COMMIT, "state": array(COMMIT)},
        ),
        "StreamEvent": obj(
            {
                "event": {"enum": ["put", "delete", "expire", "reset", "error", "shutdown"]},
                "data": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "contentSchema": {"anyOf": [ref("Event"), ref("Error"), {"const": {}}]},
                },
            },
            {"id": {"type": "string", "pattern": "^[0-9]+$"}},
        ),
        "Changes": obj({"rev": INT, "events": array(ref("Event"))}),
        "LongPoll": obj({"rev": INT, "events": array(ref("Event"))}),
    }


def document(version: str = revkv.__version__) -> Schema:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "revkv",
            "version": version,
            "description": "A versioned key-value store: every write is a commit. "
            "Rainer-compatible under /kv. Guide: docs/http-api.md.",
        },
        "paths": with_min_rev(paths()),
        "components": {
            "schemas": schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


@cache
def document_bytes() -> bytes:
    return json.dumps(document(), separators=(",", ":")).encode() + b"\r\n"


async def openapi_endpoint(request: Request) -> Response:
    return Response(document_bytes(), media_type="application/json")
