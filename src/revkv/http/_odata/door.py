"""The OData 2 door: an ASGI app for everything under ``/odata/``.

    GET    /odata/                           service document (AtomPub, or JSON)
    GET    /odata/$metadata                  the EDMX of every entity set
    GET    /odata/Set                        feed: $filter $orderby $top $skip $skiptoken
                                             $inlinecount $select $format
    GET    /odata/Set/$count                 how many match $filter (text/plain)
    POST   /odata/Set                        create: 201, Location, the entry
    GET    /odata/Set('k')                   one entry, with its ETag W/"version"
    PUT    /odata/Set('k')                   replace (204); If-Match for compare-and-set
    MERGE  /odata/Set('k')                   merge into the old values (204); PATCH too
    DELETE /odata/Set('k')                   tombstone (204)
    GET    /odata/Set('k')/Prop[/$value]     one property, or its raw value
    PUT    /odata/Set('k')/Prop[/$value]     set one property (204)

Routed on the path Starlette decoded once as UTF-8 (``urls`` reads quoted keys as units,
so a key may hold ``/``). The query string is read as Starlette and the /kv door read it,
a ``+`` being a space, so one ``$filter`` text means the same at both doors and from
``httpx``'s ``params=``; a plus is ``%2B``, as Pyslet's client sends it. Every link is
built from the Host the client used, since Pyslet's client drops a feed whose URL is
spelled otherwise. The pieces without I/O are the modules beside this one; this file
reads requests and calls them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar, TypeVarTuple, Unpack
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import Receive, Scope, Send

from revkv._config import Settings
from revkv.errors import InvalidRequest, NotFound, QuerySyntaxError
from revkv.http._numbers import is_whole
from revkv.http._odata import handlers
from revkv.http._odata.catalog import Catalog
from revkv.http._odata.handlers import Call
from revkv.http._odata.replies import (
    MethodNotAllowed,
    NeedsVersion2,
    NotSupported,
    error_response,
    format_of,
    response_version,
)
from revkv.http._odata.schema import EntitySet
from revkv.http._odata.urls import (
    Format,
    QueryOptionError,
    QueryOptions,
    Resource,
    ResourceKind,
    check_applicable,
    parse_query_options,
    parse_resource_path,
)
from revkv.http._requests import service_of
from revkv.http._scans import LONG_QUERY, run_off_loop, run_scan

__all__ = ["PAGE_SIZE", "ODataDoor", "odata_mount"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

PAGE_SIZE = 100
"""Entities per feed page unless ``Settings.odata_page_size`` says otherwise."""

_ALLOWED: dict[ResourceKind, tuple[str, ...]] = {
    ResourceKind.SERVICE: ("GET",),
    ResourceKind.METADATA: ("GET",),
    ResourceKind.COLLECTION: ("GET", "POST"),
    ResourceKind.COUNT: ("GET",),
    ResourceKind.ENTITY: ("GET", "PUT", "MERGE", "PATCH", "DELETE"),
    ResourceKind.PROPERTY: ("GET", "PUT"),
    ResourceKind.PROPERTY_VALUE: ("GET", "PUT"),
}


def odata_mount(settings: Settings) -> Mount:
    """The door mounted at ``/odata``, serving ``settings.odata_schema`` and every
    namespace; InvalidSchema (at start-up) when the schema file cannot be served."""
    size = settings.odata_page_size
    return Mount("/odata", app=ODataDoor(Catalog.from_settings(settings), size), name="odata")


class ODataDoor:
    """The ASGI app; the Service and settings come from the app's state, as for /kv."""

    def __init__(self, catalog: Catalog, page_size: int = PAGE_SIZE) -> None:
        if page_size < 1:
            raise InvalidRequest(f"the OData page size must be at least 1, not {page_size}")
        self.catalog = catalog
        self.page_size = page_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # a websocket: nothing here speaks it
            await send({"type": "websocket.close", "code": 1003})
            return
        request = Request(scope, receive)
        fmt: Format = _early_format(request)
        version = _version(request)
        try:
            response = await self.handle(request, version)
        except Exception as error:
            response = error_response(error, fmt, version)
        await response(scope, receive, send)

    async def handle(self, request: Request, version: int = 2) -> Response:
        service = service_of(request)
        principal = service.principal(request.headers.get("authorization"))  # before any work
        _check_version(request.headers.get("dataserviceversion"))
        pairs = request.query_params.multi_items()
        if sum(len(value) for _, value in pairs) > LONG_QUERY:  # its parse takes milliseconds
            options = await run_off_loop(_options, pairs)
        else:
            options = _options(pairs)
        resource = parse_resource_path(_relative_path(request.scope))
        method = _method(request)
        allowed = _ALLOWED.get(resource.kind)
        if resource.kind is ResourceKind.BATCH:
            raise NotSupported("$batch is not supported by revkv; send each request on its own")
        if resource.kind is ResourceKind.MEDIA_VALUE:
            raise InvalidRequest(
                f"{resource.entity_set} entities are not media link entries, so they have no "
                "$value; read a property's raw value with .../Property/$value"
            )
        assert allowed is not None
        if method not in allowed:
            raise MethodNotAllowed(method, f"the {resource.kind.value}", allowed)
        check_applicable(resource, options)
        if version == 1:
            _check_version_1(options)
        await self.catalog.ensure_namespaces(service)
        call = Call(
            request=request,
            service=service,
            catalog=self.catalog,
            root=_service_root(request),
            options=options,
            fmt=format_of(options.format, request.headers.get("accept", "")),
            hex_binary="pyslet" in request.headers.get("dataserviceversion", "").lower(),
            principal=principal,
            page_size=self.page_size,
            version=version,
        )
        return await _route(call, resource, method)


