"""The Atom and AtomPub documents of OData 2, shaped as Pyslet's server writes them.

Pyslet's client reads only some of each document (``reference/pyslet-odata.md`` and the
wire notes): the service document's ``xml:base`` and each collection's ``href`` and
Atom ``title``; a feed's entries and ``<link rel="next">``; an entry's ``m:properties``,
matched by name and parsed by the type the *model* gives (``m:type`` is ignored). The
rest follows Atom (RFC 4287) and WCF Data Services, so browsers and other clients are
served too: every entry has an id, a title, an author, an ``updated`` time (the
commit's), an edit link, its type as a category, and its version as ``m:etag``.

Every document takes ``service_root``, the absolute URL of the service ending in ``/``,
in the host spelling the client used: Pyslet's client drops a feed whose resolved URL
differs from the one ``$metadata`` gives, even for ``localhost`` against ``127.0.0.1``.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from typing import Any

from revkv.errors import SchemaViolation
from revkv.http._odata.entities import Entity, ignored_on_write
from revkv.http._odata.literals import from_text, to_text
from revkv.http._odata.schema import EntitySet, EntityType, Model, Property
from revkv.http._odata.urls import entity_path
from revkv.http._odata.values import iso_datetime
from revkv.http._odata.xmlns import (
    APP,
    ATOM,
    DATA,
    METADATA,
    SCHEME,
    XML,
    XML_INVALID,
    XmlError,
    parse_xml,
    q,
    serialize,
)
from revkv.query import EdmType

__all__ = [
    "entry_xml",
    "error_xml",
    "feed_xml",
    "parse_entry",
    "parse_property",
    "property_xml",
    "service_xml",
]

_ATOM_PREFIXES = {ATOM: "", DATA: "d", METADATA: "m"}
_NULL = q(METADATA, "null")
_TYPE = q(METADATA, "type")


def _root(service_root: str) -> str:
    return service_root if service_root.endswith("/") else service_root + "/"


def _time(seconds: float | None) -> str:
    moment = dt.datetime.fromtimestamp(seconds or 0.0, dt.UTC)
    return iso_datetime(moment, 3)


def service_xml(model: Model, service_root: str) -> bytes:
    """The AtomPub service document: one collection per entity set, titled and addressed
    by its path (the bare name in the default container), the way Pyslet's client
    matches collections to the sets of ``$metadata``."""
    service = ET.Element(q(APP, "service"), {q(XML, "base"): _root(service_root)})
    workspace = ET.SubElement(service, q(APP, "workspace"))
    ET.SubElement(workspace, q(ATOM, "title"), {"type": "text"}).text = "Default"
    for entity_set in model.entity_sets:
        collection = ET.SubElement(workspace, q(APP, "collection"), {"href": entity_set.path})
        ET.SubElement(collection, q(ATOM, "title"), {"type": "text"}).text = entity_set.path
    ET.indent(service, "\t")
    return serialize(service, {APP: "", ATOM: "atom"})


def _properties(
    parent: ET.Element, entity: Entity, select: Sequence[str] | None, hex_binary: bool
) -> None:
    properties = ET.SubElement(parent, q(METADATA, "properties"))
    for prop in entity.entity_type.properties:
        if select is None or prop.name in select:
            value = entity.values.get(prop.name)
            properties.append(_property_element(prop, value, hex_binary))


def _property_element(prop: Property, value: Any, hex_binary: bool) -> ET.Element:
    """``<d:Name>text</d:Name>``, with ``m:type`` for all but strings (as WCF writes; Pyslet
    ignores it) and ``m:null="true"`` for null."""
    element = ET.Element(q(DATA, prop.name))
    if prop.type is not EdmType.STRING:
        element.set(_TYPE, prop.type.value)
    text = to_text(prop, value, hex_binary=hex_binary)
    if text is None:
        element.set(_NULL, "true")
    else:
        element.text = text
    return element


def _entry(entity: Entity, root: str, select: Sequence[str] | None, hex_binary: bool) -> ET.Element:
    entity_type = entity.entity_type
    path = entity_path(entity.entity_set, entity.key)
    entry = ET.Element(q(ATOM, "entry"))
    if entity.etag is not None:
        entry.set(q(METADATA, "etag"), entity.etag)
    ET.SubElement(entry, q(ATOM, "id")).text = root + path
    ET.SubElement(entry, q(ATOM, "title"), {"type": "text"})
    ET.SubElement(entry, q(ATOM, "updated")).text = _time(entity.updated)
    author = ET.SubElement(entry, q(ATOM, "author"))
    ET.SubElement(author, q(ATOM, "name")).text = entity.author or None
    ET.SubElement(entry, q(ATOM, "link"), {"rel": "edit", "title": entity_type.name, "href": path})
    ET.SubElement(
        entry, q(ATOM, "category"), {"term": entity_type.qualified_name, "scheme": SCHEME}
    )
    content = ET.SubElement(entry, q(ATOM, "content"), {"type": "application/xml"})
    _properties(content, entity, select, hex_binary)
    return entry


def entry_xml(
    entity: Entity,
    service_root: str,
    *,
    select: Sequence[str] | None = None,
    hex_binary: bool = False,
) -> bytes:
    """An ``<entry>`` document (GET of an entity, and the body of a 201 after POST).
    ``select`` limits the properties (``$select``); the key is not added, as in Pyslet.
    ``hex_binary`` writes Edm.Binary as hex, for Pyslet's client (``literals.to_text``)."""
    root = _root(service_root)
    entry = _entry(entity, root, select, hex_binary)
    entry.set(q(XML, "base"), root)
    return serialize(entry, _ATOM_PREFIXES)


