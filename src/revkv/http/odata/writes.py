"""Writing entities: POST creates, PUT replaces, MERGE merges, DELETE tombstones.

Every write is one commit made with compare-and-set against the version the door read,
so two clients never overwrite each other unseen: a concurrent change between the read
and the write answers 409 (412 when the client sent ``If-Match``, which is checked
against the version read first). A POST whose key is live answers 409; a key that was
deleted or has expired is created again as its next version, with its history kept.

The expiry property is the commit's ``expires``; null or absent means the namespace's
default TTL (``DEFAULT``, which is "never" unless the namespace sets one). Author and
comment come from properties bound to them (the default entity type has both), else
from ``X-Revkv-Author``/``X-Revkv-Comment``, else the token's name and what was done.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from revkv.errors import Conflict, NotFound, SchemaViolation, VersionConflict
from revkv.http.odata.entities import (
    Entity,
    check_entity,
    entity_from_commit,
    version_of_etag,
    write_of,
)
from revkv.http.odata.literals import uri_literal
from revkv.http.odata.replies import EntityUnreadable, PreconditionFailed
from revkv.http.odata.schema import CommitField, EntitySet
from revkv.http.odata.values import key_from_text
from revkv.model import DEFAULT, Commit
from revkv.service import Service

__all__ = ["Writer", "check_if_match", "current_commit", "read_entity"]

_CREATE_ATTEMPTS = 3
_OF_COMMIT = frozenset({CommitField.AUTHOR, CommitField.COMMENT})
"""Properties that describe one commit: a merge does not carry them to the next."""


@dataclass(frozen=True, slots=True)
class Writer:
    """Who writes, and through which service. ``comment`` None means the door says what
    it did (``odata: create``, ...)."""

    service: Service
    author: str
    comment: str | None = None

    async def create(self, entity_set: EntitySet, values: Mapping[str, Any]) -> Entity:
        """A new entity (POST); Conflict when its key is live."""
        clean = check_entity(entity_set.entity_type, values, complete=True)
        write = write_of(entity_set.entity_type, clean)
        for _ in range(_CREATE_ATTEMPTS):
            version = self._next_if_absent(entity_set, write.key)
            try:
                commit = await self._commit(entity_set, clean, version, "create")
            except VersionConflict:
                continue  # written, deleted or expired meanwhile: look again
            return entity_from_commit(entity_set, commit)
        raise Conflict(f"key {write.key!r} of {entity_set.path} kept changing; try again")

    async def replace(
        self, entity_set: EntitySet, key: str, values: Mapping[str, Any], if_match: str | None
    ) -> Commit:
        """PUT: the entity becomes ``values`` (its key taken from the URL)."""
        current = current_commit(self.service, entity_set, key)
        check_if_match(if_match, current.version)
        fresh = _without_echoes(entity_set, values, current)
        clean = check_entity(entity_set.entity_type, fresh, complete=True)
        return await self._update(entity_set, clean, current.version, if_match, "replace")

    async def merge(
        self, entity_set: EntitySet, key: str, values: Mapping[str, Any], if_match: str | None
    ) -> Commit:
        """MERGE (and a PUT of one property): the old values, overwritten by ``values``."""
        current = current_commit(self.service, entity_set, key)
        check_if_match(if_match, current.version)
        entity_type = entity_set.entity_type
        old = _readable(entity_set, current)
        kept = {
            name: value
            for name, value in old.values.items()
            if not entity_type[name].read_only and entity_type[name].commit_field not in _OF_COMMIT
        }
        fresh = _without_echoes(entity_set, values, current)
        clean = check_entity(entity_type, {**kept, **fresh}, complete=True)
        return await self._update(entity_set, clean, current.version, if_match, "merge")

    async def delete(self, entity_set: EntitySet, key: str, if_match: str | None) -> None:
        current = current_commit(self.service, entity_set, key)
        check_if_match(if_match, current.version)
        try:
            await self.service.delete(
                entity_set.name,
                key,
                version=current.version + 1,
                author=self.author,
                comment=self.comment if self.comment is not None else "odata: delete",
            )
        except VersionConflict as error:
            raise _lost_race(error, if_match) from None

    def _next_if_absent(self, entity_set: EntitySet, key: str) -> int:
        """The version that creates ``key``: 1, or the one after its tombstone (an
        expiry not yet recorded counts as the tombstone it will be)."""
        try:
            head = self.service.head(entity_set.name, key)
        except NotFound:
            return 1
        if head.deleted:
            return head.version + 1
        if head.is_expired(time.time()):
            return head.version + 2
        raise Conflict(f"Duplicate key: {entity_set.path} already has the key {key!r}")

    async def _update(
        self,
        entity_set: EntitySet,
        clean: Mapping[str, Any],
        version: int,
        if_match: str | None,
        verb: str,
    ) -> Commit:
        try:
            return await self._commit(entity_set, clean, version + 1, verb)
        except VersionConflict as error:
            raise _lost_race(error, if_match) from None

    async def _commit(
        self, entity_set: EntitySet, clean: Mapping[str, Any], version: int, verb: str
    ) -> Commit:
        write = write_of(entity_set.entity_type, clean)
        comment = self.comment if self.comment is not None else f"odata: {verb}"
        return await self.service.put(
            entity_set.name,
            write.key,
            write.payload,
            version=version,
            author=write.author if write.author is not None else self.author,
            comment=write.comment if write.comment is not None else comment,
            expires=DEFAULT if write.expires is None else write.expires,
        )


def current_commit(service: Service, entity_set: EntitySet, key: str) -> Commit:
    """The live commit at ``key``, or NotFound naming the segment as OData does."""
    try:
        return service.get(entity_set.name, key)
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


def check_if_match(if_match: str | None, version: int) -> None:
    """412 unless ``If-Match`` is absent, ``*``, or lists the ETag of ``version``."""
    if if_match is None:
        return
    tags = [tag.strip() for tag in if_match.split(",")]
    if "*" in tags or version in {version_of_etag(tag) for tag in tags}:
        return
    raise PreconditionFailed(
        f'If-Match {if_match} does not match the entity\'s ETag W/"{version}"; '
        "read it again and retry"
    )


def _lost_race(error: VersionConflict, if_match: str | None) -> Exception:
    if if_match is not None:
        return PreconditionFailed(
            f"the entity changed while being written (it is now at version "
            f"{error.current_version}); read it again and retry"
        )
    return error