async def _route(call: Call, resource: Resource, method: str) -> Response:
    kind = resource.kind
    if kind is ResourceKind.SERVICE:
        return await _read(call, handlers.service_document, call)
    if kind is ResourceKind.METADATA:
        return await _read(call, handlers.metadata, call)
    entity_set = await _read(call, _entity_set, call, resource)  # reads the namespaces
    call.service.authorize(call.principal, entity_set.name, write=method != "GET")
    if resource.key is None:
        if kind is ResourceKind.COUNT:
            return await run_scan(call.request.receive, handlers.count, call, entity_set)
        if method == "POST":
            return await handlers.create(call, entity_set)
        return await run_scan(call.request.receive, handlers.feed, call, entity_set)
    value, key = handlers.resolve_key(entity_set, resource.key)
    if kind is ResourceKind.COUNT:
        return await _read(call, handlers.entity_count, call, entity_set, key)
    if kind is ResourceKind.ENTITY:
        if method == "GET":
            return await _read(call, handlers.entity, call, entity_set, key)
        if method == "DELETE":
            return await handlers.delete(call, entity_set, key)
        return await handlers.update(call, entity_set, value, key, merge=method != "PUT")
    assert resource.property is not None
    raw = kind is ResourceKind.PROPERTY_VALUE
    if method == "GET":
        read = functools.partial(handlers.property_value, raw=raw)
        return await _read(call, read, call, entity_set, key, resource.property)
    return await handlers.put_property(call, entity_set, key, resource.property, raw=raw)


async def _read(call: Call, function: Callable[[Unpack[Ts]], T], *args: *Ts) -> T:
    """A short read (one entity, the namespaces), here or, when the Service's reads wait
    on a database (PostgreSQL), on a worker thread, as the /kv door reads a key: a round
    trip must not hold up the event loop's other requests."""
    if call.service.reads_wait:
        return await run_off_loop(function, *args)
    return function(*args)


def _entity_set(call: Call, resource: Resource) -> EntitySet:
    assert resource.entity_set is not None
    model = call.catalog.model(call.service)
    try:
        return model.entity_set(resource.entity_set)
    except KeyError:
        raise NotFound(
            f"Resource not found for segment {resource.entity_set}: there is no such entity "
            "set (see the service document)"
        ) from None


def _options(pairs: list[tuple[str, str]]) -> QueryOptions:
    """The system query options; a syntax error names its option and position."""
    try:
        return parse_query_options(pairs)
    except QuerySyntaxError as error:
        named = (name for name, value in pairs if _quoted(error.expression, value))
        raise QueryOptionError(next(named, "$filter"), error.message) from None


def _quoted(expression: str, value: str) -> bool:
    """Whether an error quoting `expression` is about `value` (an over-long one is quoted
    by its start, then "...")."""
    if expression.endswith("...") and len(value) > len(expression):
        return value.startswith(expression[:-3])
    return expression == value


def _method(request: Request) -> str:
    """The request's method: HEAD reads as GET; a POST may tunnel another one in
    ``X-HTTP-Method`` (for clients and proxies that know only GET and POST)."""
    method = request.method.upper()
    if method == "HEAD":
        return "GET"
    tunnelled = request.headers.get("x-http-method")
    if method == "POST" and tunnelled:
        return tunnelled.strip().upper()
    return method


def _relative_path(scope: Scope) -> str:
    """The decoded path after the service root: ``KeyValuePairs('25')``, or ``""``."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return (path[len(root) :] if path.startswith(root) else path).removeprefix("/")


def _service_root(request: Request) -> str:
    url = request.url
    return f"{url.scheme}://{url.netloc}{quote(request.scope.get('root_path', ''))}/"


def _early_format(request: Request) -> Format:
    """The format errors are written in, read before the query options are checked."""
    requested = request.query_params.get("$format", "").strip().lower()
    if requested:
        return "json" if requested in ("json", "application/json") else "atom"
    return format_of(None, request.headers.get("accept", ""))


_NEEDS_2 = ("$inlinecount", "$select", "$skiptoken")
"""System query options OData 1.0 does not have."""


def _check_version_1(options: QueryOptions) -> None:
    """NeedsVersion2 for an option whose answer cannot be written in OData 1.0."""
    for name in _NEEDS_2:
        if name in options.given:
            raise NeedsVersion2(
                f"{name} needs OData 2.0, but the request says it reads at most 1.0 "
                "(MaxDataServiceVersion); send MaxDataServiceVersion: 2.0"
            )


def _version(request: Request) -> int:
    headers = request.headers
    return response_version(headers.get("dataserviceversion"), headers.get("maxdataserviceversion"))


def _check_version(header: str | None) -> None:
    """Refuse requests that need OData 3 or later (``DataServiceVersion: 3.0``)."""
    if not header:
        return
    major = header.split(";")[0].strip().split(".")[0]
    if major.isdigit() and not (is_whole(major) and int(major) <= 2):
        raise InvalidRequest(
            f"DataServiceVersion {header.split(';')[0].strip()[:40]} is not supported: revkv "
            "speaks OData 2.0; send DataServiceVersion: 2.0"
        )
