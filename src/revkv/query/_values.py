"""What OData 2 operators mean on Python values: kinds, comparison, arithmetic.

A record holds plain Python values (str, int, float, Decimal, bool, None, datetime,
timedelta, UUID, bytes); they carry no Edm type, so the kind of a value is read from its
Python type at run time. ``bool`` is its own kind, never a number.

The rules, from MS-ODATA 2.2.3.6.1.1 where it says, else from SQL:

- ``null`` compares equal only to ``null``; an ordering comparison with ``null`` is false.
  Arithmetic, negation and functions of ``null`` give ``null``.
- Numbers compare and compute across int, float and Decimal with binary numeric
  promotion: int with Decimal is Decimal, anything with float is float (OData converts an
  Edm.Decimal to Edm.Double when the other side is one, and so ``1.1M eq 1.1`` holds).
- Integer ``div`` truncates toward zero and ``mod`` takes the sign of the dividend, as in
  .NET and SQL; division by zero is an error, not infinity.
- Strings compare by code point (ordinal). A naive datetime is taken as UTC.
- Values of other kinds do not compare: that is a ``Mismatch``. A compiled predicate
  treats a ``Mismatch`` anywhere in its expression as "this record does not match".
"""

from __future__ import annotations

import datetime as dt
import math
import operator
import uuid
from collections.abc import Callable
from decimal import Decimal
from enum import IntEnum
from typing import Any

from revkv.query._ast import BinaryOp

__all__ = [
    "COMPARATORS",
    "NUMERIC",
    "Mismatch",
    "ValueKind",
    "arithmetic",
    "comparable",
    "compare",
    "edm_name",
    "kind_of",
    "negate",
]


class Mismatch(Exception):
    """An operator met a value of a kind it does not apply to (a record-level failure)."""


class ValueKind(IntEnum):
    """Kinds of run-time values; the numeric ones are ordered by promotion."""

    INT = 1
    DECIMAL = 2
    FLOAT = 3
    BOOL = 4
    STRING = 5
    DATETIME = 6
    TIME = 7
    GUID = 8
    BINARY = 9


NUMERIC = frozenset({ValueKind.INT, ValueKind.DECIMAL, ValueKind.FLOAT})
_KIND_OF_TYPE: dict[type, ValueKind] = {
    bool: ValueKind.BOOL,
    int: ValueKind.INT,
    float: ValueKind.FLOAT,
    Decimal: ValueKind.DECIMAL,
    str: ValueKind.STRING,
    dt.datetime: ValueKind.DATETIME,
    dt.timedelta: ValueKind.TIME,
    uuid.UUID: ValueKind.GUID,
    bytes: ValueKind.BINARY,
}
_EDM_NAMES = {
    ValueKind.INT: "Edm.Int64",
    ValueKind.DECIMAL: "Edm.Decimal",
    ValueKind.FLOAT: "Edm.Double",
    ValueKind.BOOL: "Edm.Boolean",
    ValueKind.STRING: "Edm.String",
    ValueKind.DATETIME: "Edm.DateTime",
    ValueKind.TIME: "Edm.Time",
    ValueKind.GUID: "Edm.Guid",
    ValueKind.BINARY: "Edm.Binary",
}

COMPARATORS: dict[BinaryOp, Callable[[Any, Any], bool]] = {
    BinaryOp.EQ: operator.eq,
    BinaryOp.NE: operator.ne,
    BinaryOp.LT: operator.lt,
    BinaryOp.LE: operator.le,
    BinaryOp.GT: operator.gt,
    BinaryOp.GE: operator.ge,
}


def kind_of(value: object) -> ValueKind:
    """The kind of a non-null value; subclasses of the known types count as them."""
    kind = _KIND_OF_TYPE.get(type(value))
    if kind is not None:
        return kind
    for cls, kind in _KIND_OF_TYPE.items():  # bool precedes int, so True is no number
        if isinstance(value, cls):
            return kind
    raise Mismatch(f"a {type(value).__name__} is not an OData value")


def edm_name(value: object) -> str:
    """The Edm type a value reads as, for messages."""
    if value is None:
        return "null"
    try:
        return _EDM_NAMES[kind_of(value)]
    except Mismatch:
        return type(value).__name__


def as_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def comparable(a: object, b: object) -> tuple[Any, Any]:
    """Two non-null values made directly comparable by Python, or ``Mismatch``."""
    ka, kb = kind_of(a), kind_of(b)
    if ka is kb:
        if ka is ValueKind.DATETIME:
            return as_utc(a), as_utc(b)  # type: ignore[arg-type]
        return a, b
    if ka in NUMERIC and kb in NUMERIC:
        if ValueKind.FLOAT in (ka, kb):
            return float(a), float(b)  # type: ignore[arg-type]
        return a, b
    raise Mismatch(f"cannot compare {edm_name(a)} with {edm_name(b)}")


def compare(op: BinaryOp, a: object, b: object) -> bool:
    """``a op b`` for a comparison operator, nulls included."""
    if a is None or b is None:
        if op is BinaryOp.EQ:
            return a is b
        if op is BinaryOp.NE:
            return a is not b
        return False
    left, right = comparable(a, b)
    return COMPARATORS[op](left, right)


def _promote(a: object, b: object, op: BinaryOp) -> tuple[Any, Any, ValueKind]:
    ka, kb = kind_of(a), kind_of(b)
    if ka not in NUMERIC or kb not in NUMERIC:
        raise Mismatch(f"'{op.value}' needs numbers, got {edm_name(a)} and {edm_name(b)}")
    kind = max(ka, kb)
    if kind is ValueKind.FLOAT:
        return float(a), float(b), kind  # type: ignore[arg-type]
    return a, b, kind


def _divide(a: Any, b: Any, kind: ValueKind) -> Any:
    if kind is ValueKind.INT:
        quotient = abs(a) // abs(b)
        return quotient if (a < 0) == (b < 0) else -quotient
    return a / b  # Decimal and float; zero raises an ArithmeticError


def _modulo(a: Any, b: Any, kind: ValueKind) -> Any:
    if kind is ValueKind.INT:
        remainder = abs(a) % abs(b)
        return -remainder if a < 0 else remainder
    if kind is ValueKind.FLOAT:
        if b == 0:
            raise ZeroDivisionError("float modulo by zero")
        if math.isinf(a):  # IEEE's NaN; math.fmod raises a ValueError instead
            return math.nan
        return math.fmod(a, b)
    return a % b  # Decimal's % already takes the dividend's sign


_ARITHMETIC: dict[BinaryOp, Callable[[Any, Any, ValueKind], Any]] = {
    BinaryOp.ADD: lambda a, b, _: a + b,
    BinaryOp.SUB: lambda a, b, _: a - b,
    BinaryOp.MUL: lambda a, b, _: a * b,
    BinaryOp.DIV: _divide,
    BinaryOp.MOD: _modulo,
}


def arithmetic(op: BinaryOp) -> Callable[[Any, Any], Any]:
    """The function computing ``a op b`` for an arithmetic operator, nulls included."""
    apply = _ARITHMETIC[op]

    def compute(a: Any, b: Any) -> Any:
        if a is None or b is None:
            return None
        if type(a) is int and type(b) is int:
            return apply(a, b, ValueKind.INT)
        left, right, kind = _promote(a, b, op)
        return apply(left, right, kind)

    return compute


def negate(value: Any) -> Any:
    if value is None:
        return None
    if kind_of(value) not in NUMERIC:
        raise Mismatch(f"'-' needs a number, got {edm_name(value)}")
    return -value
