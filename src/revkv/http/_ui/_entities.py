"""OData entity sets on the page: a declared entity type's properties as typed columns
of its namespace, and typed inputs in its editor.

The types, the checks and the stored JSON form are the OData door's (`check_value`,
`to_stored`, `Records`): the page only turns form fields into native values, so what the
page writes is what an OData client could have written, and reads back alike.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request

from revkv._model import Commit
from revkv.errors import SchemaViolation
from revkv.http._odata.catalog import Catalog
from revkv.http._odata.schema import EntitySet, Property
from revkv.http._odata.values import (
    INTEGER_RANGES,
    check_value,
    iso_datetime,
    parse_iso_datetime,
    to_stored,
)
from revkv.query import EdmType

FLOATS = (EdmType.SINGLE, EdmType.DOUBLE)
MOMENTS = (EdmType.DATETIME, EdmType.DATETIMEOFFSET)


def entity_set_of(request: Request, namespace: str) -> EntitySet | None:
    """The declared entity set of `namespace` whose payload is a JSON object, if any."""
    state = request.app.state
    catalog: Catalog | None = getattr(state, "ui_catalog", None)
    if catalog is None:
        catalog = state.ui_catalog = Catalog.from_settings(state.settings)
    if catalog.declared is None:
        return None
    for entity_set in catalog.declared.entity_sets:
        if entity_set.name == namespace and entity_set.entity_type.stores_json:
            return entity_set
    return None


def record_of(request: Request, entity_set: EntitySet, commit: Commit) -> dict[str, Any] | None:
    """The entity's native property values (None: the payload does not fit the type)."""
    catalog: Catalog = request.app.state.ui_catalog
    record = catalog.records(entity_set)(commit)
    return None if record is None else dict(record)


def shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return iso_datetime(value)
    return str(value)


def input_type(prop: Property) -> str:
    if prop.type is EdmType.BOOLEAN:
        return "checkbox"
    if prop.type in INTEGER_RANGES or prop.type in FLOATS or prop.type is EdmType.DECIMAL:
        return "number"
    if prop.type in MOMENTS:
        return "datetime-local"
    return "text"


def input_value(prop: Property, value: Any) -> str:
    """The value as its input shows it (datetime-local takes no zone: UTC is meant)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    return shown(value)


def typed_payload(entity_set: EntitySet, form: FormData) -> bytes:
    """The JSON payload of the typed inputs, each checked as the OData door checks it."""
    stored: dict[str, Any] = {}
    for prop in entity_set.entity_type.payload_properties:
        field = f"p.{prop.name}"
        raw = form.get(field)
        text = raw if isinstance(raw, str) else ""
        if prop.type is EdmType.BOOLEAN:
            native: Any = field in form
        else:
            native = _native(prop, text)
        stored[prop.name] = to_stored(prop, check_value(prop, native))
    return json.dumps(stored, ensure_ascii=False).encode()


def _native(prop: Property, text: str) -> Any:
    if text.strip() == "" and prop.type is not EdmType.STRING:
        return None
    try:
        if prop.type in INTEGER_RANGES:
            return int(text)
        if prop.type in FLOATS:
            return float(text)
        if prop.type is EdmType.DECIMAL:
            return Decimal(text)
        if prop.type in MOMENTS:
            return parse_iso_datetime(text, utc=True)
        if prop.type is EdmType.GUID:
            return uuid.UUID(text)
    except (ValueError, InvalidOperation):
        raise SchemaViolation(
            f"property {prop.name!r} is {prop.type.value}: {text!r} is not one"
        ) from None
    return text
