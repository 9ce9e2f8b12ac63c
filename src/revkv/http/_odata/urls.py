"""OData 2 URLs: the resource path after the service root, and the system query options.

The caller percent-decodes the path once, as UTF-8 (Pyslet's client encodes a key
``ü€`` as ``('%C3%BC%E2%82%AC')`` and ``a/b`` as ``('a%2Fb')``), so a decoded key may
hold ``/``, ``(`` or ``)``: the parser reads quoted literals as units and splits on
``/`` only outside them. Literals are read by the ``$filter`` tokenizer, so a key is
written exactly as in a filter (``'it''s'``, ``25L``, ``guid'...'``).

Errors are ``InvalidRequest`` subclasses (HTTP 400 by the one error table): a
``PathError`` with the 0-based position in the path, a ``QueryOptionError`` naming the
option. ``$filter`` and ``$orderby`` are parsed by ``revkv.query``, whose
``QuerySyntaxError`` passes through unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, cast
from urllib.parse import quote

from revkv.errors import InvalidRequest, QuerySyntaxError
from revkv.http._numbers import is_whole
from revkv.http._odata.literals import uri_literal
from revkv.http._odata.schema import EntitySet, EntityType
from revkv.query import EdmType, Node, OrderBy, parse_filter, parse_orderby
from revkv.query._ast import LiteralValue
from revkv.query._lex import Kind, tokenize

__all__ = [
    "Format",
    "KeyPredicate",
    "PathError",
    "QueryOptionError",
    "QueryOptions",
    "Resource",
    "ResourceKind",
    "check_applicable",
    "check_select",
    "entity_path",
    "next_link",
    "parse_query_options",
    "parse_resource_path",
]

Format = Literal["atom", "json", "xml"]
_FORMATS: dict[str, Format] = {
    "atom": "atom",
    "json": "json",
    "xml": "xml",
    "application/atom+xml": "atom",
    "application/json": "json",
    "application/xml": "xml",
}
_NAME = re.compile(r"[^\W\d]\w*")
_SET_NAME = re.compile(r"[^\W\d]\w*(?:\.[^\W\d]\w*)?")
_URI_SAFE = "!*'()"
"""What Pyslet's client leaves unescaped in a path: RFC 2396 marks (``-_.~`` are
always safe)."""


class PathError(InvalidRequest):
    """The resource path is not one revkv serves; ``position`` is 0-based."""

    def __init__(self, message: str, path: str, position: int) -> None:
        super().__init__(f"{message} at position {position} of the path {path!r}")
        self.path = path
        self.position = position


class QueryOptionError(InvalidRequest):
    """A system query option is malformed, unknown, repeated or not supported."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")
        self.option = option


class ResourceKind(Enum):
    SERVICE = "service document"
    METADATA = "$metadata"
    BATCH = "$batch"
    COLLECTION = "entity set"
    COUNT = "$count"
    ENTITY = "entity"
    PROPERTY = "property"
    PROPERTY_VALUE = "property $value"
    MEDIA_VALUE = "entity $value"


@dataclass(frozen=True, slots=True)
class KeyPredicate:
    """A key as written in the URL: its literal value and type, and the property name
    when written ``Set(Key='k')``. ``literals.coerce_literal`` fits it to the key type."""

    value: LiteralValue
    edm_type: EdmType | None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Resource:
    """What a path addresses. ``key`` is set for a single entity (and for COUNT of one);
    ``property`` for PROPERTY and PROPERTY_VALUE."""

    kind: ResourceKind
    entity_set: str | None = None
    key: KeyPredicate | None = None
    property: str | None = None


_SINGLETONS = {
    "": ResourceKind.SERVICE,
    "$metadata": ResourceKind.METADATA,
    "$batch": ResourceKind.BATCH,
}


def parse_resource_path(path: str) -> Resource:
    """The resource of a percent-decoded path relative to the service root:
    ``''``, ``$metadata``, ``Set``, ``Set/$count``, ``Set('k')``, ``Set(25L)``,
    ``Set(Key='k')``, ``Set('k')/$value``, ``Set('k')/Prop`` or ``Set('k')/Prop/$value``.
    One trailing ``/`` is ignored."""
    text = path[:-1] if path.endswith("/") and len(path) > 1 else path
    if text in _SINGLETONS:
        return Resource(_SINGLETONS[text])
    match = _SET_NAME.match(text)
    if match is None:
        raise PathError("expected an entity set name", path, 0)
    name, pos = match.group(), match.end()
    key = None
    if text.startswith("(", pos):
        close = _closing_parenthesis(text, pos, path)
        key = _key_predicate(text[pos + 1 : close], pos + 1, path)
        pos = close + 1
    rest = text[pos:]
    if rest and not rest.startswith("/"):
        raise PathError(f"unexpected {rest[0]!r} after {text[:pos]!r}", path, pos)
    segments = rest.split("/")[1:] if rest else []
    return _with_segments(Resource(ResourceKind.COLLECTION, name, key), segments, path, pos)


