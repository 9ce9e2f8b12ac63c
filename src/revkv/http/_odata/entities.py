"""Entities from commits, and commits' parts from entities.

An entity is one key's latest commit seen through its entity type: properties bound to a
commit field (``schema.CommitField``) come from the commit's metadata, the others are
members of the payload's JSON object. ``Entity.values`` holds native values
(``values.py``), so it is also the record ``revkv.query.compile_filter`` evaluates.

Going the other way, ``check_entity`` cleans what a client sent (unknown names are
refused, server-set properties such as Version are dropped, missing required ones are
reported) and ``write_of`` turns the values into what the Service writes: the revkv key,
the payload, the expiry, and author and comment when the type exposes them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from revkv._model import DEFAULT, Commit, Default
from revkv.errors import SchemaViolation
from revkv.http._numbers import is_whole
from revkv.http._odata.schema import CommitField, EntitySet, EntityType, Property
from revkv.http._odata.values import check_value, from_stored, key_from_text, key_text, to_stored
from revkv.http._odata.xmlns import XML_INVALID

__all__ = [
    "Entity",
    "Write",
    "check_entity",
    "entity_from_commit",
    "etag",
    "ignored_on_write",
    "version_of_etag",
    "write_of",
]


@dataclass(frozen=True, slots=True)
class Entity:
    """An entity of ``entity_set``: native values by property name (in declaration
    order), and the commit metadata the Atom entry shows (``version`` for the ETag,
    ``updated`` for ``<updated>``)."""

    entity_set: EntitySet
    values: Mapping[str, Any]
    version: int | None = None
    updated: float | None = None
    author: str = ""

    @property
    def entity_type(self) -> EntityType:
        return self.entity_set.entity_type

    @property
    def key(self) -> Any:
        return self.values[self.entity_type.key]

    @property
    def etag(self) -> str | None:
        return None if self.version is None else etag(self.version)


@dataclass(frozen=True, slots=True)
class Write:
    """What to commit for an entity. ``expires`` is ``DEFAULT`` (the namespace's default
    TTL) when the type has no expiry property or the client did not give it; ``author``
    and ``comment`` are None unless the type binds a property to them and it was given."""

    key: str
    payload: bytes
    expires: float | Default | None = DEFAULT
    author: str | None = None
    comment: str | None = None


def etag(version: int) -> str:
    """The weak ETag of a version: ``W/"3"``."""
    return f'W/"{version}"'


def version_of_etag(tag: str) -> int | None:
    """The version an ETag of ``etag`` names (strong or weak), or None if it is not one."""
    tag = tag.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    if len(tag) < 3 or tag[0] != '"' or tag[-1] != '"' or not is_whole(tag[1:-1]):
        return None
    return int(tag[1:-1])


def entity_from_commit(entity_set: EntitySet, commit: Commit) -> Entity:
    """The entity a (live, not deleted) commit stores; SchemaViolation naming the key if
    its payload does not fit the entity type (or holds text XML cannot carry)."""
    entity_type = entity_set.entity_type
    members: Mapping[str, Any] = {}
    if entity_type.stores_json and entity_type.payload_properties:
        members = _json_object(entity_set, commit)
    values: dict[str, Any] = {}
    for prop in entity_type.properties:
        try:
            if prop.commit_field is None:
                value = from_stored(prop, members.get(prop.name))
            else:
                value = _field_value(prop, commit)
            if type(value) is str:
                _check_xml_text(prop, value)
            values[prop.name] = value
        except SchemaViolation as error:
            raise SchemaViolation(
                f"key {commit.key!r} of {entity_set.name!r} does not fit its entity type: {error}"
            ) from None
    return Entity(entity_set, values, commit.version, commit.mtime, commit.author)


def _check_xml_text(prop: Property, value: str) -> None:
    """Refuse text Atom cannot carry, as ``values.check_value`` does on write: data that
    reached the store another way (/kv) must not break a whole feed when it is written."""
    bad = XML_INVALID.search(value)
    if bad:
        raise SchemaViolation(
            f"property {prop.name!r}: the character U+{ord(bad.group()):04X} at position "
            f"{bad.start()} cannot be carried in Atom XML"
        )


def _json_object(entity_set: EntitySet, commit: Commit) -> Mapping[str, Any]:
    try:
        members = msgspec.json.decode(commit.payload) if commit.payload else {}
    except msgspec.DecodeError:
        members = None
    if not isinstance(members, dict):
        raise SchemaViolation(
            f"key {commit.key!r} of {entity_set.name!r} does not hold a JSON object, so it "
            f"cannot be read as a {entity_set.entity_type.qualified_name}"
        )
    return members


def _moment(seconds: float | None) -> dt.datetime | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.UTC)


def _field_value(prop: Property, commit: Commit) -> Any:
    match prop.commit_field:
        case CommitField.KEY:
            return key_from_text(prop, commit.key)
        case CommitField.PAYLOAD:
            return _payload_value(prop, commit.payload)
        case CommitField.VERSION:
            return commit.version
        case CommitField.REV:
            return commit.rev
        case CommitField.AUTHOR:
            return commit.author
        case CommitField.COMMENT:
            return commit.comment
        case CommitField.MTIME:
            return _moment(commit.mtime)
        case _:
            return _moment(commit.expires)


def _payload_value(prop: Property, payload: bytes) -> bytes | str:
    if prop.type.value == "Edm.Binary":
        return payload
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        raise SchemaViolation(
            f"property {prop.name!r}: the payload is not UTF-8 text; "
            "serve the namespace as binary (Edm.Binary) to read it"
        ) from None


_OPTIONAL_FIELDS = frozenset({CommitField.AUTHOR, CommitField.COMMENT})


def ignored_on_write(prop: Property, *, null: bool) -> bool:
    """Whether a property in a client's body is skipped before its value is even read:
    a server-set one (clients echo back what they read, and Pyslet's client sends every
    property, those it never set as ``m:null``), and a null author or comment."""
    return prop.read_only or (null and prop.commit_field in _OPTIONAL_FIELDS)


def check_entity(
    entity_type: EntityType, values: Mapping[str, Any], *, complete: bool
) -> dict[str, Any]:
    """The values a client sent, made fit to write.

    Unknown names are refused and each value is checked (``values.check_value``).
    Server-set properties (Version, Mtime, ...) are dropped, since clients echo back what
    they read. When ``complete`` (POST, PUT), every non-nullable property the client
    owns must be present; for MERGE only the given ones are checked."""
    unknown = [name for name in values if name not in entity_type]
    if unknown:
        known = ", ".join(p.name for p in entity_type.properties)
        raise SchemaViolation(
            f"{entity_type.qualified_name} has no property {unknown[0]!r} (it has {known})"
        )
    cleaned: dict[str, Any] = {}
    for prop in entity_type.properties:
        if prop.read_only:
            continue
        if prop.name in values:
            cleaned[prop.name] = check_value(prop, values[prop.name])
        elif complete and not prop.nullable and prop.commit_field not in _OPTIONAL_FIELDS:
            raise SchemaViolation(
                f"property {prop.name!r} ({prop.type.value}) is not nullable and was not given"
            )
    return cleaned


def write_of(entity_type: EntityType, values: Mapping[str, Any]) -> Write:
    """The commit parts of a whole entity's checked values (a MERGE merges first).

    Payload properties missing from ``values`` are stored as null."""
    key_prop = entity_type.key_property
    if values.get(key_prop.name) is None:
        raise SchemaViolation(f"the key property {key_prop.name!r} was not given")
    key = key_text(key_prop, values[key_prop.name])
    payload = b""
    expires: float | Default | None = DEFAULT
    author = comment = None
    for prop in entity_type.properties:
        if prop.name not in values:
            continue
        value = values[prop.name]
        match prop.commit_field:
            case CommitField.PAYLOAD:
                payload = value if isinstance(value, bytes) else str(value).encode("utf-8")
            case CommitField.EXPIRES:
                expires = None if value is None else value.timestamp()
            case CommitField.AUTHOR:
                author = value
            case CommitField.COMMENT:
                comment = value
            case _:
                pass
    if entity_type.stores_json:
        members = {p.name: to_stored(p, values.get(p.name)) for p in entity_type.payload_properties}
        payload = msgspec.json.encode(members)
    return Write(key, payload, expires, author, comment)
