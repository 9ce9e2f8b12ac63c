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
    PUT  /kv/{ns}/{key}                   revkv: commit the next version (If-Match for CAS)
    DELETE /kv/{ns}/{key}                 revkv: tombstone (If-Match or ?version= for CAS)
    GET  /kv/{ns}/{key}/history           revkv: versions newest first, paged
    POST /kv/{ns}/{key}/revert?to=N       revkv: commit version N's payload again
    GET  /kv/{ns}/{key}/diff?from=&to=    revkv: unified diff between two versions
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from revkv.errors import (
    InvalidRequest,
    KeyNotFound,
    NamespaceNotFound,
    NotFound,
    RevkvError,
    VersionConflict,
)
from revkv.http import rainer
from revkv.http.admin import list_namespaces_json
from revkv.http.errors import error_response, json_error, wants_json
from revkv.http.listing import list_namespace
from revkv.http.requests import (
    author_and_comment,
    etag,
    if_match_version,
    int_param,
    payload_limit,
    principal_of,
    read_body,
    service_of,
    ttl_of,
)
from revkv.model import Check, Commit, Meta, Put
from revkv.service import Service

Handler = Callable[..., Awaitable[Response]]
ACTIONS = ("meta", "history", "revert", "diff")


class KVDoor:
    """An ASGI app for everything under /kv."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await self.dispatch(request)
        except NotFound as exc:
            response = _not_found(request, exc)
        except PreconditionFailed as exc:
            response = error_response(exc.conflict)
            response.status_code = 412
        except RevkvError as exc:
            response = error_response(exc)
        await response(scope, receive, send)

    async def dispatch(self, request: Request) -> Response:
        parts = _segments(request)
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
        version = _version(rest[0])
        if len(rest) == 2 and rest[1] == "meta":
            return _allow(method, ("GET",)) or get_meta(request, namespace, key, version)
        if len(rest) == 1:
            if method == "POST":
                return await post_rainer(request, namespace, key, version)
            return _allow(method, ("GET", "POST")) or get_payload(request, namespace, key, version)
        return json_error(404, "NoSuchRoute", f"no route for {request.url.path}")

    async def key_route(self, request: Request, namespace: str, key: str) -> Response:
        method = request.method
        if method == "PUT":
            return await put_next(request, namespace, key)
        if method == "DELETE":
            return await delete_key(request, namespace, key)
        return _allow(method, ("GET", "PUT", "DELETE")) or get_payload(
            request, namespace, key, None
        )

    async def action_route(
        self, request: Request, namespace: str, key: str, action: str
    ) -> Response:
        if action == "revert":
            return _allow(request.method, ("POST",)) or await revert(request, namespace, key)
        if not_allowed := _allow(request.method, ("GET",)):
            return not_allowed
        if action == "meta":
            return get_meta(request, namespace, key, None)
        if action == "history":
            return history(request, namespace, key)
        return diff(request, namespace, key)


# -- reads ---------------------------------------------------------------------------


def get_payload(request: Request, namespace: str, key: str, version: int | None) -> Response:
    principal_of(request, namespace, write=False)
    commit = _commit(request, namespace, key, version)
    headers = {**rainer.payload_headers(commit, commit.payload), "ETag": etag(commit.version)}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers={"ETag": headers["ETag"]})
    return Response(commit.payload, 200, headers=headers)


def _commit(request: Request, namespace: str, key: str, version: int | None) -> Commit:
    """The asked version, or the newest one: a tombstone is shown (empty), not hidden."""
    service = service_of(request)
    try:
        return service.get(namespace, key, version)
    except (KeyNotFound, NamespaceNotFound):
        if version is not None:
            raise KeyNotFound(namespace, key) from None
        head = service.head(namespace, key)
        if not head.deleted:
            raise  # expired: absent
        return service.get(namespace, key, head.version)


def get_meta(request: Request, namespace: str, key: str, version: int | None) -> Response:
    principal_of(request, namespace, write=False)
    meta: Meta
    if version is None:
        meta = service_of(request).head(namespace, key)
        if meta.is_expired(time.time()):
            raise KeyNotFound(namespace, key)
    else:
        meta = service_of(request).get(namespace, key, version)
    return Response(
        rainer.json_body(rainer.meta_dict(meta)),
        200,
        media_type=rainer.JSON_TYPE,
        headers={"ETag": etag(meta.version)},
    )


def history(request: Request, namespace: str, key: str) -> Response:
    principal_of(request, namespace, write=False)
    limit = int_param(request, "limit", 100, low=1)
    before = int_param(request, "before", None, low=1)
    page = service_of(request).history(namespace, key, limit, before)
    body = {"items": [rainer.full_meta_dict(m) for m in page.items], "next": page.next}
    return Response(rainer.json_body(body), 200, media_type=rainer.JSON_TYPE)


def diff(request: Request, namespace: str, key: str) -> Response:
    principal_of(request, namespace, write=False)
    service = service_of(request)
    newest = service.head(namespace, key).version
    to = int_param(request, "to", newest, low=1)
    start = int_param(request, "from", max(to - 1, 1), low=1)
    old, new = service.get(namespace, key, start), service.get(namespace, key, to)
    try:
        lines = difflib.unified_diff(
            old.payload.decode().splitlines(keepends=True),
            new.payload.decode().splitlines(keepends=True),
            f"{key}@{start}",
            f"{key}@{to}",
        )
    except UnicodeDecodeError:
        raise InvalidRequest("these versions are binary; only UTF-8 text can be diffed") from None
    return PlainTextResponse("".join(lines))


# -- writes --------------------------------------------------------------------------


async def post_rainer(request: Request, namespace: str, key: str, version: int) -> Response:
    """Rainer's commit: exactly version N, 200 with its meta, 409 when N is not next."""
    principal = principal_of(request, namespace, write=True)
    headers = request.headers
    author = rainer.from_header(headers.get("x-rainer-author"))
    if author is None:
        raise InvalidRequest("Missing header: X-Rainer-Author")
    comment = rainer.from_header(headers.get("x-rainer-comment")) or ""
    empty = _empty_header(headers.get("x-rainer-empty"))
    _check_echoed(headers.get("x-rainer-key"), key, headers.get("x-rainer-version"), version)
    rainer.check_modified_time(headers.get("x-rainer-modified-time"))
    service = service_of(request)
    body = await read_body(request, payload_limit(service, namespace))
    if empty and body:
        raise InvalidRequest("Empty payload required with X-Rainer-Empty")
    try:
        if empty:
            commit = await service.delete(
                namespace, key, version=version, author=author or principal.name, comment=comment
            )
        else:
            commit = await service.put(
                namespace, key, body, version=version, author=author, comment=comment
            )
    except VersionConflict as exc:
        return _conflict(request, exc)
    return Response(rainer.json_body(rainer.meta_dict(commit)), 200, media_type=rainer.JSON_TYPE)


