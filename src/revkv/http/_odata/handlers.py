"""One handler per resource and method: read the ``Call``, do it, answer a document.

``door.py`` has parsed the path, the query options and the headers into a ``Call`` and
checked that the principal may read (or write) the entity set; a handler reads the
body if it needs one, calls ``feeds``, ``writes`` or the Service, and builds the answer
with ``atom``/``jsonfmt`` in the negotiated format. Entity answers carry the ETag of
the entity's version (``W/"3"``), new or read.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from revkv._auth import Principal
from revkv._model import Commit, check_key
from revkv._service import Service
from revkv.errors import InvalidRequest, NotFound, QuerySyntaxError, SchemaViolation
from revkv.http._odata.atom import (
    entry_xml,
    feed_xml,
    parse_entry,
    parse_property,
    property_xml,
    service_xml,
)
from revkv.http._odata.catalog import Catalog
from revkv.http._odata.entities import Entity, etag
from revkv.http._odata.feeds import columns_of, count_matches, read_page
from revkv.http._odata.jsonfmt import (
    entry_json,
    feed_json,
    parse_entity_json,
    parse_property_json,
    property_json,
    service_json,
)
from revkv.http._odata.literals import coerce_literal, from_raw, raw_value
from revkv.http._odata.replies import (
    ATOM_ENTRY,
    ATOM_FEED,
    JSON,
    SERVICE,
    TEXT,
    XML,
    NeedsVersion2,
    document,
    media_type,
    version_header,
)
from revkv.http._odata.schema import EntitySet, Property
from revkv.http._odata.urls import (
    Format,
    KeyPredicate,
    QueryOptionError,
    QueryOptions,
    check_select,
    entity_path,
)
from revkv.http._odata.values import key_text
from revkv.http._odata.writes import Writer, read_entity, segment
from revkv.http._requests import author_and_comment, payload_limit, read_body
from revkv.query import compile_filter

__all__ = [
    "Call",
    "count",
    "create",
    "delete",
    "entity",
    "entity_count",
    "feed",
    "metadata",
    "property_value",
    "put_property",
    "resolve_key",
    "service_document",
    "update",
]

_ENVELOPE = 64 * 1024
"""Bytes an Atom entry may add to a namespace's payload limit (markup, escapes)."""


@dataclass(frozen=True, slots=True)
class Call:
    """One request, read: where the service is, what was asked, by whom, in which format."""

    request: Request
    service: Service
    catalog: Catalog
    root: str
    options: QueryOptions
    fmt: Format
    hex_binary: bool
    principal: Principal
    page_size: int
    version: int = 2
    """The OData major version the answer is written in (``replies.response_version``)."""

    def writer(self) -> Writer:
        author, comment = author_and_comment(self.request)
        return Writer(self.service, self.principal, author, comment)

    @property
    def if_match(self) -> str | None:
        return self.request.headers.get("if-match")


# -- the service -------------------------------------------------------------------------


def service_document(call: Call) -> Response:
    model = call.catalog.visible(call.service, call.principal)
    if call.fmt == "json":
        return document(service_json(model), JSON, version=call.version)
    return document(
        service_xml(model, call.root), media_type(call.fmt, SERVICE), version=call.version
    )


def metadata(call: Call) -> Response:
    return document(call.catalog.metadata(call.service, call.principal), XML, version=call.version)


# -- entity sets -------------------------------------------------------------------------


def feed(call: Call, entity_set: EntitySet) -> Response:
    select = check_select(call.options.select, entity_set.entity_type)
    records = call.catalog.records(entity_set)
    page = read_page(call.service, entity_set, records, call.options, call.page_size)
    if call.version == 1 and page.next_link is not None:
        raise NeedsVersion2(
            f"more than {len(page.entities)} entities match, and the pages after this one "
            "need server paging, which is OData 2.0; send MaxDataServiceVersion: 2.0, or "
            "ask for fewer with $top or $filter"
        )
    headers = {"X-Revkv-Skipped": str(page.skipped)} if page.skipped else None
    if call.fmt == "json":
        body = feed_json(
            page.entities,
            call.root,
            count=page.count,
            next_link=page.next_link,
            select=select,
            version=call.version,
        )
    else:
        body = feed_xml(
            entity_set,
            page.entities,
            call.root,
            updated=time.time(),
            count=page.count,
            next_link=page.next_link,
            select=select,
            hex_binary=call.hex_binary,
        )
    return document(body, media_type(call.fmt, ATOM_FEED), headers=headers, version=call.version)


def count(call: Call, entity_set: EntitySet) -> Response:
    records = call.catalog.records(entity_set)
    total = count_matches(call.service, entity_set, records, call.options)
    return document(str(total).encode(), TEXT, version=call.version)


async def create(call: Call, entity_set: EntitySet) -> Response:
    values = await _read_values(call, entity_set)
    entity = await call.writer().create(entity_set, values)
    location = call.root + entity_path(entity_set, entity.key)
    return _entity_reply(call, entity, 201, {"Location": location})


# -- one entity --------------------------------------------------------------------------


def resolve_key(entity_set: EntitySet, predicate: KeyPredicate) -> tuple[Any, str]:
    """The key property's value in a URL's key predicate, and the revkv key holding it."""
    prop = entity_set.entity_type.key_property
    if predicate.name is not None and predicate.name != prop.name:
        raise InvalidRequest(f"{entity_set.path} is keyed by {prop.name!r}, not {predicate.name!r}")
    value = coerce_literal(prop, predicate.value, predicate.edm_type)
    key = key_text(prop, value)
    check_key(key)
    return value, key


