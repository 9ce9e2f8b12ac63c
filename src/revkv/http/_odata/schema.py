"""The entity data model revkv serves over OData 2, as immutable values.

A model is what ``$metadata`` describes: schemas holding entity types, and entity
containers holding entity sets. revkv maps it onto its own words: an entity set is a
namespace, an entity is a key, and each property lives either in the key's JSON payload
or in an attribute of its latest commit (``Property.commit_field``). The key property is
always the revkv key; the *expiry* property, if any, is the commit's ``expires``, so the
TTL sweeper does what Pyslet's memcache sample did with a polling loop.

Only what revkv can serve is modelled: entity types with one key property and primitive
(``Edm.*``) properties. Loading a document that uses more (composite keys, complex
types, navigation) fails with ``InvalidSchema`` rather than serving half of it.

Models come from an EDMX document (``edmx.load_edmx``) or, for a namespace without a
declared schema, from ``default_entity_type``: Key, Value (the payload), Version, Author,
Comment, Mtime and Expires, all taken from the commit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from revkv._model import MAX_KEY_LENGTH
from revkv.errors import InvalidRequest
from revkv.query import EdmType

__all__ = [
    "DATETIME_TYPES",
    "REVKV_SCHEMA",
    "CommitField",
    "EntityContainer",
    "EntitySet",
    "EntityType",
    "InvalidSchema",
    "Model",
    "Property",
    "Schema",
    "check_identifier",
    "default_entity_type",
    "is_identifier",
    "service_model",
]

REVKV_SCHEMA = "revkv"
"""Schema namespace and container name of the entity sets revkv makes up itself."""

DATETIME_TYPES = frozenset({EdmType.DATETIME, EdmType.DATETIMEOFFSET})
"""The types an expiry property may have."""

_IDENTIFIER = re.compile(r"[^\W\d]\w{0,479}")


class InvalidSchema(InvalidRequest):
    """A schema document, or a model built in code, that revkv cannot serve."""


class CommitField(StrEnum):
    """The attribute of a commit a property is bound to (else it lives in the payload)."""

    KEY = "key"
    PAYLOAD = "payload"
    VERSION = "version"
    REV = "rev"
    AUTHOR = "author"
    COMMENT = "comment"
    MTIME = "mtime"
    EXPIRES = "expires"


WRITABLE_FIELDS = frozenset(
    {CommitField.KEY, CommitField.PAYLOAD, CommitField.EXPIRES}
    | {CommitField.AUTHOR, CommitField.COMMENT}
)
"""Fields a client may set by writing the property; the others are the server's."""


@dataclass(frozen=True, slots=True)
class Property:
    """One primitive property with its CSDL facets.

    ``max_length`` None means unbounded (CSDL ``Max`` or no facet). ``precision`` of a
    DateTime is the number of fraction digits written in Atom (Pyslet's client sends
    exactly that many back).
    """

    name: str
    type: EdmType
    nullable: bool = True
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None
    fixed_length: bool | None = None
    unicode: bool | None = None
    commit_field: CommitField | None = None

    @property
    def read_only(self) -> bool:
        """Set by the server (version, mtime, ...): ignored when a client writes it."""
        return self.commit_field is not None and self.commit_field not in WRITABLE_FIELDS


