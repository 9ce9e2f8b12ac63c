"""Property values as they travel: Atom text, verbose JSON, and URL literals.

Each converts to and from the native form of ``values.py``. The shapes follow what
Pyslet's OData 2 server writes and its client reads (see the notes in
``reference/pyslet-odata.md``), which is also what WCF Data Services does, except where
noted:

- Atom text (also the body of ``.../Prop/$value``): an Edm.DateTime is naive, UTC, with
  as many fraction digits as the property's Precision (3 when it has none) -- Pyslet's
  client rejects ``/Date()/``, a date alone or 8 fraction digits, and sends back exactly
  Precision digits. A DateTimeOffset ends in ``+hh:mm`` (``+00:00`` for UTC, as Pyslet
  writes). Edm.Time is a time of day ``13:20:00``, the form Pyslet reads. Edm.Binary is
  base64 as OData 2 has it, or hex with ``hex_binary``: Pyslet's client and server write
  and read only hex there, and base64 and hex cannot be told apart (``DEADBEEF`` is
  both), so the caller chooses by client (Pyslet names itself in DataServiceVersion).
- Verbose JSON (OData 2 "JSON format"): Edm.DateTime is ``"\\/Date(<ms since the epoch,
  UTC>)\\/"``; Int64, Decimal, Single and Double are strings (as Pyslet writes them, so
  no precision is lost in a JavaScript client); Binary is base64; DateTimeOffset an ISO
  string. Input takes either form of each, numbers or strings.
- URL literals, for key predicates and next links: ``'it''s'``, ``25``, ``25L``,
  ``guid'...'``, ``datetime'...'`` (MS-ODATA 2.2.2).

Text that does not parse raises ``SchemaViolation`` naming the property.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
import re
import struct
import uuid
from decimal import Decimal
from typing import Any

from revkv.errors import SchemaViolation
from revkv.http._odata.schema import Property
from revkv.http._odata.values import (
    FLOAT_TYPES,
    INTEGER_RANGES,
    check_value,
    duration_text,
    iso_datetime,
    parse_iso_datetime,
)
from revkv.query import EdmType
from revkv.query import _literals as query_literals
from revkv.query._ast import LiteralValue

__all__ = [
    "coerce_literal",
    "from_json",
    "from_raw",
    "from_text",
    "raw_value",
    "to_json",
    "to_text",
    "uri_literal",
]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MILLISECOND = dt.timedelta(milliseconds=1)
_INTEGER = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|-?INF|NaN")
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
_ASP_DATE = re.compile(r"/Date\((-?\d+)(?:([+-])(\d{1,4}))?\)/")
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}


def _bad(prop: Property, text: object, expected: str = "") -> SchemaViolation:
    what = expected or f"a {prop.type.value}"
    return SchemaViolation(f"property {prop.name!r}: {text!r} is not {what}")


def _float_text(value: float, *, single: bool = False) -> str:
    """The shortest text that reads back as the same double (or single) value, in a form
    Pyslet reads: ``1.5E20`` (it refuses the ``1.5e+20`` that ``repr`` and Pyslet itself
    write), ``1.0`` rather than ``1``, at most 9 digits for a single."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    text = repr(value)
    if single:
        narrow = _to_single(value)
        for digits in range(1, 10):  # 9 significant digits always give a single back
            text = f"{narrow:.{digits}g}"
            if _to_single(float(text)) == narrow:
                break
    mantissa, exponent_mark, exponent = text.partition("e")
    if "." not in mantissa and not exponent_mark:
        mantissa += ".0"
    return f"{mantissa}E{int(exponent)}" if exponent_mark else mantissa


def _to_single(value: float) -> float:
    """``value`` rounded to single precision (infinite beyond the largest single)."""
    try:
        return float(struct.unpack("<f", struct.pack("<f", value))[0])
    except OverflowError:
        return math.copysign(math.inf, value)


def to_text(prop: Property, value: Any, *, hex_binary: bool = False) -> str | None:
    """The Atom text of a native value (None for null, written as ``m:null="true"``).
    ``hex_binary`` writes Edm.Binary as hex digits, the form Pyslet reads."""
    if value is None:
        return None
    match prop.type:
        case EdmType.STRING:
            return str(value)
        case EdmType.BOOLEAN:
            return "true" if value else "false"
        case EdmType.SINGLE | EdmType.DOUBLE:
            return _float_text(value, single=prop.type is EdmType.SINGLE)
        case EdmType.DECIMAL:
            return format(value, "f")
        case EdmType.DATETIME:
            return iso_datetime(value.astimezone(dt.UTC), _digits(prop), zone=False)
        case EdmType.DATETIMEOFFSET:
            text = iso_datetime(value, _digits(prop))
            return text[:-1] + "+00:00" if text.endswith("Z") else text
        case EdmType.TIME:
            return duration_text(value, prop.precision)
        case EdmType.BINARY:
            return bytes(value).hex().upper() if hex_binary else base64.b64encode(value).decode()
        case _:
            return str(value)


