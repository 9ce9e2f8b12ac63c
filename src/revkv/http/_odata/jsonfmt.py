"""OData 2 verbose JSON (``$format=json``, ``Accept: application/json``).

Pyslet's client never asks for JSON; browsers and JavaScript clients (datajs, SAPUI5)
do. The shapes are those of OData 2: everything under ``"d"``, an entity carries
``__metadata`` (its ``uri``, ``type`` and ``etag``), a feed is ``{"results": [...]}``
with ``__count`` and ``__next``, an error ``{"error": {"code", "message": {"lang",
"value"}}}``. Where Pyslet's server differs from the OData 2 specification, this
follows the specification: ``__count`` is a string (Pyslet writes a number), ``__next``
is the URL itself (Pyslet writes ``{"uri": ...}``). A single property is
``{"d": {"results": {"Name": value}}}`` in a 2.0 answer, as MS-ODATA's grammar has it
and Pyslet's server writes it, and ``{"d": {"Name": value}}`` in a 1.0 one.

A 1.0 answer (``MaxDataServiceVersion: 1.0``) has none of 2.0's wrappers: a feed is
``{"d": [...]}``, with no ``__count`` or ``__next`` (the door refuses what would need
them).

Edm.DateTime values are written ``"\\/Date(1392679105162)\\/"``: the escaped slashes are
what marks the string as a date in the ASP.NET convention OData 2 took up, so the writer
here escapes them, which ``json.dumps`` cannot be told to do for some strings only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urljoin

from revkv._json import parse_json
from revkv.errors import SchemaViolation
from revkv.http._odata.entities import Entity, ignored_on_write
from revkv.http._odata.literals import from_json, to_json
from revkv.http._odata.schema import EntityType, Model, Property
from revkv.http._odata.urls import entity_path
from revkv.query import EdmType

__all__ = [
    "dumps",
    "entry_json",
    "error_json",
    "feed_json",
    "parse_entity_json",
    "parse_property_json",
    "property_json",
    "service_json",
]


class _AspDate(str):
    """A ``/Date(...)/`` string, written with its slashes escaped."""

    __slots__ = ()


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON of dicts, lists and scalars, writing ``_AspDate`` strings in the
    escaped form. NaN and infinities are refused (the property forms are strings)."""
    return _encode(value).encode("utf-8")


def _encode(value: Any) -> str:
    if isinstance(value, _AspDate):
        return json.dumps(str(value)).replace("/", "\\/")
    if isinstance(value, Mapping):
        items = (f"{json.dumps(str(k), ensure_ascii=False)}:{_encode(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_encode(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _value(prop: Property, value: Any) -> Any:
    encoded = to_json(prop, value)
    if prop.type is EdmType.DATETIME and encoded is not None:
        return _AspDate(encoded)
    return encoded


def _root(service_root: str) -> str:
    return service_root if service_root.endswith("/") else service_root + "/"


def _entity(entity: Entity, root: str, select: Sequence[str] | None) -> dict[str, Any]:
    metadata = {
        "uri": root + entity_path(entity.entity_set, entity.key),
        "type": entity.entity_type.qualified_name,
    }
    if entity.etag is not None:
        metadata["etag"] = entity.etag
    result: dict[str, Any] = {"__metadata": metadata}
    for prop in entity.entity_type.properties:
        if select is None or prop.name in select:
            result[prop.name] = _value(prop, entity.values.get(prop.name))
    return result


def entry_json(entity: Entity, service_root: str, *, select: Sequence[str] | None = None) -> bytes:
    """``{"d": {"__metadata": {...}, "Key": "25", ...}}``."""
    return dumps({"d": _entity(entity, _root(service_root), select)})


def feed_json(
    entities: Iterable[Entity],
    service_root: str,
    *,
    count: int | None = None,
    next_link: str | None = None,
    select: Sequence[str] | None = None,
    version: int = 2,
) -> bytes:
    """``{"d": {"results": [...], "__count": "26", "__next": "<absolute URL>"}}``; a
    relative ``next_link`` is resolved against the service root (JSON has no xml:base).
    In ``version`` 1, ``{"d": [...]}``."""
    root = _root(service_root)
    results = [_entity(e, root, select) for e in entities]
    if version == 1:
        assert count is None and next_link is None, "a 1.0 feed has no count or next link"
        return dumps({"d": results})
    body: dict[str, Any] = {"results": results}
    if count is not None:
        body["__count"] = str(count)
    if next_link is not None:
        body["__next"] = urljoin(root, next_link)
    return dumps({"d": body})


def service_json(model: Model) -> bytes:
    """``{"d": {"EntitySets": ["KeyValuePairs", ...]}}``."""
    return dumps({"d": {"EntitySets": [s.path for s in model.entity_sets]}})


def property_json(prop: Property, value: Any, *, version: int = 2) -> bytes:
    """``{"d": {"results": {"Value": "ZZ"}}}`` for ``Set('k')/Value``; in ``version`` 1,
    ``{"d": {"Value": "ZZ"}}``."""
    member = {prop.name: _value(prop, value)}
    return dumps({"d": member if version == 1 else {"results": member}})


def error_json(code: str, message: str) -> bytes:
    return dumps({"error": {"code": code, "message": {"lang": "en-US", "value": message}}})


def _load(body: bytes | str) -> Any:
    return parse_json(body, "the request body", decimals=True, error=SchemaViolation)


def _unwrap(document: Any, names: Iterable[str]) -> dict[str, Any]:
    """The object itself, or the one inside ``{"d": {...}}``."""
    if not isinstance(document, dict):
        raise SchemaViolation("the request body must be a JSON object of properties")
    inner = document.get("d")
    if len(document) == 1 and isinstance(inner, dict) and "d" not in set(names):
        return inner
    return document


def parse_entity_json(body: bytes | str, entity_type: EntityType) -> dict[str, Any]:
    """The property values of a JSON entity (POST, PUT, MERGE), native and checked, by
    name. ``__metadata`` and server-set properties are skipped; unknown ones are an
    error."""
    members = _unwrap(_load(body), (p.name for p in entity_type.properties))
    values: dict[str, Any] = {}
    for name, raw in members.items():
        if name == "__metadata":
            continue
        if name not in entity_type:
            known = ", ".join(p.name for p in entity_type.properties)
            raise SchemaViolation(
                f"{entity_type.qualified_name} has no property {name!r} (it has {known})"
            )
        prop = entity_type[name]
        if not ignored_on_write(prop, null=raw is None):
            values[name] = from_json(prop, raw)
    return values


def parse_property_json(body: bytes | str, prop: Property) -> Any:
    """The value of ``{"Name": value}`` (or ``{"d": {...}}``, ``{"d": {"results":
    {...}}}``, the shapes a GET answers) for a PUT of one property."""
    members = _unwrap(_load(body), (prop.name,))
    inner = members.get("results")
    if len(members) == 1 and isinstance(inner, dict) and prop.name != "results":
        members = inner
    if set(members) != {prop.name}:
        raise SchemaViolation(f'expected {{"{prop.name}": value}}, got members {sorted(members)}')
    return from_json(prop, members[prop.name])