@dataclass(frozen=True, slots=True)
class EntityType:
    """An entity type with exactly one key property; ``expiry`` names the property that
    is the commit's expiry time, if any."""

    namespace: str
    name: str
    key: str
    properties: tuple[Property, ...]
    expiry: str | None = None
    _by_name: Mapping[str, Property] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = {p.name: p for p in self.properties}
        if len(by_name) != len(self.properties):
            raise InvalidSchema(f"entity type {self.name!r} declares a property twice")
        if self.key not in by_name:
            raise InvalidSchema(f"key {self.key!r} of entity type {self.name!r} is not a property")
        if self.expiry is not None and self.expiry not in by_name:
            raise InvalidSchema(f"expiry {self.expiry!r} of {self.name!r} is not a property")
        object.__setattr__(self, "_by_name", by_name)

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}.{self.name}"

    @property
    def key_property(self) -> Property:
        return self._by_name[self.key]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __getitem__(self, name: str) -> Property:
        """The property called ``name``; KeyError if there is none."""
        return self._by_name[name]

    @property
    def payload_properties(self) -> tuple[Property, ...]:
        """The properties stored as members of the JSON payload, in declaration order."""
        return tuple(p for p in self.properties if p.commit_field is None)

    @property
    def stores_json(self) -> bool:
        """Whether the payload is a JSON object of properties (else it is one property)."""
        return all(p.commit_field is not CommitField.PAYLOAD for p in self.properties)


@dataclass(frozen=True, slots=True)
class EntitySet:
    """An entity set (a revkv namespace of the same name) and where the model puts it."""

    name: str
    entity_type: EntityType
    container: str
    schema: str
    in_default_container: bool = True

    @property
    def path(self) -> str:
        """Its URL segment and service-document title: the bare name in the default
        container, ``Container.Set`` in another (what Pyslet's client matches on)."""
        return self.name if self.in_default_container else f"{self.container}.{self.name}"

    @property
    def title(self) -> str:
        """The feed title Pyslet writes: ``Schema.Container.Set``."""
        return f"{self.schema}.{self.container}.{self.name}"


@dataclass(frozen=True, slots=True)
class EntityContainer:
    name: str
    is_default: bool
    entity_sets: tuple[EntitySet, ...]


@dataclass(frozen=True, slots=True)
class Schema:
    namespace: str
    entity_types: tuple[EntityType, ...]
    containers: tuple[EntityContainer, ...] = ()

    def __post_init__(self) -> None:
        names = [t.name for t in self.entity_types]
        for name in names:
            if names.count(name) > 1:
                raise InvalidSchema(f"entity type {name!r} is declared twice in {self.namespace!r}")


@dataclass(frozen=True, slots=True)
class Model:
    """Schemas, at most one default container, and every entity set by its path."""

    schemas: tuple[Schema, ...]
    _sets: Mapping[str, EntitySet] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        sets: dict[str, EntitySet] = {}
        namespaces = [s.namespace for s in self.schemas]
        for namespace in namespaces:
            if namespaces.count(namespace) > 1:
                raise InvalidSchema(f"schema {namespace!r} is declared twice")
        defaults = [c.name for s in self.schemas for c in s.containers if c.is_default]
        if len(defaults) > 1:
            raise InvalidSchema(f"more than one default entity container: {defaults}")
        for entity_set in (e for c in self.containers for e in c.entity_sets):
            if entity_set.path in sets:
                raise InvalidSchema(f"entity set {entity_set.path!r} is declared twice")
            sets[entity_set.path] = entity_set
        object.__setattr__(self, "_sets", sets)

    @property
    def containers(self) -> tuple[EntityContainer, ...]:
        return tuple(c for s in self.schemas for c in s.containers)

    @property
    def default_container(self) -> EntityContainer | None:
        return next((c for c in self.containers if c.is_default), None)

    @property
    def entity_sets(self) -> tuple[EntitySet, ...]:
        """Every entity set, those of the default container first."""
        return tuple(sorted(self._sets.values(), key=lambda s: not s.in_default_container))

    def entity_set(self, path: str) -> EntitySet:
        """The set addressed by ``path`` (``Set`` or ``Container.Set``); KeyError if none."""
        return self._sets[path]

    def __contains__(self, path: object) -> bool:
        return path in self._sets


def check_identifier(name: str, what: str) -> str:
    """A CSDL SimpleIdentifier: a letter or ``_``, then letters, digits or ``_``."""
    if not _IDENTIFIER.fullmatch(name):
        raise InvalidSchema(
            f"{what} {name!r} is not a valid OData name: use a letter or '_' followed by "
            "letters, digits or '_' (no '.', '-' or spaces)"
        )
    return name