def _digits(prop: Property) -> int:
    return 3 if prop.precision is None else min(prop.precision, 7)


def from_text(prop: Property, text: str | None, *, hex_binary: bool = False) -> Any:
    """The native value of Atom text (None when ``m:null="true"``), checked against the
    property's type and facets. ``hex_binary`` reads Edm.Binary as hex, as Pyslet sends."""
    if text is None:
        return check_value(prop, None)
    if prop.type is not EdmType.STRING:
        text = text.strip()
    try:
        value = _parse_text(prop, text, hex_binary)
    except (ValueError, ArithmeticError, binascii.Error, KeyError):
        raise _bad(prop, text) from None
    return check_value(prop, value)


def _parse_text(prop: Property, text: str, hex_binary: bool) -> Any:
    kind = prop.type
    if kind is EdmType.STRING:
        return text
    if kind in INTEGER_RANGES:
        if not _INTEGER.fullmatch(text):
            raise ValueError
        return int(text)
    if kind in FLOAT_TYPES:
        if not _FLOAT.fullmatch(text):
            raise ValueError
        return float(text.replace("INF", "inf"))
    if kind is EdmType.DECIMAL:
        if not _DECIMAL.fullmatch(text):
            raise ValueError
        return Decimal(text)
    if kind is EdmType.BOOLEAN:
        return _BOOLEANS[text.lower()]
    if kind in (EdmType.DATETIME, EdmType.DATETIMEOFFSET):
        return parse_iso_datetime(text, utc=kind is EdmType.DATETIME)
    if kind is EdmType.TIME:
        return query_literals.decode_time(text)
    if kind is EdmType.GUID:
        return query_literals.decode_guid(text)
    if hex_binary:
        return query_literals.decode_binary(text)
    return base64.b64decode(text, validate=True)


def to_json(prop: Property, value: Any) -> Any:
    """The verbose-JSON value of a native value. A DateTime comes out as the string
    ``/Date(ms)/``; the JSON writer escapes its slashes (``jsonfmt.dumps``)."""
    if value is None:
        return None
    match prop.type:
        case EdmType.BOOLEAN:
            return bool(value)
        case EdmType.BYTE | EdmType.SBYTE | EdmType.INT16 | EdmType.INT32:
            return int(value)
        case EdmType.DATETIME:
            return f"/Date({(value - _EPOCH) // _MILLISECOND})/"
        case EdmType.DATETIMEOFFSET:
            return iso_datetime(value)
        case EdmType.TIME:
            return duration_text(value, prop.precision)
        case _:
            return to_text(prop, value)


def from_json(prop: Property, raw: Any) -> Any:
    """The native value of a verbose-JSON value, checked against type and facets. JSON
    numbers may come as int, float or (parsed with ``parse_float=Decimal``) Decimal."""
    if raw is None:
        return check_value(prop, None)
    kind = prop.type
    if isinstance(raw, bool):
        if kind is not EdmType.BOOLEAN:
            raise _bad(prop, raw)
        return raw
    if isinstance(raw, (int, float, Decimal)):
        if kind in INTEGER_RANGES and isinstance(raw, int):
            return check_value(prop, raw)
        if kind in FLOAT_TYPES:
            return check_value(prop, float(raw))
        if kind is EdmType.DECIMAL:
            return check_value(prop, raw if isinstance(raw, Decimal) else Decimal(str(raw)))
        raise _bad(prop, raw)
    if not isinstance(raw, str):
        raise _bad(prop, raw)
    if kind in (EdmType.DATETIME, EdmType.DATETIMEOFFSET) and raw.startswith("/Date("):
        return check_value(prop, _asp_date(prop, raw))
    if kind is EdmType.BOOLEAN and raw not in ("true", "false"):
        raise _bad(prop, raw)
    return from_text(prop, raw)


def _asp_date(prop: Property, raw: str) -> dt.datetime:
    """``/Date(ms)/`` or ``/Date(ms+hhmm)/``: milliseconds since the epoch in UTC, with
    an offset that only says how a DateTimeOffset is to be shown."""
    match = _ASP_DATE.fullmatch(raw)
    if match is None:
        raise _bad(prop, raw, "a /Date(milliseconds)/ value")
    try:
        moment = _EPOCH + int(match.group(1)) * _MILLISECOND
    except OverflowError:
        raise _bad(prop, raw, "a date between the years 1 and 9999") from None
    if prop.type is EdmType.DATETIME or match.group(2) is None:
        return moment
    digits = match.group(3).rjust(4, "0")
    minutes = int(digits[:2]) * 60 + int(digits[2:]) if len(match.group(3)) == 4 else int(digits)
    sign = -1 if match.group(2) == "-" else 1
    return moment.astimezone(dt.timezone(sign * dt.timedelta(minutes=minutes)))