def feed_xml(
    entity_set: EntitySet,
    entities: Iterable[Entity],
    service_root: str,
    *,
    updated: float,
    count: int | None = None,
    next_link: str | None = None,
    select: Sequence[str] | None = None,
    hex_binary: bool = False,
) -> bytes:
    """A ``<feed>`` of entries: ``count`` is ``<m:count>`` (``$inlinecount=allpages``),
    ``next_link`` the href of ``<link rel="next">`` (relative to the service root or
    absolute), and ``updated`` the time of the request."""
    root = _root(service_root)
    feed = ET.Element(q(ATOM, "feed"), {q(XML, "base"): root})
    ET.SubElement(feed, q(ATOM, "id")).text = root + entity_set.path
    ET.SubElement(feed, q(ATOM, "title"), {"type": "text"}).text = entity_set.title
    ET.SubElement(feed, q(ATOM, "updated")).text = _time(updated)
    ET.SubElement(
        feed, q(ATOM, "link"), {"rel": "self", "title": entity_set.name, "href": entity_set.path}
    )
    if count is not None:
        ET.SubElement(feed, q(METADATA, "count")).text = str(count)
    for entity in entities:
        feed.append(_entry(entity, root, select, hex_binary))
    if next_link is not None:
        ET.SubElement(feed, q(ATOM, "link"), {"rel": "next", "href": next_link})
    return serialize(feed, _ATOM_PREFIXES)


def property_xml(prop: Property, value: Any, *, hex_binary: bool = False) -> bytes:
    """A single property (GET ``Set('k')/Prop``): ``<d:Value xmlns:d=...>ZZ</d:Value>``."""
    element = _property_element(prop, value, hex_binary)
    return serialize(element, {DATA: "d", METADATA: "m"})


def error_xml(code: str, message: str) -> bytes:
    """An OData error body. Pyslet's client raises ``"<code>: <message>"`` from it; a
    non-XML error body would make it raise an XML parse error instead. A message that
    quotes the client's input may hold characters XML cannot carry: they are written as
    ``\\uXXXX``, so the error is still answered (not a 500)."""
    message = XML_INVALID.sub(lambda bad: f"\\u{ord(bad.group()):04x}", message)
    error = ET.Element(q(METADATA, "error"))
    ET.SubElement(error, q(METADATA, "code")).text = code
    ET.SubElement(error, q(METADATA, "message"), {q(XML, "lang"): "en-US"}).text = message
    return serialize(error, {METADATA: ""})


def _parse(body: bytes | str, what: str) -> ET.Element:
    try:
        return parse_xml(body)
    except XmlError as error:
        raise SchemaViolation(f"the request body is not a usable {what}: {error}") from None


def _is_null(element: ET.Element) -> bool:
    return element.get(_NULL, "").lower() == "true"


def _value_of(element: ET.Element, prop: Property, hex_binary: bool) -> Any:
    if _is_null(element):
        return from_text(prop, None)
    if len(element):
        raise SchemaViolation(f"property {prop.name!r} holds elements; give it a plain value")
    return from_text(prop, element.text or "", hex_binary=hex_binary)


def parse_entry(
    body: bytes | str, entity_type: EntityType, *, hex_binary: bool = False
) -> dict[str, Any]:
    """The property values of an Atom entry (a POST, PUT or MERGE body), native and
    checked against their types and facets, by property name.

    Properties are read from ``content/m:properties`` (or ``m:properties`` directly in
    the entry, the media-link form), by local name in the ``d`` namespace; ``m:null``
    gives None, ``m:type`` is ignored as Pyslet's server does. Only the properties
    present are returned: MERGE sends a subset. Unknown or repeated ones are an error;
    server-set ones are skipped (``entities.ignored_on_write``)."""
    entry = _parse(body, "Atom entry")
    if entry.tag != q(ATOM, "entry"):
        raise SchemaViolation(f"the request body must be an Atom <entry>, not {entry.tag}")
    containers = [c for c in entry.findall(q(ATOM, "content")) if c.get("type", "") != "text"]
    found = [p for c in containers for p in c.findall(q(METADATA, "properties"))]
    found += entry.findall(q(METADATA, "properties"))
    if len(found) > 1:
        raise SchemaViolation("the entry has more than one m:properties element")
    values: dict[str, Any] = {}
    skipped: set[str] = set()
    for element in found[0] if found else ():
        namespace, _, name = element.tag[1:].partition("}")
        if namespace != DATA:
            continue
        if name not in entity_type:
            known = ", ".join(p.name for p in entity_type.properties)
            raise SchemaViolation(
                f"{entity_type.qualified_name} has no property {name!r} (it has {known})"
            )
        if name in values or name in skipped:
            raise SchemaViolation(f"property {name!r} is given twice")
        prop = entity_type[name]
        if ignored_on_write(prop, null=_is_null(element)):
            skipped.add(name)
        else:
            values[name] = _value_of(element, prop, hex_binary)
    return values


def parse_property(body: bytes | str, prop: Property, *, hex_binary: bool = False) -> Any:
    """The value of a single-property document (PUT ``Set('k')/Prop``)."""
    element = _parse(body, "property document")
    if element.tag != q(DATA, prop.name):
        raise SchemaViolation(f"expected a <d:{prop.name}> element, not {element.tag}")
    return _value_of(element, prop, hex_binary)
