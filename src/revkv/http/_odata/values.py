"""Property values as Python sees them, and as they are stored in a key's JSON payload.

Three forms of a value meet here:

- the *native* form, what the query engine's records hold and every other form converts
  through: str, bool, int, float, ``Decimal``, aware ``datetime`` (UTC for Edm.DateTime),
  ``timedelta`` (Edm.Time), ``UUID``, bytes, or None;
- the *stored* form, a JSON value in the payload. JSON has no dates, decimals or bytes,
  so those are strings: ``Decimal`` as plain digits (exact, unlike a JSON number), a
  DateTime as ISO 8601 UTC with milliseconds and a ``Z`` (as ``revkv._model.iso_time``
  writes times), a Guid as its canonical text, Binary as base64. A float that JSON cannot
  hold (NaN, infinities) is stored as its OData literal ``NaN``/``INF``/``-INF``;
- the *text* forms of the wire (Atom, verbose JSON, URL literals) are in ``literals.py``.

``check_value`` is the gate for writes: it accepts a native value only if it fits the
property's type and facets, and says which property and why when it does not. Reading
the stored form is lenient about facets (data may predate a schema change) but not
about types.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from revkv.errors import SchemaViolation
from revkv.http._odata.schema import Property
from revkv.http._odata.xmlns import XML_INVALID
from revkv.query import EdmType
from revkv.query import _literals as query_literals

__all__ = [
    "INTEGER_RANGES",
    "JsonValue",
    "check_value",
    "duration_text",
    "from_stored",
    "iso_datetime",
    "key_from_text",
    "key_text",
    "parse_iso_datetime",
    "to_stored",
]

JsonValue = str | int | float | bool | None

INTEGER_RANGES: dict[EdmType, tuple[int, int]] = {
    EdmType.BYTE: (0, 255),
    EdmType.SBYTE: (-128, 127),
    EdmType.INT16: (-(2**15), 2**15 - 1),
    EdmType.INT32: (-(2**31), 2**31 - 1),
    EdmType.INT64: (-(2**63), 2**63 - 1),
}
FLOAT_TYPES = frozenset({EdmType.SINGLE, EdmType.DOUBLE})
SINGLE_MAX = 3.4028234663852886e38
_SPECIAL_FLOATS = {"NaN": math.nan, "INF": math.inf, "-INF": -math.inf}


def _violation(prop: Property, problem: str) -> SchemaViolation:
    return SchemaViolation(f"property {prop.name!r} ({prop.type.value}): {problem}")


def _type_error(prop: Property, value: object) -> SchemaViolation:
    return _violation(prop, f"expected a {prop.type.value} value, got {type(value).__name__}")


def check_value(prop: Property, value: object) -> Any:
    """``value`` made canonical for ``prop`` (float from int, UTC datetime, ...), or a
    SchemaViolation naming the property: wrong type, null where not nullable, longer than
    MaxLength, out of range, or more digits than Precision and Scale allow."""
    if value is None:
        if not prop.nullable:
            raise _violation(prop, "is not nullable; give it a value")
        return None
    return _CHECKS[prop.type](prop, value)


def _check_string(prop: Property, value: object) -> str:
    if not isinstance(value, str):
        raise _type_error(prop, value)
    bad = XML_INVALID.search(value)
    if bad:
        raise _violation(
            prop,
            f"the character U+{ord(bad.group()):04X} at position {bad.start()} cannot be "
            "carried in Atom XML; store such data as Edm.Binary",
        )
    if prop.max_length is not None and len(value) > prop.max_length:
        raise _violation(
            prop, f"{len(value)} characters is longer than its MaxLength of {prop.max_length}"
        )
    return value


def _check_binary(prop: Property, value: object) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise _type_error(prop, value)
    data = bytes(value)
    if prop.max_length is not None and len(data) > prop.max_length:
        raise _violation(
            prop, f"{len(data)} bytes is longer than its MaxLength of {prop.max_length}"
        )
    return data


def _check_boolean(prop: Property, value: object) -> bool:
    if not isinstance(value, bool):
        raise _type_error(prop, value)
    return value


def _check_integer(prop: Property, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _type_error(prop, value)
    low, high = INTEGER_RANGES[prop.type]
    if not low <= value <= high:
        raise _violation(prop, f"{value} is out of range ({low} to {high})")
    return int(value)


def _check_float(prop: Property, value: object) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise _type_error(prop, value)
    number = float(value)
    if prop.type is EdmType.SINGLE and math.isfinite(number) and abs(number) > SINGLE_MAX:
        raise _violation(prop, f"{number} is out of range for a single-precision float")
    return number


def _check_decimal(prop: Property, value: object) -> Decimal:
    if not isinstance(value, (int, Decimal)) or isinstance(value, bool):
        raise _type_error(prop, value)
    number = Decimal(value)
    if not number.is_finite():
        raise _violation(prop, f"{number} is not a finite decimal")
    _, digits, exponent = number.normalize().as_tuple()
    assert isinstance(exponent, int)  # finite
    scale = max(0, -exponent)
    whole = max(0, len(digits) + exponent)
    if prop.scale is not None and scale > prop.scale:
        raise _violation(prop, f"{number} has {scale} decimal places; its Scale is {prop.scale}")
    if prop.precision is not None and whole > prop.precision - (prop.scale or 0):
        raise _violation(
            prop,
            f"{number} has {whole} digits before the point; its Precision of "
            f"{prop.precision} and Scale of {prop.scale or 0} allow "
            f"{prop.precision - (prop.scale or 0)}",
        )
    if prop.precision is not None and whole + scale > prop.precision:
        raise _violation(prop, f"{number} has more than its Precision of {prop.precision} digits")
    return number


def _check_datetime(prop: Property, value: object) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise _type_error(prop, value)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC) if prop.type is EdmType.DATETIME else value


def _check_time(prop: Property, value: object) -> dt.timedelta:
    if not isinstance(value, dt.timedelta):
        raise _type_error(prop, value)
    return value


def _check_guid(prop: Property, value: object) -> uuid.UUID:
    if not isinstance(value, uuid.UUID):
        raise _type_error(prop, value)
    return value


_CHECKS: dict[EdmType, Callable[[Property, object], Any]] = {
    EdmType.STRING: _check_string,
    EdmType.BINARY: _check_binary,
    EdmType.BOOLEAN: _check_boolean,
    **dict.fromkeys(INTEGER_RANGES, _check_integer),
    **dict.fromkeys(FLOAT_TYPES, _check_float),
    EdmType.DECIMAL: _check_decimal,
    EdmType.DATETIME: _check_datetime,
    EdmType.DATETIMEOFFSET: _check_datetime,
    EdmType.TIME: _check_time,
    EdmType.GUID: _check_guid,
}


def iso_datetime(value: dt.datetime, digits: int | None = None, *, zone: bool = True) -> str:
    """ISO 8601 with ``digits`` fraction digits (None: milliseconds, or microseconds when
    the value has them); ``zone`` appends ``Z`` or the offset, else the text is naive."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    if digits is None:
        digits = 3 if value.microsecond % 1000 == 0 else 6
    text = (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )
    if digits > 0:
        text += "." + f"{value.microsecond:06d}0"[:digits]
    if not zone:
        return text
    offset = value.utcoffset() or dt.timedelta(0)
    if not offset:
        return text + "Z"
    sign = "-" if offset < dt.timedelta(0) else "+"
    minutes = abs(offset) // dt.timedelta(minutes=1)
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def parse_iso_datetime(text: str, *, utc: bool) -> dt.datetime:
    """An ISO 8601 date-time with optional ``Z`` or offset (none means UTC), aware;
    converted to UTC when ``utc``. ValueError if it is not one."""
    text = text.strip()
    zone = ""
    if text[-1:] in ("Z", "z"):
        text, zone = text[:-1], "Z"
    elif len(text) > 6 and text[-6] in "+-" and text[-3] == ":":
        text, zone = text[:-6], text[-6:]
    value = (
        query_literals.decode_datetimeoffset(text + zone)
        if zone
        else query_literals.decode_datetime(text)
    )
    return value.astimezone(dt.UTC) if utc else value


