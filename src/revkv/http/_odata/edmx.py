"""EDMX documents: reading a schema into a ``Model``, writing a model as ``$metadata``.

Pyslet starts from the metadata document, and so does revkv: a namespace's entity type
is declared in EDMX/CSDL (such as the seed's ``MemCacheSchema.xml``). What revkv cannot
serve is refused with an ``InvalidSchema`` naming the element, never skipped, so that
``$metadata`` never promises what the service will not do.

Which property is the entity's expiry (the commit's ``expires``): one named by the
caller's setting, else the one annotated ``revkv:Expiry="true"``, else a property named
``Expires`` of type Edm.DateTime or Edm.DateTimeOffset. ``revkv:Field="author"`` (or
``comment``, ``version``, ``rev``, ``mtime``, ``payload``) binds a property to another
commit attribute. ``metadata_xml`` writes these annotations back, so reading its output
gives the same model; clients ignore attributes in foreign namespaces.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from collections.abc import Mapping

from revkv.http._odata.schema import (
    DATETIME_TYPES,
    CommitField,
    EntityContainer,
    EntitySet,
    EntityType,
    InvalidSchema,
    Model,
    Property,
    Schema,
    check_identifier,
)
from revkv.http._odata.xmlns import (
    CSDL,
    CSDL_NAMESPACES,
    EDMX,
    METADATA,
    REVKV,
    XmlError,
    parse_xml,
    q,
    serialize,
)
from revkv.query import EdmType

__all__ = ["load_edmx", "metadata_xml"]

_EDM_TYPES = {t.value: t for t in EdmType}
_KEY_TYPES = frozenset(EdmType) - {EdmType.SINGLE, EdmType.DOUBLE}
_UNSUPPORTED = {
    "ComplexType": "complex types",
    "Association": "associations",
    "AssociationSet": "association sets",
    "NavigationProperty": "navigation properties",
    "FunctionImport": "service operations",
    "Function": "functions",
    "EnumType": "enumeration types",
    "Using": "schema references (Using)",
}


def _describe(element: ET.Element) -> str:
    name = element.get("Name") or element.get("Namespace")
    local = element.tag.rpartition("}")[2]
    return f"<{local} Name={name!r}>" if name else f"<{local}>"


def _fail(element: ET.Element, problem: str, context: str = "") -> InvalidSchema:
    where = _describe(element) + (f" in {context}" if context else "")
    return InvalidSchema(f"schema error at {where}: {problem}")


def _required(element: ET.Element, attribute: str, context: str) -> str:
    value = element.get(attribute)
    if not value:
        raise _fail(element, f"the attribute {attribute} is missing", context)
    return value


def _boolean(element: ET.Element, attribute: str, context: str) -> bool | None:
    value = element.get(attribute)
    if value is None:
        return None
    if value.lower() not in ("true", "false"):
        raise _fail(element, f"{attribute}={value!r} is not true or false", context)
    return value.lower() == "true"


def _integer(
    element: ET.Element, attribute: str, context: str, *, unbounded: bool = False
) -> int | None:
    value = element.get(attribute)
    if value is None or (unbounded and value.lower() == "max"):
        return None
    if not value.isdigit():
        raise _fail(element, f"{attribute}={value!r} is not a whole number", context)
    return int(value)


def _csdl_children(element: ET.Element, context: str) -> list[tuple[str, ET.Element]]:
    """(local name, child) of the CSDL children; unsupported constructs are refused and
    Documentation and foreign-namespace annotations skipped."""
    children = []
    for child in element:
        namespace, _, local = child.tag[1:].partition("}")
        if namespace not in CSDL_NAMESPACES or local == "Documentation":
            continue
        if local in _UNSUPPORTED:
            raise _fail(child, f"revkv does not support {_UNSUPPORTED[local]}", context)
        children.append((local, child))
    return children


def load_edmx(document: bytes | str, *, expiry: Mapping[str, str] | None = None) -> Model:
    """The model an EDMX document declares.

    ``expiry`` maps an entity type (qualified ``Schema.Type`` or bare) to the name of its
    expiry property, overriding annotations and the ``Expires`` convention."""
    try:
        root = parse_xml(document)
    except XmlError as error:
        raise InvalidSchema(f"the schema document is not usable: {error}") from None
    if root.tag != q(EDMX, "Edmx"):
        raise _fail(root, "the root element must be edmx:Edmx (namespace " + EDMX + ")")
    services = root.findall(q(EDMX, "DataServices"))
    if len(services) != 1:
        raise _fail(root, "expected exactly one edmx:DataServices element")
    elements = [s for s in services[0] if s.tag[1:].partition("}")[::2] in _schema_tags()]
    if not elements:
        raise _fail(services[0], "it declares no CSDL Schema")
    aliases: dict[str, str] = {}
    types: dict[str, EntityType] = {}
    for element in elements:
        namespace = _required(element, "Namespace", "edmx:DataServices")
        aliases[element.get("Alias") or namespace] = namespace
        for local, child in _csdl_children(element, _describe(element)):
            if local == "EntityType":
                entity_type = _entity_type(child, namespace, expiry or {})
                if entity_type.qualified_name in types:
                    raise _fail(child, "this entity type is declared twice", _describe(element))
                types[entity_type.qualified_name] = entity_type
    schemas = []
    for element in elements:
        namespace = element.get("Namespace", "")
        own_types = tuple(t for t in types.values() if t.namespace == namespace)
        containers = tuple(
            _container(child, namespace, types, aliases)
            for local, child in _csdl_children(element, _describe(element))
            if local == "EntityContainer"
        )
        schemas.append(Schema(namespace, own_types, containers))
    return Model(tuple(schemas))


def _schema_tags() -> set[tuple[str, str]]:
    return {(namespace, "Schema") for namespace in CSDL_NAMESPACES}


def _entity_type(element: ET.Element, namespace: str, expiry: Mapping[str, str]) -> EntityType:
    context = f"<Schema Namespace={namespace!r}>"
    name = check_identifier(_required(element, "Name", context), "entity type name")
    here = f"{_describe(element)} in {context}"
    if element.get("BaseType"):
        raise _fail(element, "revkv does not support inheritance (BaseType)", context)
    if _boolean(element, "Abstract", context):
        raise _fail(element, "revkv does not support abstract entity types", context)
    if _boolean(element, q(METADATA, "HasStream"), context):
        raise _fail(element, "revkv does not support media link entries (m:HasStream)", context)
    children = _csdl_children(element, context)
    refs = [ref for local, key in children if local == "Key" for ref in key]
    if len(refs) != 1:
        names = [ref.get("Name") for ref in refs]
        problem = "composite keys are not supported" if refs else "it has no Key"
        raise _fail(element, f"{problem} (found {names}); declare one key property", context)
    key = _required(refs[0], "Name", here)
    props = [_property(child, here) for local, child in children if local == "Property"]
    chosen = expiry.get(f"{namespace}.{name}", expiry.get(name))
    annotated = [p.name for p in props if p.commit_field is CommitField.EXPIRES]
    if chosen is None and len(annotated) > 1:
        raise _fail(element, f"more than one expiry property: {annotated}", context)
    if chosen is None and not annotated:
        chosen = next(
            (p.name for p in props if p.name == "Expires" and p.type in DATETIME_TYPES), None
        )
    chosen = chosen or (annotated[0] if annotated else None)
    props = [_bind(p, key, chosen, element, context) for p in props]
    if chosen is not None and chosen not in {p.name for p in props}:
        raise _fail(
            element, f"the expiry property {chosen!r} is not one of its properties", context
        )
    try:
        return EntityType(namespace, name, key, tuple(props), chosen)
    except InvalidSchema as error:
        raise _fail(element, str(error), context) from None


def _bind(
    prop: Property, key: str, expiry: str | None, element: ET.Element, context: str
) -> Property:
    """The property with its commit field: the key, the expiry, or its own annotation."""
    field: CommitField | None = prop.commit_field
    if field is CommitField.EXPIRES:
        field = None
    if prop.name == key:
        if field is not None or prop.name == expiry:
            raise _fail(
                element, f"the key {key!r} cannot also be bound to {field or 'expires'}", context
            )
        if prop.nullable or prop.type not in _KEY_TYPES:
            raise _fail(
                element, f"key property {key!r} must be non-nullable and not a float", context
            )
        field = CommitField.KEY
    elif prop.name == expiry:
        if prop.type not in DATETIME_TYPES:
            raise _fail(
                element, f"the expiry property {expiry!r} must be Edm.DateTime(Offset)", context
            )
        field = CommitField.EXPIRES
    return dataclasses.replace(prop, commit_field=field)


def _property(element: ET.Element, context: str) -> Property:
    name = check_identifier(_required(element, "Name", context), "property name")
    type_name = _required(element, "Type", context)
    if type_name not in _EDM_TYPES:
        raise _fail(element, f"type {type_name!r} is not a primitive Edm type", context)
    field: CommitField | None = None
    if _boolean(element, q(REVKV, "Expiry"), context):
        field = CommitField.EXPIRES
    bound = element.get(q(REVKV, "Field"))
    if bound is not None:
        if bound not in CommitField._value2member_map_ or bound == CommitField.KEY:
            fields = ", ".join(f.value for f in CommitField if f is not CommitField.KEY)
            raise _fail(element, f"revkv:Field={bound!r} is not one of {fields}", context)
        field = CommitField(bound)
    nullable = _boolean(element, "Nullable", context)
    return Property(
        name=name,
        type=_EDM_TYPES[type_name],
        nullable=True if nullable is None else nullable,
        max_length=_integer(element, "MaxLength", context, unbounded=True),
        precision=_integer(element, "Precision", context),
        scale=_integer(element, "Scale", context),
        fixed_length=_boolean(element, "FixedLength", context),
        unicode=_boolean(element, "Unicode", context),
        commit_field=field,
    )


def _container(
    element: ET.Element, namespace: str, types: Mapping[str, EntityType], aliases: Mapping[str, str]
) -> EntityContainer:
    context = f"<Schema Namespace={namespace!r}>"
    name = check_identifier(_required(element, "Name", context), "entity container name")
    is_default = bool(_boolean(element, q(METADATA, "IsDefaultEntityContainer"), context))
    here = f"{_describe(element)} in {context}"
    sets = []
    for local, child in _csdl_children(element, context):
        if local != "EntitySet":
            continue
        set_name = check_identifier(_required(child, "Name", here), "entity set name")
        type_name = _required(child, "EntityType", here)
        prefix, _, bare = type_name.rpartition(".")
        entity_type = types.get(f"{aliases.get(prefix, prefix)}.{bare}")
        if entity_type is None:
            raise _fail(child, f"its EntityType {type_name!r} is not declared", here)
        sets.append(EntitySet(set_name, entity_type, name, namespace, is_default))
    return EntityContainer(name, is_default, tuple(sets))


def metadata_xml(model: Model) -> bytes:
    """The ``$metadata`` document: EDMX 1.0, DataServiceVersion 2.0, CSDL 1.0."""
    root = ET.Element(q(EDMX, "Edmx"), {"Version": "1.0"})
    services = ET.SubElement(
        root, q(EDMX, "DataServices"), {q(METADATA, "DataServiceVersion"): "2.0"}
    )
    for schema in model.schemas:
        element = ET.SubElement(services, q(CSDL, "Schema"), {"Namespace": schema.namespace})
        for entity_type in schema.entity_types:
            _write_type(element, entity_type)
        for container in schema.containers:
            attributes = {"Name": container.name}
            if container.is_default:
                attributes[q(METADATA, "IsDefaultEntityContainer")] = "true"
            node = ET.SubElement(element, q(CSDL, "EntityContainer"), attributes)
            for entity_set in container.entity_sets:
                ET.SubElement(
                    node,
                    q(CSDL, "EntitySet"),
                    {"Name": entity_set.name, "EntityType": entity_set.entity_type.qualified_name},
                )
    ET.indent(root, "\t")
    return serialize(root, {EDMX: "edmx", METADATA: "m", CSDL: "", REVKV: "revkv"})


def _write_type(parent: ET.Element, entity_type: EntityType) -> None:
    element = ET.SubElement(parent, q(CSDL, "EntityType"), {"Name": entity_type.name})
    key = ET.SubElement(element, q(CSDL, "Key"))
    ET.SubElement(key, q(CSDL, "PropertyRef"), {"Name": entity_type.key})
    for prop in entity_type.properties:
        attributes = {"Name": prop.name, "Type": prop.type.value}
        attributes["Nullable"] = "true" if prop.nullable else "false"
        for attribute, value in (
            ("MaxLength", prop.max_length),
            ("Precision", prop.precision),
            ("Scale", prop.scale),
        ):
            if value is not None:
                attributes[attribute] = str(value)
        for attribute, flag in (("FixedLength", prop.fixed_length), ("Unicode", prop.unicode)):
            if flag is not None:
                attributes[attribute] = "true" if flag else "false"
        if prop.commit_field is CommitField.EXPIRES:
            attributes[q(REVKV, "Expiry")] = "true"
        elif prop.commit_field not in (None, CommitField.KEY):
            attributes[q(REVKV, "Field")] = str(prop.commit_field)
        ET.SubElement(element, q(CSDL, "Property"), attributes)
