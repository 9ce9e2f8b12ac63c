"""Decoding the text of OData 2 literals into Python values.

The tokenizer finds where a literal starts and ends; these functions say what it means.
They raise ``ValueError`` with a message for the user, and the tokenizer turns that into a
``QuerySyntaxError`` pointing at the literal. Each follows the OData 2 URI literal forms
(MS-ODATA 2.2.2), accepting the few variants real clients send (Pyslet writes
``time'13:20:00'``, WCF writes ``time'PT13H20M'``).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal, InvalidOperation

from revkv.query._ast import EdmType, LiteralValue

__all__ = [
    "decode_binary",
    "decode_datetime",
    "decode_datetimeoffset",
    "decode_guid",
    "decode_number",
    "decode_time",
]

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?"
    r"(Z|[+-]\d{2}:\d{2})?"
)
_DURATION = re.compile(r"(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d{1,7})?)S)?)?")
_TIME_OF_DAY = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?")
_GUID = re.compile(r"[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})*")

_SUFFIX_TYPES = {
    "L": EdmType.INT64,
    "D": EdmType.DOUBLE,
    "F": EdmType.SINGLE,
    "M": EdmType.DECIMAL,
}


def decode_number(text: str) -> tuple[LiteralValue, EdmType]:
    """A numeric literal: digits with optional sign, fraction, exponent and type suffix.

    Without a suffix an integer is Edm.Int32, or Edm.Int64 when it does not fit, or
    Edm.Decimal beyond that (exact rather than rounded); a number with a fraction or an
    exponent is Edm.Double. ``INF``, ``-INF`` and ``NaN`` are Edm.Double (or Edm.Single
    with an ``F`` suffix).
    """
    special = text.lstrip("-")[:3] in ("INF", "NaN")
    suffix = text[-1].upper() if text[-1] in "LlDdFfMm" and text[-3:] != "INF" else ""
    body = text[:-1] if suffix else text
    if special:  # the tokenizer reads INFM or NaNL as names
        return float(body), EdmType.SINGLE if suffix == "F" else EdmType.DOUBLE
    integral = body.lstrip("-").isdigit()
    if suffix == "L":
        if not integral:
            raise ValueError("an Edm.Int64 literal (suffix L) must be a whole number")
        value = int(body)
        if not INT64_MIN <= value <= INT64_MAX:
            raise ValueError("integer literal out of range for Edm.Int64")
        return value, EdmType.INT64
    if suffix == "M":
        try:
            return Decimal(body), EdmType.DECIMAL
        except InvalidOperation:  # pragma: no cover - the tokenizer only passes numbers
            raise ValueError("not a valid Edm.Decimal") from None
    if suffix in ("D", "F"):
        return float(body), _SUFFIX_TYPES[suffix]
    if not integral:
        return float(body), EdmType.DOUBLE
    value = int(body)
    if INT32_MIN <= value <= INT32_MAX:
        return value, EdmType.INT32
    if INT64_MIN <= value <= INT64_MAX:
        return value, EdmType.INT64
    return Decimal(body), EdmType.DECIMAL


def _microseconds(fraction: str | None) -> int:
    """Up to 7 fractional digits (.NET ticks); the seventh is truncated to microseconds."""
    return int((fraction or "").ljust(6, "0")[:6])


def _parse_datetime(text: str) -> tuple[dt.datetime, str | None]:
    match = _DATETIME.fullmatch(text)
    if match is None:
        raise ValueError(f"invalid date/time {text!r}, expected yyyy-mm-ddThh:mm[:ss[.fffffff]]")
    year, month, day, hour, minute = (int(g) for g in match.group(1, 2, 3, 4, 5))
    second = int(match.group(6) or 0)
    try:
        value = dt.datetime(year, month, day, hour, minute, second, _microseconds(match.group(7)))
    except ValueError as error:
        raise ValueError(f"invalid date/time {text!r}: {error}") from None
    return value, match.group(8)


def _offset(zone: str) -> dt.timezone:
    if zone == "Z":
        return dt.UTC
    sign = -1 if zone[0] == "-" else 1
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    if hours > 14 or minutes > 59:
        raise ValueError(f"invalid time zone offset {zone!r}")
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def decode_datetime(text: str) -> dt.datetime:
    """Edm.DateTime has no zone in OData 2 and means UTC; a trailing ``Z`` is tolerated."""
    value, zone = _parse_datetime(text)
    if zone not in (None, "Z"):
        raise ValueError(
            f"datetime'{text}' has an offset; Edm.DateTime is UTC, "
            "use datetimeoffset'...' for a time with an offset"
        )
    return value.replace(tzinfo=dt.UTC)


def decode_datetimeoffset(text: str) -> dt.datetime:
    """Edm.DateTimeOffset keeps its offset (``Z`` or ``+hh:mm``), which is required."""
    value, zone = _parse_datetime(text)
    if zone is None:
        raise ValueError(f"datetimeoffset'{text}' needs an offset such as Z or +01:00")
    return value.replace(tzinfo=_offset(zone))


def decode_time(text: str) -> dt.timedelta:
    """Edm.Time as an ISO 8601 duration ``PT13H20M`` or a time of day ``13:20:00``."""
    match = _DURATION.fullmatch(text)
    if match is not None and text not in ("P", "-P") and not text.endswith("T"):
        sign, days, hours, minutes, seconds = match.groups()
        value = dt.timedelta(
            days=int(days or 0),
            hours=int(hours or 0),
            minutes=int(minutes or 0),
            seconds=float(seconds or 0),
        )
        return -value if sign else value
    match = _TIME_OF_DAY.fullmatch(text)
    if match is not None:
        hours, minutes, seconds = (int(g or 0) for g in match.group(1, 2, 3))
        if hours < 24 and minutes < 60 and seconds < 60:
            return dt.timedelta(
                hours=hours,
                minutes=minutes,
                seconds=seconds,
                microseconds=_microseconds(match.group(4)),
            )
    raise ValueError(f"invalid time {text!r}, expected a duration like PT13H20M or 13:20:00")


def decode_guid(text: str) -> uuid.UUID:
    if _GUID.fullmatch(text) is None:
        raise ValueError(f"invalid guid {text!r}, expected 8-4-4-4-12 hexadecimal digits")
    return uuid.UUID(text)


def decode_binary(text: str) -> bytes:
    if _HEX.fullmatch(text) is None:
        raise ValueError(f"invalid binary {text!r}, expected pairs of hexadecimal digits")
    return bytes.fromhex(text)