def entity(call: Call, entity_set: EntitySet, key: str) -> Response:
    found = read_entity(call.service, entity_set, key)
    if not _matches(call, found):
        raise NotFound(
            f"Resource not found for segment {segment(entity_set, key)}: it does not match "
            "the $filter"
        )
    return _entity_reply(call, found)


def entity_count(call: Call, entity_set: EntitySet, key: str) -> Response:
    found = read_entity(call.service, entity_set, key)
    return document(b"1" if _matches(call, found) else b"0", TEXT, version=call.version)


def _matches(call: Call, found: Entity) -> bool:
    """Whether one entity passes the request's ``$filter`` (OData 2 lets a single
    entity be filtered: one that fails it is not there)."""
    options = call.options
    if options.filter is None:
        return True
    columns = columns_of(found.entity_type)
    try:
        predicate = compile_filter(
            options.filter,
            list(columns),
            source=options.filter_text or "",
            types={name: column.type for name, column in columns.items()},
        )
    except QuerySyntaxError as error:
        raise QueryOptionError("$filter", error.message) from None
    return predicate(found.values)


async def update(
    call: Call, entity_set: EntitySet, value: Any, key: str, *, merge: bool
) -> Response:
    """PUT (``merge`` False) or MERGE/PATCH of an entity; the key comes from the URL."""
    values = await _read_values(call, entity_set)
    name = entity_set.entity_type.key
    if name in values and values[name] != value:
        raise InvalidRequest(
            f"the body gives {name} {values[name]!r} but the URL addresses {value!r}; "
            "a key cannot change (create the new key with POST and delete the old one)"
        )
    values[name] = value
    writer = call.writer()
    write = writer.merge if merge else writer.replace
    return _no_content(call, await write(entity_set, key, values, call.if_match))


async def delete(call: Call, entity_set: EntitySet, key: str) -> Response:
    await call.writer().delete(entity_set, key, call.if_match)
    return Response(status_code=204, headers=version_header(call.version))


# -- one property ------------------------------------------------------------------------


def property_value(
    call: Call, entity_set: EntitySet, key: str, name: str, *, raw: bool
) -> Response:
    """``Set('k')/Prop`` as a property document, or (``raw``) ``.../$value``."""
    found = read_entity(call.service, entity_set, key)
    prop = _property(entity_set, name)
    value = found.values.get(prop.name)
    headers = {"ETag": etag(found.version)} if found.version is not None else None
    if raw:
        if value is None:
            raise NotFound(f"Resource not found for segment {name}/$value: {name} is null")
        body, media = raw_value(prop, value)
        return document(body, media, headers=headers, version=call.version)
    if call.fmt == "json":
        body = property_json(prop, value, version=call.version)
        return document(body, JSON, headers=headers, version=call.version)
    return document(
        property_xml(prop, value, hex_binary=call.hex_binary),
        XML,
        headers=headers,
        version=call.version,
    )


async def put_property(
    call: Call, entity_set: EntitySet, key: str, name: str, *, raw: bool
) -> Response:
    """PUT ``Set('k')/Prop`` (a property document) or ``.../$value`` (raw): a merge of
    that one value."""
    prop = _property(entity_set, name)
    if prop.name == entity_set.entity_type.key or prop.read_only:
        why = "is the key" if prop.name == entity_set.entity_type.key else "is set by the server"
        raise InvalidRequest(f"property {name!r} of {entity_set.path} {why}; it cannot be set")
    body = await _body(call, entity_set)
    if raw:
        value = from_raw(prop, body)
    elif "json" in call.request.headers.get("content-type", ""):
        value = parse_property_json(body, prop)
    else:
        value = parse_property(body, prop, hex_binary=call.hex_binary)
    commit = await call.writer().merge(entity_set, key, {prop.name: value}, call.if_match)
    return _no_content(call, commit)


# -- helpers -----------------------------------------------------------------------------


def _property(entity_set: EntitySet, name: str) -> Property:
    entity_type = entity_set.entity_type
    if name not in entity_type:
        raise NotFound(
            f"Resource not found for segment {name}: {entity_type.qualified_name} has no "
            f"such property (it has {', '.join(p.name for p in entity_type.properties)})"
        )
    return entity_type[name]


async def _body(call: Call, entity_set: EntitySet) -> bytes:
    limit = await payload_limit(call.service, entity_set.name) * 4 + _ENVELOPE
    body = await read_body(call.request, limit)
    if not body.strip():
        raise SchemaViolation(
            "the request body is empty; send an Atom <entry> or a JSON object of properties"
        )
    return body


async def _read_values(call: Call, entity_set: EntitySet) -> dict[str, Any]:
    body = await _body(call, entity_set)
    entity_type = entity_set.entity_type
    if "json" in call.request.headers.get("content-type", ""):
        return parse_entity_json(body, entity_type)
    return parse_entry(body, entity_type, hex_binary=call.hex_binary)


def _entity_reply(
    call: Call, found: Entity, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    select = check_select(call.options.select, found.entity_type)
    extra = {**(headers or {}), **({"ETag": found.etag} if found.etag else {})}
    if call.fmt == "json":
        return document(
            entry_json(found, call.root, select=select), JSON, status, extra, version=call.version
        )
    body = entry_xml(found, call.root, select=select, hex_binary=call.hex_binary)
    return document(body, media_type(call.fmt, ATOM_ENTRY), status, extra, version=call.version)


def _no_content(call: Call, commit: Commit) -> Response:
    headers = {**version_header(call.version), "ETag": etag(commit.version)}
    return Response(status_code=204, headers=headers)
