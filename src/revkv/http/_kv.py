"""The `/kv` door: Rainer's REST API, wire-compatible, plus revkv's own verbs on the same paths.

Routed on the raw path, segment by segment, so a key may hold any character: a `/` in a
key travels as `%2F` and stays part of the key (Starlette's decoded path would split it).

    GET  /kv                              namespaces (JSON)
    GET  /kv/{ns}                         Rainer: {key: meta} of the newest versions
    GET  /kv/{ns}/{key}                   Rainer: newest payload, X-Rainer-* headers
    GET  /kv/{ns}/{key}/meta              Rainer: newest meta
    GET  /kv/{ns}/{key}/{version}         Rainer: that version's payload
    GET  /kv/{ns}/{key}/{version}/meta    Rainer: that version's meta
    POST /kv/{ns}/{key}/{version}         Rainer: commit version (compare-and-set), 409 if not next
    PUT  /kv/{ns}/{key}                   revkv: commit the next version (?expect=, If-Match)
    DELETE /kv/{ns}/{key}                 revkv: tombstone (?expect=, If-Match)
    GET  /kv/{ns}/{key}/history           revkv: versions newest first, paged
    DELETE /kv/{ns}/{key}/history         revkv: purge old payloads (?before=N | ?all=true; admin)
    POST /kv/{ns}/{key}/revert?to=N       revkv: commit version N's payload again
    GET  /kv/{ns}/{key}/diff?from=&to=    revkv: unified diff between two versions

Errors on Rainer's own requests keep Rainer's bodies, byte for byte: plain text such as
`Key not found` or `Missing header: X-Rainer-Author`, and the `{"conflict": ...}` object of
a version conflict. revkv's verbs, and every request sent with `Accept: application/json`,
get revkv's JSON errors. Compare-and-set on revkv's verbs names the version read
(`?expect=N`, `If-Match: "N"`, `If-None-Match: *`; see `conditions.py`); Rainer's POST
names the version to write, and becomes the condition "at version N - 1".
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVarTuple, Unpack
from urllib.parse import unquote

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from revkv._diffs import unified_diff
from revkv._model import Commit, Condition, Meta
from revkv.errors import (
    Forbidden,
    InvalidRequest,
    KeyNotFound,
    NamespaceNotFound,
    NotFound,
    PreconditionFailed,
    RevkvError,
    Unauthorized,
    VersionConflict,
    VersionNotFound,
    VersionPurged,
)
from revkv.http import _rainer as rainer
from revkv.http._admin import list_namespaces_json
from revkv.http._conditions import Preconditions, write_condition
from revkv.http._errors import error_response, json_error, status_for, wants_json
from revkv.http._listing import EXTENDED, list_namespace
from revkv.http._numbers import is_whole
from revkv.http._requests import (
    author_and_comment,
    etag,
    header,
    if_none_match,
    int_param,
    lifetime_of,
    payload_limit,
    principal_of,
    read_body,
    service_of,
)

ACTIONS = ("meta", "history", "revert", "diff")

Ts = TypeVarTuple("Ts")


class KVDoor:
    """An ASGI app for everything under /kv."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # a websocket: nothing here speaks it
            await send({"type": "websocket.close", "code": 1003})
            return
        request = Request(scope, receive)
        rainer_style = False
        parts: list[str] = []
        try:
            parts = _segments(request)
            rainer_style = _is_rainer_request(request, parts)
            response = await self.dispatch(request, parts)
        except RevkvError as exc:
            response = _error(request, exc, rainer_style, parts)
        await response(scope, receive, send)

    async def dispatch(self, request: Request, parts: list[str]) -> Response:
        method = request.method
        if not parts:
            return _allow(method, ("GET",)) or await list_namespaces_json(request)
        if len(parts) == 1:
            return _allow(method, ("GET",)) or await list_namespace(request, parts[0])
        namespace, key, *rest = parts
        if not rest:
            return await self.key_route(request, namespace, key)
        if len(rest) == 1 and rest[0] in ACTIONS:
            return await self.action_route(request, namespace, key, rest[0])
        if len(rest) > 2 or (len(rest) == 2 and rest[1] != "meta"):
            return json_error(404, "NoSuchRoute", f"no route for {request.url.path}")
        if method == "POST" and len(rest) == 1:
            return await post_rainer(request, namespace, key, _posted_version(rest[0]))
        version = _posted_version(rest[0])
        if version < 1 and method in ("GET", "HEAD"):
            # Rainer's servlet reads any integer and finds no such version: its 404
            principal_of(request, namespace, write=False)
            raise VersionNotFound(namespace, key, version)
        if len(rest) == 2:
            return _allow(method, ("GET",)) or await _read(
                get_meta, request, namespace, key, version
            )
        if not_allowed := _allow(method, ("GET", "POST")):
            return not_allowed
        if service_of(request).reads_wait:
            return await aget_payload(request, namespace, key, version)
        return get_payload(request, namespace, key, version)

    async def key_route(self, request: Request, namespace: str, key: str) -> Response:
        method = request.method
        if method == "PUT":
            return await put_next(request, namespace, key)
        if method == "DELETE":
            return await delete_key(request, namespace, key)
        if not_allowed := _allow(method, ("GET", "PUT", "DELETE")):
            return not_allowed
        if service_of(request).reads_wait:
            return await aget_payload(request, namespace, key, None)
        return get_payload(request, namespace, key, None)

    async def action_route(
        self, request: Request, namespace: str, key: str, action: str
    ) -> Response:
        if action == "revert":
            return _allow(request.method, ("POST",)) or await revert(request, namespace, key)
        if action == "history" and request.method not in ("GET", "HEAD"):
            return _allow(request.method, ("GET", "DELETE")) or await purge(request, namespace, key)
        if not_allowed := _allow(request.method, ("GET",)):
            return not_allowed
        if action == "meta":
            return await _read(get_meta, request, namespace, key, None)
        if action == "history":
            return await _read(history, request, namespace, key)
        return await _read(diff, request, namespace, key)


