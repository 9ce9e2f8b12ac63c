"""Listing a namespace (Rainer's `{key: meta}`, or paged and queried) and the namespaces."""

from __future__ import annotations

import base64
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from revkv._model import Commit
from revkv.errors import InvalidRequest, NamespaceNotFound
from revkv.http import _rainer as rainer
from revkv.http._requests import int_param, principal_of, service_of
from revkv.http._scans import run_scan
from revkv.query import EdmType, parse_filter, parse_orderby
from revkv.store.base import Column, Select, Window

EXTENDED = ("limit", "start_after", "$filter", "$orderby", "$top", "$skip")
MAX_PAGE = 10_000

#: The properties a REST `$filter`/`$orderby` sees for each key, and where they live.
META_COLUMNS = {
    "Key": Column(EdmType.STRING, "key"),
    "Version": Column(EdmType.INT64, "version"),
    "Rev": Column(EdmType.INT64, "rev"),
    "Author": Column(EdmType.STRING, "author"),
    "Comment": Column(EdmType.STRING, "comment"),
    "Mtime": Column(EdmType.DATETIMEOFFSET, "mtime"),
    "Expires": Column(EdmType.DATETIMEOFFSET, "expires"),
    "Size": Column(EdmType.INT64, "size"),
}


async def list_namespace(request: Request, namespace: str) -> Response:
    """Rainer's listing, or with any of `EXTENDED` a page of `{"items", "next"}`.

    Either may read every key of the namespace, so it runs off the event loop (`_scans`).
    """
    principal_of(request, namespace, write=False)
    return await run_scan(request.receive, _listing, request, namespace)


def _listing(request: Request, namespace: str) -> Response:
    params = request.query_params
    include_all = rainer.parse_bool(params.get("all"), "all")
    utf8 = rainer.parse_bool(params.get("payload_utf8"), "payload_utf8")
    b64 = rainer.parse_bool(params.get("payload_base64"), "payload_base64")
    prefix = params.get("prefix") or None
    if any(name in params for name in EXTENDED):
        try:
            body = _extended(request, namespace, prefix, include_all, utf8, b64)
        except NamespaceNotFound:
            body = {"items": [], **({"count": 0} if _queried(request) else {"next": None})}
        return Response(rainer.json_body(body), 200, media_type=rainer.JSON_TYPE)
    try:
        page = service_of(request).list(
            namespace, prefix=prefix, limit=1 << 62, include_deleted=include_all
        )
    except NamespaceNotFound:
        page = None  # Rainer has no namespaces: an unknown one is simply empty
    now = time.time()
    listing = {
        c.key: rainer.list_entry(c, utf8, b64)
        for c in (page.items if page is not None else ())
        if not _dead(c, now)
    }
    return Response(rainer.json_body(listing), 200, media_type=rainer.JSON_TYPE)


def _dead(commit: Commit, now: float) -> bool:
    """Expired but not yet swept: absent (the sweeper's tombstone will show with `all`)."""
    return not commit.deleted and commit.is_expired(now)


def _queried(request: Request) -> bool:
    return any(name in request.query_params for name in ("$filter", "$orderby", "$top", "$skip"))


def _extended(
    request: Request, namespace: str, prefix: str | None, include_all: bool, utf8: bool, b64: bool
) -> dict[str, Any]:
    params = request.query_params
    service = service_of(request)
    if _queried(request):
        if "start_after" in params:
            raise InvalidRequest("use $skip, not start_after, together with $filter/$orderby/$top")
        filter_text, orderby_text = params.get("$filter") or "", params.get("$orderby") or ""
        query = Select(
            filter=parse_filter(filter_text) if filter_text else None,
            orderby=tuple(parse_orderby(orderby_text)) if orderby_text else (),
            columns=META_COLUMNS, prefix=prefix, include_deleted=include_all,
            filter_text=filter_text, orderby_text=orderby_text,
        )  # fmt: skip
        top = int_param(request, "$top", None, low=0)
        skip = int_param(request, "$skip", 0, low=0)
        window = Window(skip=skip, top=min(top if top is not None else MAX_PAGE, MAX_PAGE))
        selection = service.select(namespace, query, window)
        return {
            "items": [_item(c, utf8, b64) for c in selection.commits],
            "count": selection.matched,
        }
    limit = min(int_param(request, "limit", 1000, low=1), MAX_PAGE)
    page = service.list(
        namespace,
        prefix=prefix,
        start_after=params.get("start_after"),
        limit=limit,
        include_deleted=include_all,
    )
    now = time.time()
    shown = [_item(c, utf8, b64) for c in page.items if not _dead(c, now)]
    return {"items": shown, "next": page.next}


def _item(commit: Commit, utf8: bool, b64: bool) -> dict[str, Any]:
    item = commit.to_dict()
    if utf8:
        item["payload_utf8"] = commit.payload.decode("utf-8", errors="replace")
    if b64:
        item["payload_base64"] = base64.b64encode(commit.payload).decode()
    return item