def duration_text(value: dt.timedelta, digits: int | None = None) -> str:
    """Edm.Time as text: a time of day ``HH:MM:SS[.fff]`` (the form Pyslet reads and
    writes) when 0 <= value < 24h, else an ISO 8601 duration ``-P1DT2H3M4.5S``."""
    micros = value // dt.timedelta(microseconds=1)
    if 0 <= micros < 86_400_000_000:
        seconds, micro = divmod(micros, 1_000_000)
        text = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        if digits is None:
            digits = 0 if micro == 0 else (3 if micro % 1000 == 0 else 6)
        return text + ("." + f"{micro:06d}0"[:digits] if digits else "")
    sign, micros = ("-" if micros < 0 else ""), abs(micros)
    days, rest = divmod(micros, 86_400_000_000)
    seconds, micro = divmod(rest, 1_000_000)
    fraction = f".{micro:06d}".rstrip("0") if micro else ""
    return f"{sign}P{days}DT{seconds // 3600}H{seconds // 60 % 60}M{seconds % 60}{fraction}S"


def to_stored(prop: Property, value: Any) -> JsonValue:
    """The JSON value stored in the payload for a native value (checked beforehand)."""
    if value is None:
        return None
    match prop.type:
        case EdmType.STRING | EdmType.BOOLEAN:
            return value  # type: ignore[no-any-return]
        case EdmType.SINGLE | EdmType.DOUBLE:
            if math.isfinite(value):
                return float(value)
            return "NaN" if math.isnan(value) else ("INF" if value > 0 else "-INF")
        case EdmType.DECIMAL:
            return format(value, "f")
        case EdmType.DATETIME | EdmType.DATETIMEOFFSET:
            return iso_datetime(value)
        case EdmType.TIME:
            return duration_text(value)
        case EdmType.GUID:
            return str(value)
        case EdmType.BINARY:
            return base64.b64encode(value).decode("ascii")
        case _:
            return int(value)