# -- reads ---------------------------------------------------------------------------


async def _read(
    handler: Callable[[Request, str, str, Unpack[Ts]], Response],
    request: Request,
    namespace: str,
    key: str,
    *args: *Ts,
) -> Response:
    """A read handler, here or, when the Service's reads wait on a database, in a
    worker thread: a round trip must not hold up the event loop's other requests."""
    if service_of(request).reads_wait:
        return await anyio.to_thread.run_sync(handler, request, namespace, key, *args)
    return handler(request, namespace, key, *args)


def get_payload(request: Request, namespace: str, key: str, version: int | None) -> Response:
    principal_of(request, namespace, write=False)
    commit = _commit(request, namespace, key, version, absent_is_404(request))
    return _payload_response(request, commit)


async def aget_payload(request: Request, namespace: str, key: str, version: int | None) -> Response:
    """`get_payload` for a Service whose reads wait on a database: the version is
    awaited (`Service.aget`), so the loop serves other requests meanwhile; an absent
    key's answer (Rainer's empty tombstone, or 404) is worked out in a worker thread."""
    principal_of(request, namespace, write=False)
    absent = absent_is_404(request)
    try:
        commit = await service_of(request).aget(namespace, key, version)
    except (KeyNotFound, NamespaceNotFound):
        commit = await anyio.to_thread.run_sync(_commit, request, namespace, key, version, absent)
    return _payload_response(request, commit)


def _payload_response(request: Request, commit: Commit) -> Response:
    tag = etag(commit.version)
    if if_none_match(request, tag):
        return Response(status_code=304, headers={"ETag": tag})
    return Response(commit.payload, 200, headers=_payload_headers(request, commit))


_HEADERS_KEPT = 8192


