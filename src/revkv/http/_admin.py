"""Namespaces, transactions and the change feed over HTTP (JSON in, JSON out)."""

from __future__ import annotations

import asyncio
import base64
import functools
from pathlib import PurePath
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from revkv._json import parse_json
from revkv._model import Check, Delete, Put
from revkv.errors import Forbidden, InvalidRequest
from revkv.http._json import JSONResponse
from revkv.http._requests import int_param, principal_of, read_body, service_of
from revkv.prevalence._backup import tar_chunks, tar_size

MAX_JSON_BODY = 64 * 1024 * 1024


async def json_of(request: Request) -> Any:
    body = await read_body(request, MAX_JSON_BODY)
    return parse_json(body)


async def list_namespaces_json(request: Request) -> Response:
    """The namespaces this request's token may read (all of them without tokens)."""
    service = service_of(request)
    principal = service.principal(request.headers.get("authorization"))
    names = await service.anamespaces()
    return JSONResponse([ns.to_dict() for ns in names if principal.may(ns.name, False)])


async def get_namespace(request: Request) -> Response:
    name = request.path_params["ns"]
    principal_of(request, name, write=False)
    return JSONResponse((await service_of(request).aget_namespace(name)).to_dict())


async def put_namespace(request: Request) -> Response:
    """Create a namespace with the settings in the body, or change an existing one's."""
    name = request.path_params["ns"]
    principal = principal_of(request, name, write=True)
    settings = await json_of(request) if await request.body() else {}
    ns = await service_of(request).aput_namespace(name, settings, principal)
    return JSONResponse(ns.to_dict())


async def post_txn(request: Request) -> Response:
    """All writes or none: `{"checks": [{namespace, key, version|null}], "writes": [...]}`.

    A check's `version` is the version you read (null: the key must be absent). A write
    is `{"op": "put", namespace, key, payload | payload_base64, ttl?}` or
    `{"op": "delete", namespace, key}`; both take `author` and `comment`.

    Who sends it is known before the body (up to 64 MB) is read: no token is a 401, and
    a token that may write nowhere a 403, without the server reading a byte of it.
    """
    service = service_of(request)
    principal = service.principal(request.headers.get("authorization"))
    if not principal.may_write_somewhere:
        raise Forbidden(f"token {principal.name!r} may not write; a transaction is for writes")
    body = await json_of(request)
    if not isinstance(body, dict):
        raise InvalidRequest("a transaction is a JSON object with checks and writes")
    checks = [_check(c) for c in _items(body, "checks")]
    writes = [_write(w) for w in _items(body, "writes")]
    result = await service.atxn(checks, writes, principal)
    commits = [m.to_dict() for m in result.commits]
    return JSONResponse({"rev": result.rev, "commits": commits})


def _items(body: dict[str, Any], name: str) -> list[Any]:
    items = body.get(name, [])
    if not isinstance(items, list):
        raise InvalidRequest(f"a transaction's {name} is a JSON array")
    return items


def _check(raw: Any) -> Check:
    if not isinstance(raw, dict) or not {"namespace", "key"} <= raw.keys():
        raise InvalidRequest('a check is {"namespace", "key", "version": N or null}')
    return Check(raw["namespace"], raw["key"], raw.get("version"))


def _write(raw: Any) -> Put | Delete:
    if not isinstance(raw, dict) or raw.get("op") not in ("put", "delete"):
        raise InvalidRequest('a write is {"op": "put" or "delete", "namespace", "key", ...}')
    common: dict[str, Any] = {
        "namespace": raw.get("namespace"),
        "key": raw.get("key"),
        "author": raw.get("author"),
        "comment": raw.get("comment"),
    }
    if raw["op"] == "delete":
        return Delete(**common)
    if "payload_base64" in raw:
        encoded = raw["payload_base64"]
        if not isinstance(encoded, str):
            raise InvalidRequest("payload_base64 is a base64 string")
        try:
            payload: bytes | str = base64.b64decode(encoded, validate=True)
        except ValueError:
            raise InvalidRequest("payload_base64 is not valid base64") from None
    else:
        payload = raw.get("payload", "")
    return Put(**common, payload=payload, ttl=raw.get("ttl"))


async def post_compact(request: Request) -> Response:
    """Compact the store now (`Service.compact`), an admin's call: the snapshot written
    (its file name in the data directory: the server's paths are its own) and what was
    removed."""
    service = service_of(request)
    principal = service.principal(request.headers.get("authorization"))
    service.authorize(principal, None, write=True)  # every namespace: an admin
    done = await service.acompact(principal)
    return JSONResponse(
        {
            "snapshot": None if done.snapshot is None else PurePath(done.snapshot).name,
            "removed_files": done.removed_files,
            "removed_bytes": done.removed_bytes,
            "rev": service.rev,
        }
    )


async def get_changes(request: Request) -> Response:
    """Durable changes after `?since=REV` (optionally `namespace`, `prefix`, `limit`).

    `rev` is where to resume: the last event's rev when the page is full, else the
    store's rev as it was before reading (so nothing committed meanwhile is skipped).
    """
    namespace = request.query_params.get("namespace")
    principal_of(request, namespace, write=False)
    since = int_param(request, "since", 0)
    limit = int_param(request, "limit", 1000, low=1)
    payloads = request.query_params.get("payloads") in ("1", "true", "yes")
    service = service_of(request)
    rev_before = service.rev
    prefix = request.query_params.get("prefix")
    if service.reads_wait:  # a page of the change log, read from the database
        events = await asyncio.to_thread(
            functools.partial(service.changes, namespace=namespace, prefix=prefix, limit=limit),
            since,
        )
    else:
        events = service.changes(since, namespace=namespace, prefix=prefix, limit=limit)
    last = events[-1].rev if events else since
    rev = last if len(events) >= limit else max(rev_before, last)
    body = {"rev": rev, "events": [e.to_dict(payloads) for e in events]}
    return JSONResponse(body)


async def get_stats(request: Request) -> Response:
    """GET /stats: `revkv stats` as JSON (`StoreStats.to_dict`). Any valid token may
    ask, as for /metrics; the namespaces listed are those the token may read."""
    service = service_of(request)
    principal = service.principal(request.headers.get("authorization"))
    stats = await asyncio.to_thread(service.stats) if service.reads_wait else service.stats()
    data = stats.to_dict()
    names = data["namespaces"]
    data["namespaces"] = {name: n for name, n in names.items() if principal.may(name, False)}
    return JSONResponse(data)


async def get_backup(request: Request) -> Response:
    """GET /backup: a consistent copy of the store as a tar stream (`revkv backup --url`).

    A token that may read every namespace may take it. The server snapshots first, so
    writers pause only while the state is captured; the archive holds that snapshot,
    the journal after it up to the durable rev given in `X-Revkv-Rev`, and `SYSTEM`
    last. Its exact length is known up front (Content-Length). A store in PostgreSQL
    or in memory answers 400.
    """
    service = service_of(request)
    service.authorize(service.principal(request.headers.get("authorization")), None, False)
    plan = await asyncio.to_thread(service.backup_plan)
    headers = {
        "Content-Length": str(tar_size(plan)),
        "Content-Disposition": f'attachment; filename="revkv-backup-{plan.last_seq}.tar"',
        "X-Revkv-Rev": str(plan.last_seq),
        "Cache-Control": "no-store",
    }
    return StreamingResponse(tar_chunks(plan), media_type="application/x-tar", headers=headers)
