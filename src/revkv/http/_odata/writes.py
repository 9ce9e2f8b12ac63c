"""Writing entities: POST creates, PUT replaces, MERGE merges, DELETE tombstones.

Every write is one commit made through the Service with one condition: the version the
client names in ``If-Match`` (412 when it no longer holds), else the version the door
read, so two clients never overwrite each other unseen (409 on a concurrent change). A
POST expects the key absent (409 when it is live); a key that was deleted or has
expired is created again as its next version, with its history kept.

The expiry property is the commit's ``expires``; null or absent means the namespace's
default TTL (``DEFAULT``, which is "never" unless the namespace sets one). Author and
comment come from properties bound to them (the default entity type has both), else
from ``X-Revkv-Author``/``X-Revkv-Comment``, else the token's name and what was done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from revkv._auth import Principal
from revkv._model import DEFAULT, Commit
from revkv._service import Service
from revkv.errors import Conflict, NotFound, SchemaViolation, VersionConflict
from revkv.http._conditions import Preconditions, WriteCondition, if_match
from revkv.http._odata.entities import (
    Entity,
    check_entity,
    entity_from_commit,
    write_of,
)
from revkv.http._odata.literals import uri_literal
from revkv.http._odata.replies import EntityUnreadable
from revkv.http._odata.schema import CommitField, EntitySet
from revkv.http._odata.values import key_from_text

__all__ = ["Writer", "acurrent_commit", "current_commit", "read_entity"]

ETAG = 'W/"{}"'
"""How the door writes a version as an ETag (weak: the entity's representation varies)."""

_OF_COMMIT = frozenset({CommitField.AUTHOR, CommitField.COMMENT})
"""Properties that describe one commit: a merge does not carry them to the next."""


@dataclass(frozen=True, slots=True)
class Writer:
    """Who writes, and through which service. ``author`` None means the token's name;
    ``comment`` None means the door says what it did (``odata: create``, ...)."""

    service: Service
    principal: Principal
    author: str | None = None
    comment: str | None = None

    async def create(self, entity_set: EntitySet, values: Mapping[str, Any]) -> Entity:
        """A new entity (POST); Conflict when its key is live."""
        clean = check_entity(entity_set.entity_type, values, complete=True)
        write = write_of(entity_set.entity_type, clean)
        try:
            commit = await self._commit(entity_set, clean, WriteCondition("absent"), "create")
        except VersionConflict:
            raise Conflict(
                f"Duplicate key: {entity_set.path} already has the key {write.key!r}"
            ) from None
        return entity_from_commit(entity_set, commit)

    async def replace(
        self, entity_set: EntitySet, key: str, values: Mapping[str, Any], raw_if_match: str | None
    ) -> Commit:
        """PUT: the entity becomes ``values`` (its key taken from the URL)."""
        current = await acurrent_commit(self.service, entity_set, key)
        condition = _condition(raw_if_match, current)
        fresh = _without_echoes(entity_set, values, current)
        clean = check_entity(entity_set.entity_type, fresh, complete=True)
        return await self._commit(entity_set, clean, condition, "replace")

    async def merge(
        self, entity_set: EntitySet, key: str, values: Mapping[str, Any], raw_if_match: str | None
    ) -> Commit:
        """MERGE (and a PUT of one property): the old values, overwritten by ``values``."""
        current = await acurrent_commit(self.service, entity_set, key)
        condition = _condition(raw_if_match, current)
        entity_type = entity_set.entity_type
        old = _readable(entity_set, current)
        kept = {
            name: value
            for name, value in old.values.items()
            if not entity_type[name].read_only and entity_type[name].commit_field not in _OF_COMMIT
        }
        fresh = _without_echoes(entity_set, values, current)
        clean = check_entity(entity_type, {**kept, **fresh}, complete=True)
        return await self._commit(entity_set, clean, condition, "merge")

    async def delete(self, entity_set: EntitySet, key: str, raw_if_match: str | None) -> None:
        current = await acurrent_commit(self.service, entity_set, key)
        condition = _condition(raw_if_match, current)
        with Preconditions(condition, ETAG):
            await self.service.adelete(
                entity_set.name,
                key,
                expect=condition.expect,
                author=self.author,
                comment=self.comment if self.comment is not None else "odata: delete",
                principal=self.principal,
            )

    async def _commit(
        self,
        entity_set: EntitySet,
        clean: Mapping[str, Any],
        condition: WriteCondition,
        verb: str,
    ) -> Commit:
        write = write_of(entity_set.entity_type, clean)
        comment = self.comment if self.comment is not None else f"odata: {verb}"
        with Preconditions(condition, ETAG):
            return await self.service.aput(
                entity_set.name,
                write.key,
                write.payload,
                expect=condition.expect,
                author=write.author if write.author is not None else self.author,
                comment=write.comment if write.comment is not None else comment,
                expires=DEFAULT if write.expires is None else write.expires,
                principal=self.principal,
            )


def _condition(raw_if_match: str | None, current: Commit) -> WriteCondition:
    """The client's ``If-Match`` version, or else the version the door just read (an
    ``If-Match: *`` too: the door's own read is what the write is based on)."""
    expected = if_match(raw_if_match)
    if isinstance(expected, int):
        return WriteCondition(expected, header=True)
    return WriteCondition(current.version, header=raw_if_match is not None)


def current_commit(service: Service, entity_set: EntitySet, key: str) -> Commit:
    """The live commit at ``key``, or NotFound naming the segment as OData does."""
    try:
        return service.get(entity_set.name, key)
    except NotFound:
        raise NotFound(f"Resource not found for segment {segment(entity_set, key)}") from None


async def acurrent_commit(service: Service, entity_set: EntitySet, key: str) -> Commit:
    """``current_commit`` for a write on the event loop: awaits a store whose reads wait
    on a database (``Service.aget``), so the read before a write blocks no other
    request."""
    try:
        return await service.aget(entity_set.name, key)
    except NotFound:
        raise NotFound(f"Resource not found for segment {segment(entity_set, key)}") from None


def read_entity(service: Service, entity_set: EntitySet, key: str) -> Entity:
    """The live entity at ``key``: NotFound naming the segment, EntityUnreadable (422)
    when its payload does not fit the entity type."""
    return _readable(entity_set, current_commit(service, entity_set, key))


def _without_echoes(
    entity_set: EntitySet, values: Mapping[str, Any], current: Commit
) -> dict[str, Any]:
    """``values`` without an author or comment equal to the current commit's: those
    describe a commit, and clients send back what they read (Pyslet's sends every
    property), so an equal value is an echo, not a wish to sign the new commit so."""
    echoes = {CommitField.AUTHOR: current.author, CommitField.COMMENT: current.comment}
    fresh = dict(values)
    for name, value in values.items():
        field = entity_set.entity_type[name].commit_field
        if field in echoes and echoes[field] == value:
            del fresh[name]
    return fresh


def segment(entity_set: EntitySet, key: str) -> str:
    """The path segment of the entity at revkv key ``key``, unescaped as a person reads
    it: ``KeyValuePairs('nope')``, ``People(42)``."""
    prop = entity_set.entity_type.key_property
    return f"{entity_set.path}({uri_literal(prop, key_from_text(prop, key))})"


def _readable(entity_set: EntitySet, commit: Commit) -> Entity:
    try:
        return entity_from_commit(entity_set, commit)
    except SchemaViolation as error:
        raise EntityUnreadable(
            f"{error.message}; replace it with PUT, or fix it through /kv"
        ) from None