def default_entity_type(
    name: str, *, binary: bool = False, schema: str = REVKV_SCHEMA
) -> EntityType:
    """The entity type of a namespace that declares no schema: the commit itself.

    ``Value`` is the payload, as text or (``binary``) as bytes; every other property is
    commit metadata, and only Key, Value, Expires, Author and Comment can be written.
    """
    check_identifier(name, "entity type name")
    value_type = EdmType.BINARY if binary else EdmType.STRING
    return EntityType(
        namespace=schema,
        name=name,
        key="Key",
        expiry="Expires",
        properties=(
            _bound("Key", EdmType.STRING, CommitField.KEY, max_length=MAX_KEY_LENGTH),
            _bound("Value", value_type, CommitField.PAYLOAD),
            _bound("Version", EdmType.INT64, CommitField.VERSION),
            _bound("Author", EdmType.STRING, CommitField.AUTHOR),
            _bound("Comment", EdmType.STRING, CommitField.COMMENT),
            _bound("Mtime", EdmType.DATETIME, CommitField.MTIME, precision=3),
            _bound("Expires", EdmType.DATETIME, CommitField.EXPIRES, precision=3, nullable=True),
        ),
    )


def _bound(
    name: str,
    edm: EdmType,
    commit_field: CommitField,
    *,
    nullable: bool = False,
    max_length: int | None = None,
    precision: int | None = None,
) -> Property:
    return Property(
        name,
        edm,
        nullable=nullable,
        max_length=max_length,
        precision=precision,
        commit_field=commit_field,
    )


def is_identifier(name: str) -> bool:
    """Whether ``name`` can name an entity set (a revkv namespace may hold '.' or '-')."""
    return _IDENTIFIER.fullmatch(name) is not None


def service_model(
    declared: Model | None, default_sets: Mapping[str, bool] | Iterable[str]
) -> Model:
    """The model of the whole service: the declared one plus a default-typed entity set
    for each namespace in ``default_sets`` (name to "is binary", or just names).

    The new sets join the default container, so Pyslet's client finds them by their bare
    name; their types live in the schema ``revkv``. Without a declared model, that schema
    also holds the container (``revkv``). Names that are not OData identifiers (revkv
    allows ``.`` and ``-`` in namespace names) are left out: check with ``is_identifier``.
    """
    given = (
        default_sets if isinstance(default_sets, Mapping) else dict.fromkeys(default_sets, False)
    )
    binary = {name: flag for name, flag in given.items() if is_identifier(name)}
    if not binary:
        if declared is None:
            return Model((Schema(REVKV_SCHEMA, (), ()),))
        return declared
    schemas = list(declared.schemas) if declared is not None else []
    if any(s.namespace == REVKV_SCHEMA for s in schemas):
        raise InvalidSchema(f"the schema namespace {REVKV_SCHEMA!r} is reserved for revkv")
    types = tuple(default_entity_type(n, binary=b) for n, b in sorted(binary.items()))
    default = declared.default_container if declared is not None else None
    if default is None:
        sets = tuple(EntitySet(t.name, t, REVKV_SCHEMA, REVKV_SCHEMA) for t in types)
        container = EntityContainer(REVKV_SCHEMA, True, sets)
        return Model((*schemas, Schema(REVKV_SCHEMA, types, (container,))))
    owner = next(s for s in schemas if default in s.containers)
    sets = tuple(EntitySet(t.name, t, default.name, owner.namespace) for t in types)
    grown = EntityContainer(default.name, True, default.entity_sets + sets)
    replaced = Schema(
        owner.namespace,
        owner.entity_types,
        tuple(grown if c is default else c for c in owner.containers),
    )
    schemas = [replaced if s is owner else s for s in schemas]
    return Model((*schemas, Schema(REVKV_SCHEMA, types)))