def _payload_headers(request: Request, commit: Commit) -> dict[str, str]:
    """A version's response headers, formatted once per store: versions never change,
    and a hot key is read far more often than it is written."""
    cache: dict[Any, Any] = service_of(request).rendered
    ident = ("kv-headers", commit.namespace, commit.key, commit.version, commit.rev)
    headers: dict[str, str] | None = cache.get(ident)
    if headers is None:
        if len(cache) >= _HEADERS_KEPT:
            cache.clear()
        headers = cache[ident] = {
            **rainer.payload_headers(commit, commit.payload),
            "ETag": etag(commit.version),
            "X-Revkv-Meta": _exact_meta(commit),
        }
    return headers


def _exact_meta(meta: Meta) -> str:
    """All of a version's meta in one header (ASCII JSON), exact where Rainer's headers
    are not (rev, expiry, comments with line breaks): a client needs no second request."""
    return json.dumps(meta.to_dict(), ensure_ascii=True, separators=(",", ":"))


def _commit(
    request: Request, namespace: str, key: str, version: int | None, absent: bool
) -> Commit:
    """The asked version, or the newest one: a tombstone is shown (empty, Rainer's way),
    unless the request asks for revkv's answer (`X-Revkv-Absent: 404`)."""
    service = service_of(request)
    try:
        return service.get(namespace, key, version)
    except (KeyNotFound, NamespaceNotFound):
        if version is not None:
            raise KeyNotFound(namespace, key) from None
        head = service.head(namespace, key)
        if not head.deleted or absent:
            raise  # expired (not yet swept), or deleted and asked as revkv: absent
        return service.get(namespace, key, head.version)


def absent_is_404(request: Request) -> bool:
    """Whether a deleted or expired key is to be 404 rather than Rainer's empty 200.

    Rainer's servlet answers the latest version of a deleted key with 200, an empty body
    and `X-Rainer-Empty: Yes`, and its clients rely on that; revkv's own answer is that
    the key is absent, which a request asks for with `X-Revkv-Absent: 404` (revkv's
    Client always does).
    """
    raw = header(request, "x-revkv-absent")
    if raw is None:
        return False
    if raw.strip() != "404":
        raise InvalidRequest(
            f"X-Revkv-Absent takes 404 (answer a deleted or expired key with 404), not {raw[:40]!r}"
        )
    return True


def get_meta(request: Request, namespace: str, key: str, version: int | None) -> Response:
    principal_of(request, namespace, write=False)
    meta: Meta
    absent = absent_is_404(request)
    if version is None:
        meta = service_of(request).head(namespace, key)
        if meta.is_expired(time.time()) or (meta.deleted and absent):
            raise KeyNotFound(namespace, key)
    else:  # a purged version's meta is there: it says `purged`
        meta = service_of(request).meta(namespace, key, version)
    tag = etag(meta.version)
    if if_none_match(request, tag):
        return Response(status_code=304, headers={"ETag": tag})
    return Response(
        rainer.json_body(rainer.meta_dict(meta)),
        200,
        media_type=rainer.JSON_TYPE,
        headers={"ETag": tag, "X-Revkv-Meta": _exact_meta(meta)},
    )


def history(request: Request, namespace: str, key: str) -> Response:
    principal_of(request, namespace, write=False)
    limit = int_param(request, "limit", 100, low=1)
    before = int_param(request, "before", None, low=1)
    page = service_of(request).history(namespace, key, limit=limit, before=before)
    body = {"items": [m.to_dict() for m in page.items], "next": page.next}
    return Response(rainer.json_body(body), 200, media_type=rainer.JSON_TYPE)


async def purge(request: Request, namespace: str, key: str) -> Response:
    """Remove the payloads of old versions for good (`Service.purge`), an admin's call:
    `?before=N` those below version N, `?all=true` every one, neither every one but the
    newest. Answers how many versions were emptied and the history as it is now."""
    principal = principal_of(request, namespace, write=True)
    before = int_param(request, "before", None, low=1)
    every = rainer.parse_bool(request.query_params.get("all"), "all")
    service = service_of(request)
    purged = await service.apurge(
        namespace, key, before_version=before, all_versions=every, principal=principal
    )
    page = service.history(namespace, key)
    body = {"purged": purged, "items": [m.to_dict() for m in page.items]}
    return Response(rainer.json_body(body), 200, media_type=rainer.JSON_TYPE)