def _closing_parenthesis(text: str, start: int, path: str) -> int:
    quoted = False
    for index in range(start + 1, len(text)):
        if text[index] == "'":
            quoted = not quoted
        elif text[index] == ")" and not quoted:
            return index
    problem = "unterminated string in the key" if quoted else "missing ')' after the key"
    raise PathError(problem, path, start)


def _split_outside_quotes(text: str, separator: str) -> list[tuple[str, int]]:
    """``text`` split at ``separator`` outside quotes, with the offset of each part."""
    parts, start, quoted = [], 0, False
    for index, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append((text[start:index], start))
            start = index + 1
    parts.append((text[start:], start))
    return parts


def _key_predicate(text: str, offset: int, path: str) -> KeyPredicate | None:
    if not text.strip():
        return None  # Set() is the collection
    items = _split_outside_quotes(text, ",")
    if len(items) > 1:
        raise PathError("composite keys are not supported; give one key value", path, offset)
    name = None
    literal, start = text, 0
    assignment = _split_outside_quotes(text, "=")
    if len(assignment) == 2:
        name = assignment[0][0].strip()
        if not _NAME.fullmatch(name):
            raise PathError(f"{name!r} is not a property name", path, offset)
        literal, start = assignment[1]
    elif len(assignment) > 2:
        raise PathError("unexpected '=' in the key", path, offset + assignment[2][1] - 1)
    try:
        tokens = tokenize(literal)
    except QuerySyntaxError as error:
        raise PathError(f"bad key: {error.message}", path, offset + start) from None
    if len(tokens) != 2 or tokens[0].kind is not Kind.LITERAL:
        raise PathError("the key must be one literal, such as 'text' or 42", path, offset + start)
    return KeyPredicate(tokens[0].value, tokens[0].edm_type, name)


def _with_segments(resource: Resource, segments: list[str], path: str, pos: int) -> Resource:
    name, key = resource.entity_set, resource.key
    if not segments:
        return Resource(ResourceKind.ENTITY if key else ResourceKind.COLLECTION, name, key)
    first = segments[0]
    if first == "$count":
        if len(segments) > 1:
            raise PathError("nothing may follow $count", path, pos + len(first) + 1)
        return Resource(ResourceKind.COUNT, name, key)
    if key is None:
        raise PathError(
            f"{first!r} needs a single entity: address one by its key, like {name}('key')/{first}",
            path,
            pos + 1,
        )
    if first == "$value" and len(segments) == 1:
        return Resource(ResourceKind.MEDIA_VALUE, name, key)
    if first == "$links" or not _NAME.fullmatch(first):
        raise PathError(f"{first!r} is not a property name", path, pos + 1)
    if len(segments) == 1:
        return Resource(ResourceKind.PROPERTY, name, key, first)
    if segments[1:] == ["$value"]:
        return Resource(ResourceKind.PROPERTY_VALUE, name, key, first)
    at = pos + len(first) + 2
    raise PathError(
        "only $value may follow a property (revkv has no complex or navigation properties)",
        path,
        at,
    )


def entity_path(entity_set: EntitySet, key: Any) -> str:
    """The path of an entity relative to the service root, percent-encoded as Pyslet's
    client writes it: ``KeyValuePairs('it''s')``, ``People(42)``, ``Things('a%2Fb')``."""
    literal = uri_literal(entity_set.entity_type.key_property, key)
    return f"{entity_set.path}({quote(literal, safe=_URI_SAFE)})"


@dataclass(frozen=True, slots=True)
class QueryOptions:
    """The system query options of a request. ``select`` None means every property.
    The ``*_text`` fields keep the option as sent, to repeat it in a next link."""

    filter: Node | None = None
    filter_text: str | None = None
    orderby: tuple[OrderBy, ...] = ()
    orderby_text: str | None = None
    top: int | None = None
    skip: int | None = None
    skiptoken: str | None = None
    inlinecount: bool = False
    select: tuple[str, ...] | None = None
    select_text: str | None = None
    format: Format | None = None
    custom: Mapping[str, str] = field(default_factory=dict)
    given: frozenset[str] = frozenset()
    """The names of the system options the request gave, checked by ``check_applicable``."""


_KNOWN = (
    "$filter",
    "$orderby",
    "$top",
    "$skip",
    "$skiptoken",
    "$inlinecount",
    "$select",
    "$format",
    "$expand",
)


def parse_query_options(params: Mapping[str, str] | Iterable[tuple[str, str]]) -> QueryOptions:
    """The options of a decoded query string (``request.query_params.multi_items()``).

    Options not starting with ``$`` are custom options, kept and otherwise ignored;
    an unknown or repeated system option is an error, as in Pyslet's server."""
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    system: dict[str, str] = {}
    custom: dict[str, str] = {}
    for name, value in pairs:
        if not name.startswith("$"):
            custom.setdefault(name, value)
        elif name not in _KNOWN:
            raise QueryOptionError(
                name, f"unknown system query option (known: {', '.join(_KNOWN)})"
            )
        elif name in system:
            raise QueryOptionError(name, "given more than once")
        else:
            system[name] = value
    if system.get("$expand", "").strip():
        raise QueryOptionError(
            "$expand", "is not supported: revkv entity types have no navigation properties"
        )
    filter_text = system.get("$filter")
    orderby_text = system.get("$orderby")
    select_text = system.get("$select")
    return QueryOptions(
        filter=parse_filter(filter_text) if filter_text is not None else None,
        filter_text=filter_text,
        orderby=tuple(parse_orderby(orderby_text)) if orderby_text is not None else (),
        orderby_text=orderby_text,
        top=_count(system, "$top"),
        skip=_count(system, "$skip"),
        skiptoken=system.get("$skiptoken"),
        inlinecount=_inlinecount(system.get("$inlinecount")),
        select=_select(select_text) if select_text is not None else None,
        select_text=select_text,
        format=_format(system.get("$format")),
        custom=custom,
        given=frozenset(system),
    )