def from_stored(prop: Property, raw: Any) -> Any:
    """The native value of a stored JSON value; SchemaViolation if it has the wrong type.

    Facets are not checked: a value that was valid when written stays readable."""
    if raw is None:
        return None
    try:
        return _from_stored(prop, raw)
    except (ValueError, TypeError, ArithmeticError, binascii.Error):
        raise _violation(prop, f"the stored value {raw!r} is not a {prop.type.value}") from None


def _from_stored(prop: Property, raw: Any) -> Any:
    kind = prop.type
    if kind in INTEGER_RANGES:
        if isinstance(raw, bool) or not isinstance(raw, (int, str)):
            raise TypeError
        return int(raw)
    if kind in FLOAT_TYPES:
        if isinstance(raw, str):
            return _SPECIAL_FLOATS[raw] if raw in _SPECIAL_FLOATS else float(raw)
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise TypeError
        return float(raw)
    if kind is EdmType.BOOLEAN:
        if not isinstance(raw, bool):
            raise TypeError
        return raw
    if kind is EdmType.DECIMAL and isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return Decimal(str(raw))
    if not isinstance(raw, str):
        raise TypeError
    return _FROM_STORED_TEXT[kind](raw)


def _decimal(text: str) -> Decimal:
    number = Decimal(text)
    if not number.is_finite():
        raise InvalidOperation
    return number


_FROM_STORED_TEXT: dict[EdmType, Callable[[str], Any]] = {
    EdmType.STRING: str,
    EdmType.DECIMAL: _decimal,
    EdmType.DATETIME: lambda text: parse_iso_datetime(text, utc=True),
    EdmType.DATETIMEOFFSET: lambda text: parse_iso_datetime(text, utc=False),
    EdmType.TIME: query_literals.decode_time,
    EdmType.GUID: query_literals.decode_guid,
    EdmType.BINARY: lambda text: base64.b64decode(text, validate=True),
}


def key_text(prop: Property, value: Any) -> str:
    """The revkv key that holds the entity whose key property has ``value``.

    A string key is itself; other types use their stored text (``25``, a canonical Guid,
    an ISO date-time), so one entity always maps to one revkv key."""
    value = check_value(prop, value)
    stored = to_stored(prop, value)
    if isinstance(stored, bool):
        return "true" if stored else "false"
    return stored if isinstance(stored, str) else repr(stored)


def key_from_text(prop: Property, key: str) -> Any:
    """The native key-property value of the revkv key ``key`` (inverse of key_text)."""
    if prop.type is EdmType.BOOLEAN:
        if key not in ("true", "false"):
            raise _violation(prop, f"the key {key!r} is not true or false")
        return key == "true"
    return from_stored(prop, key)