def diff(request: Request, namespace: str, key: str) -> Response:
    principal_of(request, namespace, write=False)
    service = service_of(request)
    newest = service.head(namespace, key).version
    to = int_param(request, "to", newest, low=1)
    start = int_param(request, "from", max(to - 1, 1), low=1)
    old, new = service.get(namespace, key, start), service.get(namespace, key, to)
    try:
        lines = unified_diff(old.text, new.text, f"{key}@{start}", f"{key}@{to}")
    except UnicodeDecodeError:
        raise InvalidRequest("these versions are binary; only UTF-8 text can be diffed") from None
    return PlainTextResponse("".join(lines))


# -- writes --------------------------------------------------------------------------


async def post_rainer(request: Request, namespace: str, key: str, version: int) -> Response:
    """Rainer's commit: exactly version N, 200 with its meta, 409 when N is not next.

    The headers are checked in the order Rainer's servlet checks them, so a request
    with several faults gets the same message.
    """
    principal = principal_of(request, namespace, write=True)
    _check_echoed(
        header(request, "x-rainer-key"), key, header(request, "x-rainer-version"), version
    )
    author = rainer.from_header(header(request, "x-rainer-author"))
    if author is None:
        raise InvalidRequest("Missing header: X-Rainer-Author")
    comment = rainer.from_header(header(request, "x-rainer-comment")) or ""
    empty = _empty_header(header(request, "x-rainer-empty"))
    mtime = rainer.modified_time(header(request, "x-rainer-modified-time"))
    lifetime = lifetime_of(request)
    service = service_of(request)
    body = await read_body(request, await payload_limit(service, namespace))
    if empty and body:
        raise InvalidRequest("Empty payload required with X-Rainer-Empty")
    at = Condition("version", version - 1)  # Rainer names the version to write
    if empty:
        commit = await service.adelete(
            namespace, key, expect=at, author=author, comment=comment, mtime=mtime,
            principal=principal,
        )  # fmt: skip
    else:
        commit = await service.aput(
            namespace, key, body, expect=at, author=author, comment=comment, mtime=mtime,
            principal=principal, **lifetime,
        )  # fmt: skip
    return Response(rainer.json_body(rainer.meta_dict(commit)), 200, media_type=rainer.JSON_TYPE)


async def put_next(request: Request, namespace: str, key: str) -> Response:
    principal = principal_of(request, namespace, write=True)
    service = service_of(request)
    author, comment = author_and_comment(request)
    lifetime = lifetime_of(request)
    condition = write_condition(request)
    body = await read_body(request, await payload_limit(service, namespace))
    with Preconditions(condition):
        commit = await service.aput(
            namespace, key, body, expect=condition.expect, author=author, comment=comment,
            principal=principal, **lifetime,
        )  # fmt: skip
    status = 201 if commit.version == 1 else 200
    return _meta_response(commit, status)


async def delete_key(request: Request, namespace: str, key: str) -> Response:
    principal = principal_of(request, namespace, write=True)
    service = service_of(request)
    author, comment = author_and_comment(request)
    condition = write_condition(request)
    with Preconditions(condition):
        commit = await service.adelete(
            namespace, key, expect=condition.expect, author=author, comment=comment,
            principal=principal,
        )  # fmt: skip
    return _meta_response(commit, 200)


async def revert(request: Request, namespace: str, key: str) -> Response:
    principal = principal_of(request, namespace, write=True)
    service = service_of(request)
    to = int_param(request, "to", None, low=1)
    if to is None:
        raise InvalidRequest("say which version to revert to: ?to=N")
    author, comment = author_and_comment(request)
    condition = write_condition(request)
    with Preconditions(condition):
        commit = await service.arevert(
            namespace, key, to, expect=condition.expect, author=author, comment=comment,
            principal=principal,
        )  # fmt: skip
    return _meta_response(commit, 200)