_APPLICABLE: dict[ResourceKind, tuple[str, ...]] = {
    ResourceKind.SERVICE: ("$format",),
    ResourceKind.METADATA: (),
    ResourceKind.BATCH: (),
    ResourceKind.COLLECTION: _KNOWN,
    ResourceKind.COUNT: ("$filter", "$orderby", "$top", "$skip", "$expand"),
    ResourceKind.ENTITY: ("$filter", "$select", "$format", "$expand"),
    ResourceKind.PROPERTY: ("$format",),
    ResourceKind.PROPERTY_VALUE: ("$format",),
    ResourceKind.MEDIA_VALUE: ("$format",),
}
"""The system query options each kind of resource takes, as in OData 2 (MS-ODATA
2.2.3.6.1, the table Pyslet's server checks): paging, ordering and counting apply to
collections only, ``$select`` to entities, a property takes only ``$format``."""
_ONE_COUNT = ("$filter", "$expand")
"""``Set('k')/$count`` (0 or 1): only a ``$filter`` the entity may fail."""


def check_applicable(resource: Resource, options: QueryOptions) -> None:
    """QueryOptionError for a system option the resource does not take
    (``Set/$count?$inlinecount=allpages``, ``Set('k')?$top=1``, ``.../Value?$filter=``),
    rather than ignoring what the client asked for."""
    one_count = resource.kind is ResourceKind.COUNT and resource.key is not None
    allowed = _ONE_COUNT if one_count else _APPLICABLE[resource.kind]
    for name in _KNOWN:
        if name in options.given and name not in allowed:
            what = f"the {resource.kind.value}" + (" of one entity" if one_count else "")
            takes = ", ".join(allowed) if allowed else "no system query options"
            raise QueryOptionError(name, f"does not apply to {what}; it takes {takes}")


def _count(system: Mapping[str, str], option: str) -> int | None:
    text = system.get(option)
    if text is None:
        return None
    if not is_whole(text):
        raise QueryOptionError(
            option, f"{text[:40]!r} is not a whole number of 0 or more (at most 18 digits)"
        )
    return int(text)


def _inlinecount(text: str | None) -> bool:
    if text is None or text == "none":
        return False
    if text == "allpages":
        return True
    raise QueryOptionError("$inlinecount", f"{text!r} is not allpages or none")


def _select(text: str) -> tuple[str, ...] | None:
    names = [item.strip() for item in text.split(",")]
    for name in names:
        if name != "*" and not _NAME.fullmatch(name):
            problem = "an empty item" if not name else f"{name!r} is not a property name"
            raise QueryOptionError("$select", f"{problem} in {text!r}")
    return None if "*" in names else tuple(dict.fromkeys(names))


def _format(text: str | None) -> Format | None:
    if text is None:
        return None
    fmt = _FORMATS.get(text.strip().lower())
    if fmt is None:
        raise QueryOptionError("$format", f"{text!r} is not atom, json or xml")
    return fmt


def check_select(select: Sequence[str] | None, entity_type: EntityType) -> tuple[str, ...] | None:
    """``select`` checked against the entity type; QueryOptionError for unknown names."""
    if select is None:
        return None
    unknown = [name for name in select if name not in entity_type]
    if unknown:
        raise QueryOptionError(
            "$select", f"{entity_type.qualified_name} has no property {unknown[0]!r}"
        )
    return tuple(select)


def next_link(path: str, options: QueryOptions, skiptoken: str, *, top: int | None = None) -> str:
    """The ``rel="next"`` href of a page: ``path`` (relative to the service root) with the
    request's ``$filter``, ``$select``, ``$orderby``, ``$inlinecount`` and ``$format``
    repeated, and ``$skiptoken``. ``$skip`` is not repeated (the token says where the
    next page starts) and neither is ``$top``, as in Pyslet's server; pass ``top``, the
    number of entities the client still wants, to limit the pages that follow."""
    pairs = [
        ("$filter", options.filter_text),
        ("$select", options.select_text),
        ("$orderby", options.orderby_text),
        ("$inlinecount", "allpages" if options.inlinecount else None),
        ("$format", cast(str | None, options.format)),
        ("$top", None if top is None else str(top)),
        ("$skiptoken", skiptoken),
    ]
    query = "&".join(f"{name}={quote(value, safe=_URI_SAFE)}" for name, value in pairs if value)
    return f"{path}?{query}"
