"""Sorting records by an OData 2 ``$orderby``.

``$orderby`` may mix directions (``Expires desc, Key``), which one key function cannot
express for strings, so the sort runs one stable pass per item, last item first, each
with Python's ``reverse=`` (which keeps equal records in their order). ``null`` sorts
before every value ascending and after every value descending, as in SQL Server and
WCF Data Services. Values of different kinds never meet in a comparison: they are
grouped by kind (booleans, numbers, strings, date/times, times, guids, binaries), and a
NaN sorts before every other number, as .NET orders doubles. An expression that does
not apply to a record's values (``length(Price)``) gives null for that record.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from revkv.query._ast import OrderBy
from revkv.query._evaluate import Evaluator, compile_expression
from revkv.query._values import NUMERIC, Mismatch, ValueKind, as_utc, kind_of

__all__ = ["compile_orderby", "sort_records"]

R = TypeVar("R", bound=Mapping[str, Any])

_NULL_KEY: tuple[Any, ...] = (0,)


def compile_orderby(
    items: Sequence[OrderBy], properties: Collection[str] | None = None, *, source: str = ""
) -> Callable[[Iterable[R]], list[R]]:
    """A function returning the records sorted by ``items`` (a new list; stable).

    ``properties`` and ``source`` are as for ``compile_filter``."""
    passes = [
        (_sort_key(compile_expression(item.expr, properties, source=source)), item.descending)
        for item in reversed(items)
    ]

    def sort(records: Iterable[R]) -> list[R]:
        ordered = list(records)
        for key, descending in passes:
            ordered.sort(key=key, reverse=descending)
        return ordered

    return sort


def sort_records(
    records: Iterable[R],
    items: Sequence[OrderBy],
    properties: Collection[str] | None = None,
    *,
    source: str = "",
) -> list[R]:
    """``records`` sorted by ``items``; compile once with ``compile_orderby`` to reuse."""
    return compile_orderby(items, properties, source=source)(records)


def _rank(value: Any) -> tuple[Any, ...]:
    """The sort key of one non-null value: (1, kind, not-NaN, value)."""
    try:
        kind = kind_of(value)
    except Mismatch:
        return _NULL_KEY
    if kind in NUMERIC:
        is_nan = (isinstance(value, float) and math.isnan(value)) or (
            isinstance(value, Decimal) and value.is_nan()
        )
        return (1, ValueKind.INT, 0) if is_nan else (1, ValueKind.INT, 1, value)
    if kind is ValueKind.DATETIME:
        return (1, kind, 1, as_utc(value))
    return (1, kind, 1, value)


def _sort_key(value_of: Evaluator) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    def key(record: Mapping[str, Any]) -> tuple[Any, ...]:
        value = value_of(record)
        if value is None:
            return _NULL_KEY
        if type(value) is str:
            return (1, ValueKind.STRING, 1, value)
        return _rank(value)

    return key
