"""The door's view of the store: which entity sets it serves, and their records.

The model served is the declared one (the EDMX file of ``Settings.odata_schema``) plus,
for every other namespace whose name is an OData identifier, an entity set of the
default entity type (``schema.service_model``). Namespaces come and go while the server
runs, so the model is rebuilt whenever the list of namespaces changes, and reused while
it does not.

A declared entity set is a namespace of the same name. The door creates the missing ones
on its first request (a mounted app sees no lifespan events), recording the entity type
in the namespace's ``schema`` setting and, for a type stored as a JSON object, refusing
other payloads with ``json_objects_only`` so that the /kv door cannot write what OData
could not read back.

``Records`` are the record views ``Service.select`` filters and sorts: an entity's native
property values, memoized per key and version. A payload that does not fit its entity
type (written through /kv, or before a schema change) has the record None: feeds skip
it with a warning in the log, once per version.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from revkv._auth import Principal
from revkv._config import Settings
from revkv._model import Commit, Namespace, check_namespace_name
from revkv._service import Service
from revkv.errors import NotFound, RevkvError, SchemaViolation
from revkv.http._odata.edmx import load_edmx, metadata_xml
from revkv.http._odata.entities import entity_from_commit
from revkv.http._odata.schema import (
    REVKV_SCHEMA,
    EntityContainer,
    EntitySet,
    InvalidSchema,
    Model,
    Schema,
    service_model,
)

__all__ = ["Catalog", "Record", "Records"]

log = logging.getLogger(__name__)

Record = Mapping[str, Any] | None
"""An entity's property values by name, or None when its payload does not fit its type."""

_TEXT_TYPES = ("text/", "application/json", "application/xml")


class Records:
    """The record views of one entity set's commits, memoized by key and rev.

    Instances are hashable by identity, which ``Service.select`` relies on for its own
    cache: one instance per entity set lives as long as the door."""

    __slots__ = ("_cache", "entity_set")

    def __init__(self, entity_set: EntitySet) -> None:
        self.entity_set = entity_set
        self._cache: dict[str, tuple[int, Record]] = {}

    def __call__(self, commit: Commit) -> Record:
        hit = self._cache.get(commit.key)
        if hit is not None and hit[0] == commit.rev:
            return hit[1]
        record: Record
        try:
            record = entity_from_commit(self.entity_set, commit).values
        except SchemaViolation as error:
            log.warning("OData skips version %d: %s", commit.version, error)
            record = None
        self._cache[commit.key] = (commit.rev, record)
        return record


class Catalog:
    """The declared model, the model of the moment, and the records of each entity set."""

    def __init__(self, declared: Model | None = None) -> None:
        if declared is not None:
            _check_declared(declared)
        self.declared = declared
        self._declared_sets = (
            frozenset(s.name for s in declared.entity_sets) if declared is not None else frozenset()
        )
        self._key: tuple[tuple[str, bool], ...] | None = None
        self._model = service_model(declared, ())
        self._metadata: bytes | None = None
        self._records: dict[EntitySet, Records] = {}
        self._ready = False
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Catalog:
        """The catalog of ``settings.odata_schema`` (no declared model without one);
        InvalidSchema naming the file when it cannot be read or served."""
        return cls(read_schema(settings.odata_schema) if settings.odata_schema else None)

    def model(self, service: Service) -> Model:
        """The model of the service as it is now."""
        defaults = tuple(
            (ns.name, _is_binary(ns))
            for ns in service.namespaces()
            if ns.name not in self._declared_sets
        )
        if defaults != self._key:
            self._model = service_model(self.declared, dict(defaults))
            self._key = defaults
            self._metadata = None
        return self._model

    def visible(self, service: Service, principal: Principal) -> Model:
        """``model(service)`` without the entity sets ``principal`` may not read."""
        model = self.model(service)
        if all(principal.may(s.name, False) for s in model.entity_sets):
            return model
        return Model(tuple(_visible_schema(s, principal) for s in model.schemas))

    def metadata(self, service: Service, principal: Principal) -> bytes:
        """The ``$metadata`` document of what ``principal`` may read (cached for the
        whole model, which is what every principal sees without tokens)."""
        model = self.model(service)
        visible = self.visible(service, principal)
        if visible is not model:
            return metadata_xml(visible)
        if self._metadata is None:
            self._metadata = metadata_xml(model)
        return self._metadata

    def records(self, entity_set: EntitySet) -> Records:
        """The one ``Records`` of an entity set (equal sets of two models share it)."""
        records = self._records.get(entity_set)
        if records is None:
            records = self._records[entity_set] = Records(entity_set)
        return records

    async def ensure_namespaces(self, service: Service) -> None:
        """Create the namespace of every declared entity set that has none (once)."""
        if self._ready or self.declared is None:
            return
        async with self._lock:
            if not self._ready:  # another request may have done it while this one waited
                for entity_set in self.declared.entity_sets:
                    await _ensure_namespace(service, entity_set)
                self._ready = True


def read_schema(path: Path) -> Model:
    """The model of the EDMX file at ``path``."""
    try:
        document = path.read_bytes()
    except OSError as error:
        raise InvalidSchema(f"cannot read the OData schema {path}: {error.strerror}") from None
    try:
        return load_edmx(document)
    except InvalidSchema as error:
        raise InvalidSchema(f"{path}: {error}") from None


def _check_declared(model: Model) -> None:
    if any(s.namespace == REVKV_SCHEMA for s in model.schemas):
        raise InvalidSchema(f"the schema namespace {REVKV_SCHEMA!r} is reserved for revkv")
    seen: set[str] = set()
    for entity_set in model.entity_sets:
        try:
            check_namespace_name(entity_set.name)
        except RevkvError as error:
            raise InvalidSchema(f"entity set {entity_set.path!r}: {error}") from None
        if entity_set.name in seen:
            raise InvalidSchema(
                f"two entity sets are named {entity_set.name!r}; each is a namespace, so "
                "names must differ across containers"
            )
        seen.add(entity_set.name)


def _visible_schema(schema: Schema, principal: Principal) -> Schema:
    containers = tuple(
        EntityContainer(
            c.name, c.is_default, tuple(e for e in c.entity_sets if principal.may(e.name, False))
        )
        for c in schema.containers
    )
    return Schema(schema.namespace, schema.entity_types, containers)


def _is_binary(namespace: Namespace) -> bool:
    """Whether a namespace's payloads are bytes (Edm.Binary) rather than text."""
    kind = namespace.content_type
    return kind is not None and not kind.startswith(_TEXT_TYPES)


async def _ensure_namespace(service: Service, entity_set: EntitySet) -> None:
    try:
        await service.aget_namespace(entity_set.name)
        return
    except NotFound:
        pass
    entity_type = entity_set.entity_type
    settings: dict[str, Any] = {"schema": {"odata_entity_type": entity_type.qualified_name}}
    if entity_type.stores_json and entity_type.payload_properties:
        settings.update(content_type="application/json", json_objects_only=True)
    try:
        await service.acreate_namespace(entity_set.name, True, **settings)
    except RevkvError as error:  # a read-only follower, say: writes will say why
        log.warning("cannot create namespace %r for OData: %s", entity_set.name, error)