_URI_PREFIX = {
    EdmType.DATETIME: "datetime",
    EdmType.DATETIMEOFFSET: "datetimeoffset",
    EdmType.TIME: "time",
    EdmType.GUID: "guid",
}
_URI_SUFFIX = {EdmType.INT64: "L", EdmType.DECIMAL: "M", EdmType.DOUBLE: "D", EdmType.SINGLE: "F"}


def uri_literal(prop: Property, value: Any) -> str:
    """The OData URL literal of a native value (before percent-encoding): ``'a''b'``,
    ``25``, ``25L``, ``1.5M``, ``guid'...'``, ``datetime'2026-01-01T00:00:00.000'``."""
    if value is None:
        return "null"
    kind = prop.type
    if kind is EdmType.STRING:
        return "'" + str(value).replace("'", "''") + "'"
    if kind is EdmType.BINARY:
        return "X'" + bytes(value).hex().upper() + "'"
    text = to_text(prop, value)
    assert text is not None
    if kind is EdmType.DATETIMEOFFSET and text.endswith("+00:00"):
        text = text[:-6] + "Z"
    if kind in _URI_PREFIX:
        return f"{_URI_PREFIX[kind]}'{text}'"
    if kind in FLOAT_TYPES and not math.isfinite(value):
        return text + _URI_SUFFIX[kind]
    return text + _URI_SUFFIX.get(kind, "")


def coerce_literal(prop: Property, value: LiteralValue, literal_type: EdmType | None) -> Any:
    """The native value for ``prop`` of a literal parsed from a URL (a key predicate),
    where OData allows the conversion: a smaller integer type to a larger one, an
    integer to a float or decimal, a DateTime to a DateTimeOffset. SchemaViolation, with
    the literal that would fit, otherwise."""
    kind = prop.type
    if literal_type is None:
        return check_value(prop, None)
    fits = literal_type is kind or (
        (kind in INTEGER_RANGES and literal_type in INTEGER_RANGES)
        or (kind in FLOAT_TYPES and literal_type in (*INTEGER_RANGES, *FLOAT_TYPES))
        or (kind is EdmType.DECIMAL and literal_type in INTEGER_RANGES)
        or (kind is EdmType.DATETIMEOFFSET and literal_type is EdmType.DATETIME)
    )
    if not fits:
        raise SchemaViolation(
            f"property {prop.name!r} is {kind.value}, but the literal is {literal_type.value}; "
            f"write it like {uri_literal(prop, _EXAMPLES[kind])}"
        )
    if kind in FLOAT_TYPES and isinstance(value, (int, float)):
        value = float(value)
    elif kind is EdmType.DECIMAL and isinstance(value, int):
        value = Decimal(value)
    return check_value(prop, value)


_EXAMPLES: dict[EdmType, Any] = {
    EdmType.STRING: "text",
    EdmType.BINARY: b"\x0a\xff",
    EdmType.BOOLEAN: True,
    **dict.fromkeys(INTEGER_RANGES, 42),
    **dict.fromkeys(FLOAT_TYPES, 1.5),
    EdmType.DECIMAL: Decimal("1.5"),
    EdmType.DATETIME: dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    EdmType.DATETIMEOFFSET: dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    EdmType.TIME: dt.timedelta(hours=13, minutes=20),
    EdmType.GUID: uuid.UUID(int=0),
}


def raw_value(prop: Property, value: Any) -> tuple[bytes, str]:
    """The body and media type of ``.../Prop/$value``: the bytes of an Edm.Binary, else
    the Atom text as UTF-8 ``text/plain``. Not for null, which has no raw value (OData
    answers 404)."""
    if prop.type is EdmType.BINARY:
        return bytes(value), "application/octet-stream"
    return (to_text(prop, value) or "").encode("utf-8"), "text/plain; charset=utf-8"


def from_raw(prop: Property, body: bytes) -> Any:
    """The value of a PUT to ``.../Prop/$value``: the bytes themselves for Edm.Binary,
    else UTF-8 text read as Atom text."""
    if prop.type is EdmType.BINARY:
        return check_value(prop, body)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise SchemaViolation(f"property {prop.name!r}: the body is not UTF-8 text") from None
    return from_text(prop, text)
