"""The canonical functions of OData 2, over Python values.

Each implementation receives non-null values (``null`` in gives ``null`` out, decided by
the caller, except for ``isof``) and raises ``Mismatch`` when a value has the wrong kind.
Where OData 2 leaves an edge open, SQL's answer is taken, so that a SQL back end can give
the same results: ``substring`` past the end is ``''``, ``replace`` of ``''`` changes
nothing. ``substringof(needle, haystack)`` keeps OData 2's argument order, the reverse of
OData 4's ``contains``. ``round`` goes half away from zero.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from revkv.query._ast import EdmType, Function
from revkv.query._literals import INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN
from revkv.query._values import Mismatch, ValueKind, edm_name, kind_of

__all__ = ["IMPLEMENTATIONS", "is_of_type"]


def _string(value: Any, function: str) -> str:
    if isinstance(value, str):
        return value
    raise Mismatch(f"{function}() needs a string, got {edm_name(value)}")


def _integer(value: Any, function: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise Mismatch(f"{function}() needs an integer, got {edm_name(value)}")


def _substringof(needle: Any, haystack: Any) -> bool:
    return _string(needle, "substringof") in _string(haystack, "substringof")


def _startswith(text: Any, prefix: Any) -> bool:
    return _string(text, "startswith").startswith(_string(prefix, "startswith"))


def _endswith(text: Any, suffix: Any) -> bool:
    return _string(text, "endswith").endswith(_string(suffix, "endswith"))


def _indexof(text: Any, sought: Any) -> int:
    return _string(text, "indexof").find(_string(sought, "indexof"))


def _replace(text: Any, old: Any, new: Any) -> str:
    source, sought = _string(text, "replace"), _string(old, "replace")
    return source.replace(sought, _string(new, "replace")) if sought else source


def _substring(text: Any, start: Any, length: Any = None) -> str:
    source, begin = _string(text, "substring"), max(_integer(start, "substring"), 0)
    if length is None:
        return source[begin:]
    count = _integer(length, "substring")
    if count < 0:
        raise Mismatch("substring() needs a length of 0 or more")
    return source[begin : begin + count]


def _concat(first: Any, second: Any) -> str:
    return _string(first, "concat") + _string(second, "concat")


def _part(name: str) -> Callable[[Any], int]:
    """year() … second(): a field of a datetime in its own offset (naive is UTC), and
    for hour, minute and second also of an Edm.Time."""
    clock = {"hour": 3600, "minute": 60, "second": 1}.get(name)

    def part(value: Any) -> int:
        if isinstance(value, dt.datetime):
            return int(getattr(value, name))
        if clock is not None and isinstance(value, dt.timedelta):
            seconds = int(value.total_seconds()) % 86400
            return seconds // clock % (24 if clock == 3600 else 60)
        raise Mismatch(f"{name}() needs an Edm.DateTime, got {edm_name(value)}")

    return part


def _rounding(name: str, rounding: str, to_int: Callable[[float], float]) -> Callable[[Any], Any]:
    def apply(value: Any) -> Any:
        kind = kind_of(value)
        if kind is ValueKind.INT:
            return value
        if kind is ValueKind.DECIMAL:
            return value.to_integral_value(rounding=rounding)
        if kind is ValueKind.FLOAT:
            return to_int(value) if math.isfinite(value) else value
        raise Mismatch(f"{name}() needs a number, got {edm_name(value)}")

    return apply


def _round_half_away(value: float) -> float:
    whole = math.floor(abs(value))
    if abs(value) - whole >= 0.5:  # exact: a float minus its floor loses no bits
        whole += 1
    return math.copysign(float(whole), value)


_INT_RANGES = {
    EdmType.BYTE: (0, 255),
    EdmType.SBYTE: (-128, 127),
    EdmType.INT16: (-(2**15), 2**15 - 1),
    EdmType.INT32: (INT32_MIN, INT32_MAX),
    EdmType.INT64: (INT64_MIN, INT64_MAX),
}
_TYPE_CLASSES: dict[EdmType, type | tuple[type, ...]] = {
    EdmType.STRING: str,
    EdmType.BOOLEAN: bool,
    EdmType.DOUBLE: float,
    EdmType.SINGLE: float,
    EdmType.DECIMAL: Decimal,
    EdmType.DATETIME: dt.datetime,
    EdmType.DATETIMEOFFSET: dt.datetime,
    EdmType.TIME: dt.timedelta,
    EdmType.GUID: uuid.UUID,
    EdmType.BINARY: bytes,
}


def is_of_type(value: Any, type_name: Any) -> bool:
    """isof(): values carry no Edm type, so an integer is of every integer type whose
    range holds it, and a float is both Edm.Double and Edm.Single."""
    edm_type = EdmType(type_name)
    if value is None:
        return False
    if edm_type in _INT_RANGES:
        low, high = _INT_RANGES[edm_type]
        return kind_of(value) is ValueKind.INT and low <= value <= high
    return isinstance(value, _TYPE_CLASSES[edm_type])


def _cast(value: Any, type_name: Any) -> Any:
    """cast(): numbers convert among themselves (toward zero into integers, range
    checked), anything converts to a string, a string parses into a number."""
    edm_type = EdmType(type_name)
    if isinstance(value, bool) and edm_type not in (EdmType.STRING, EdmType.BOOLEAN):
        raise Mismatch(f"cannot cast Edm.Boolean to {edm_type.value}")
    try:
        if edm_type is EdmType.STRING:
            return value if isinstance(value, str) else _to_string(value)
        if edm_type in _INT_RANGES:
            number = int(value) if not isinstance(value, str) else int(value.strip())
            low, high = _INT_RANGES[edm_type]
            if not low <= number <= high:
                raise Mismatch(f"{value!r} does not fit {edm_type.value}")
            return number
        if edm_type in (EdmType.DOUBLE, EdmType.SINGLE):
            return float(value)
        if edm_type is EdmType.DECIMAL:
            return Decimal(value.strip() if isinstance(value, str) else str(value))
    except (ValueError, TypeError, ArithmeticError) as error:
        raise Mismatch(f"cannot cast {edm_name(value)} to {edm_type.value}: {error}") from None
    if is_of_type(value, edm_type):
        return value
    raise Mismatch(f"cannot cast {edm_name(value)} to {edm_type.value}")


def _to_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.hex().upper()
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


IMPLEMENTATIONS: dict[Function, Callable[..., Any]] = {
    Function.SUBSTRINGOF: _substringof,
    Function.STARTSWITH: _startswith,
    Function.ENDSWITH: _endswith,
    Function.LENGTH: lambda text: len(_string(text, "length")),
    Function.INDEXOF: _indexof,
    Function.REPLACE: _replace,
    Function.SUBSTRING: _substring,
    Function.TOLOWER: lambda text: _string(text, "tolower").lower(),
    Function.TOUPPER: lambda text: _string(text, "toupper").upper(),
    Function.TRIM: lambda text: _string(text, "trim").strip(),
    Function.CONCAT: _concat,
    Function.YEAR: _part("year"),
    Function.MONTH: _part("month"),
    Function.DAY: _part("day"),
    Function.HOUR: _part("hour"),
    Function.MINUTE: _part("minute"),
    Function.SECOND: _part("second"),
    Function.ROUND: _rounding("round", ROUND_HALF_UP, _round_half_away),
    Function.FLOOR: _rounding("floor", ROUND_FLOOR, lambda x: float(math.floor(x))),
    Function.CEILING: _rounding("ceiling", ROUND_CEILING, lambda x: float(math.ceil(x))),
    Function.ISOF: is_of_type,
    Function.CAST: _cast,
}
"""Function -> implementation over non-null values (isof also gets ``None``)."""