async def put_next(request: Request, namespace: str, key: str) -> Response:
    principal = principal_of(request, namespace, write=True)
    service = service_of(request)
    author, comment = author_and_comment(request, principal)
    ttl = ttl_of(request)
    body = await read_body(request, payload_limit(service, namespace))
    if request.headers.get("if-none-match", "").strip() == "*":
        result = await service.txn(
            [Check(namespace, key, None)],
            [Put(namespace=namespace, key=key, payload=body, author=author, comment=comment)],
        )
        commit: Meta = result.commits[0]
    else:
        version = _cas_version(request, service, namespace, key)
        with _precondition(request):
            commit = await service.put(
                namespace, key, body, version=version, author=author, comment=comment, ttl=ttl
            )
    status = 201 if commit.version == 1 else 200
    return _meta_response(commit, status)


async def delete_key(request: Request, namespace: str, key: str) -> Response:
    principal = principal_of(request, namespace, write=True)
    service = service_of(request)
    author, comment = author_and_comment(request, principal)
    version = _cas_version(request, service, namespace, key)
    with _precondition(request):
        commit = await service.delete(
            namespace, key, version=version, author=author, comment=comment
        )
    return _meta_response(commit, 200)


async def revert(request: Request, namespace: str, key: str) -> Response:
    principal = principal_of(request, namespace, write=True)
    service = service_of(request)
    to = int_param(request, "to", None, low=1)
    if to is None:
        raise InvalidRequest("say which version to revert to: ?to=N")
    author, comment = author_and_comment(request, principal)
    version = _cas_version(request, service, namespace, key)
    with _precondition(request):
        commit = await service.revert(
            namespace, key, to, version=version, author=author, comment=comment
        )
    return _meta_response(commit, 200)


def _cas_version(request: Request, service: Service, namespace: str, key: str) -> int | None:
    """The version a write must create: from `?version=N` or `If-Match: "N-1"`."""
    explicit: int | None = int_param(request, "version", None, low=1)
    expected = if_match_version(request)
    if expected is None:
        return explicit
    if explicit is not None:
        raise InvalidRequest("give either ?version= or If-Match, not both")
    if expected == "*":
        head = service.head(namespace, key)
        if head.deleted:
            raise KeyNotFound(namespace, key)
        return head.version + 1
    assert isinstance(expected, int)
    return expected + 1


class PreconditionFailed(Exception):
    """An If-Match that no longer holds: 412, carrying the conflict."""

    def __init__(self, conflict: VersionConflict) -> None:
        super().__init__(conflict.message)
        self.conflict = conflict


@contextmanager
def _precondition(request: Request) -> Iterator[None]:
    """A failed compare-and-set is 412 when If-Match asked for it, 409 for ?version=."""
    try:
        yield
    except VersionConflict as exc:
        if request.headers.get("if-match") is None:
            raise
        raise PreconditionFailed(exc) from exc


def _meta_response(meta: Meta, status: int) -> Response:
    return Response(
        rainer.json_body(rainer.full_meta_dict(meta)),
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
        return [unquote(p.decode("ascii"), errors="strict") for p in parts]
    except (UnicodeDecodeError, UnicodeEncodeError):
        raise InvalidRequest("the path is not valid percent-encoded UTF-8") from None


def _version(segment: str) -> int:
    if not segment.isdigit() or not segment.isascii():
        raise InvalidRequest(
            f"{segment!r} is not a version number (nor meta, history, revert, diff)"
        )
    return int(segment)


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
        raise InvalidRequest("X-Rainer-Key does not match the key in the URL")
    if version_header is not None and version_header.strip() != str(version):
        raise InvalidRequest("X-Rainer-Version does not match the version in the URL")


def _conflict(request: Request, exc: VersionConflict) -> Response:
    if wants_json(request):
        return error_response(exc)
    body = rainer.conflict_body(exc.key, exc.current_version, exc.provided_version)
    return Response(body, 409, media_type=rainer.JSON_TYPE)


def _not_found(request: Request, exc: NotFound) -> Response:
    """Rainer's plain `Key not found`, unless the client asked for JSON."""
    if wants_json(request):
        return error_response(exc)
    return PlainTextResponse(rainer.NOT_FOUND, 404)