def _meta_response(meta: Meta, status: int) -> Response:
    return Response(
        rainer.json_body(meta.to_dict()),
        status,
        media_type=rainer.JSON_TYPE,
        headers={"ETag": etag(meta.version)},
    )


# -- helpers --------------------------------------------------------------------------


def _segments(request: Request) -> list[str]:
    raw: bytes = request.scope.get("raw_path") or request.scope["path"].encode()
    parts = raw.split(b"/")[2:]  # drop "" and "kv"
    if parts and parts[-1] == b"":
        parts.pop()
    try:
        return [unquote(p.decode("utf-8"), errors="strict") for p in parts]
    except UnicodeError:
        raise InvalidRequest("the path is not valid percent-encoded UTF-8") from None


def _is_rainer_request(request: Request, parts: list[str]) -> bool:
    """Whether this is one of the requests Rainer's servlet answers (its errors apply)."""
    method = request.method
    if len(parts) == 1:
        return method in ("GET", "HEAD") and not any(p in request.query_params for p in EXTENDED)
    if len(parts) < 2 or len(parts) > 4 or method not in ("GET", "HEAD", "POST"):
        return False
    return len(parts) == 2 or parts[2] not in ACTIONS[1:]


def _version(segment: str) -> int:
    if not is_whole(segment):
        raise InvalidRequest(
            f"{segment!r} is not a version number (nor meta, history, revert, diff)"
        )
    return int(segment)


def _posted_version(segment: str) -> int:
    """The version of Rainer's POST: any integer, as the servlet reads it (``toInt``),
    so that 0 or -1 is the servlet's 409 conflict (the version is not the next one),
    not a 400."""
    if segment.startswith("-") and is_whole(segment[1:]):
        return -int(segment[1:])
    return _version(segment)


def _allow(method: str, allowed: tuple[str, ...]) -> Response | None:
    """None when `method` is allowed; else a 405 that lists what is."""
    methods = (*allowed, "HEAD") if "GET" in allowed else allowed
    if method in methods:
        return None
    response = json_error(
        405, "MethodNotAllowed", f"{method} is not allowed here; use {', '.join(allowed)}"
    )
    response.headers["Allow"] = ", ".join(methods)
    return response


def _empty_header(value: str | None) -> bool:
    try:
        return rainer.parse_bool(value, "X-Rainer-Empty")
    except InvalidRequest:
        raise InvalidRequest("Malformed header: X-Rainer-Empty") from None


def _check_echoed(
    key_header: str | None, key: str, version_header: str | None, version: int
) -> None:
    if key_header is not None and rainer.from_header(key_header) != key:
        raise InvalidRequest("X-Rainer-Key must match URL key, or be omitted")
    if version_header is not None and version_header.strip() != str(version):
        raise InvalidRequest("X-Rainer-Version must match URL version, or be omitted")


def _error(request: Request, exc: RevkvError, rainer_style: bool, parts: list[str]) -> Response:
    """Rainer's body for Rainer's requests (unless JSON is asked for), else revkv's JSON.

    Rainer has no tokens: a 401 or 403 is always revkv's JSON (with its challenge).
    """
    status = status_for(exc)
    if (
        not rainer_style
        or wants_json(request)
        or status >= 500
        or isinstance(exc, (Unauthorized, Forbidden))
    ):
        return error_response(exc)
    if isinstance(exc, VersionConflict) and not isinstance(exc, PreconditionFailed):
        posted = _posted_version(parts[2]) if len(parts) > 2 else 0
        body = rainer.conflict_body(exc.key, exc.current_version, posted)
        return Response(body, 409, media_type=rainer.JSON_TYPE)
    purged = isinstance(exc, VersionPurged)  # Rainer never purged: revkv's own words
    text = rainer.NOT_FOUND if isinstance(exc, NotFound) and not purged else exc.message
    return PlainTextResponse(text, status)
