"""Compiling `$filter`/`$orderby` trees to PostgreSQL, for the SQL store's `select`.

The SQL must select exactly the records the Python predicate (`_evaluate`) selects, so
only what translates with the same meaning is translated; `compile_where` and
`compile_order` raise `Untranslatable` for anything else, and the store then evaluates
that query in Python over a key-ordered scan (`revkv.store._select`). Translated:

- properties that are commit fields (`Key`, `Version`, `Rev`, `Author`, `Comment`,
  `Mtime`, `Expires`, `Size`) and JSON members of the payload (`doc #> path`, read as
  the type the literal they are compared with has: a member of another JSON type reads
  as null);
- comparisons of a property with a literal of its kind, `eq`/`ne` with `null`; `and`,
  `or`, `not`; `startswith`, `endswith`, `substringof`, `tolower`, `toupper`, `length`
  on text;
- `$orderby` on commit fields.

Left to Python: `trim` (Python strips every kind of white space), arithmetic, date
parts, `round`/`floor`/`ceiling`, `isof`/`cast`, `indexof`/`replace`/`substring`/
`concat`, comparisons of two properties, a literal of another kind than its property
(`Key eq 5`: a per-record type error in Python), `$orderby` on a JSON member (Python
orders mixed JSON types by kind), and any query with a door's own record view
(`Select.record`: OData's typed entities).

Comparisons follow `_values.compare`: an ordering comparison with null is false, `eq`
is true only for equal values or two nulls; so each compiles to a two-valued SQL
expression (`COALESCE`), and `and`/`or`/`not` keep SQL's three-valued logic, which is
the predicate's. Text compares by code point (`COLLATE "C"`), as Python does;
`tolower`/`toupper` map case with ICU's root locale, as `str.lower`/`str.upper` do.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from revkv.query._ast import (
    COMPARISON_OPS,
    Binary,
    BinaryOp,
    Call,
    Function,
    Literal,
    Node,
    OrderBy,
    Property,
    Unary,
    UnaryOp,
)

if TYPE_CHECKING:
    from revkv.store.base import Column

__all__ = ["SqlQuery", "Untranslatable", "compile_order", "compile_where"]

#: commit fields: (SQL over `h` heads and `c` commits, kind)
FIELDS: dict[str, tuple[str, str]] = {
    "key": ("h.key", "text"),
    "version": ("h.version", "number"),
    "rev": ("h.rev", "number"),
    "author": ('c.author COLLATE "C"', "text"),
    "comment": ('c.comment COLLATE "C"', "text"),
    "mtime": ("c.mtime", "time"),
    "expires": ("h.expires", "time"),
    "size": ("octet_length(c.payload)", "number"),
}

SQL_OPS = {
    BinaryOp.EQ: "=",
    BinaryOp.NE: "<>",
    BinaryOp.LT: "<",
    BinaryOp.LE: "<=",
    BinaryOp.GT: ">",
    BinaryOp.GE: ">=",
}
FLIPPED = {
    BinaryOp.EQ: BinaryOp.EQ,
    BinaryOp.NE: BinaryOp.NE,
    BinaryOp.LT: BinaryOp.GT,
    BinaryOp.LE: BinaryOp.GE,
    BinaryOp.GT: BinaryOp.LT,
    BinaryOp.GE: BinaryOp.LE,
}
TEXT_FUNCTIONS = {Function.TOLOWER: "lower", Function.TOUPPER: "upper"}
JSON_TYPES = {"text": "string", "number": "number", "bool": "boolean"}
JSON_CASTS = {"text": "text", "number": "numeric", "bool": "boolean"}


class Untranslatable(Exception):
    """This part of a query has no SQL of the same meaning: evaluate it in Python."""


class SqlQuery:
    """Bound parameters, named as they are made."""

    def __init__(self, columns: Mapping[str, Column]) -> None:
        self.columns = columns
        self.params: dict[str, Any] = {}
        self._names = itertools.count()

    def bind(self, value: Any) -> str:
        name = f"q{next(self._names)}"
        self.params[name] = value
        return f":{name}"


def compile_where(node: Node, query: SqlQuery) -> str:
    """A SQL condition true exactly for the records `node` selects."""
    return _boolean(node, query)


def compile_order(items: tuple[OrderBy, ...], query: SqlQuery) -> str:
    """`ORDER BY` terms: nulls first ascending, last descending; ties by key."""
    terms = []
    for item in items:
        if not isinstance(item.expr, Property):
            raise Untranslatable("$orderby on an expression")
        sql, _ = _field(item.expr, query)
        terms.append(f"{sql} DESC NULLS LAST" if item.descending else f"{sql} ASC NULLS FIRST")
    return ", ".join([*terms, "h.key"])


def _boolean(node: Node, query: SqlQuery) -> str:
    if isinstance(node, Binary) and node.op in (BinaryOp.AND, BinaryOp.OR):
        word = "AND" if node.op is BinaryOp.AND else "OR"
        return f"({_boolean(node.left, query)} {word} {_boolean(node.right, query)})"
    if isinstance(node, Unary) and node.op is UnaryOp.NOT:
        return f"(NOT {_boolean(node.operand, query)})"
    if isinstance(node, Binary) and node.op in COMPARISON_OPS:
        return _comparison(node, query)
    if isinstance(node, Call) and node.function in (
        Function.STARTSWITH,
        Function.ENDSWITH,
        Function.SUBSTRINGOF,
    ):
        return _text_test(node, query)
    if isinstance(node, Literal) and isinstance(node.value, bool):
        return "TRUE" if node.value else "FALSE"
    raise Untranslatable(f"{type(node).__name__} as a condition")


def _comparison(node: Binary, query: SqlQuery) -> str:
    op, left, right = node.op, node.left, node.right
    if isinstance(left, Literal) and not isinstance(right, Literal):
        op, left, right = FLIPPED[op], right, left
    if not isinstance(right, Literal) or isinstance(left, Literal):
        raise Untranslatable("a comparison of two expressions")
    if right.value is None:
        if op not in (BinaryOp.EQ, BinaryOp.NE):
            return "FALSE"  # an ordering comparison with null is false
        sql, _ = _value(left, query, None)
        return f"({sql} IS {'' if op is BinaryOp.EQ else 'NOT '}NULL)"
    kind = _kind_of(right.value)
    sql, found = _value(left, query, kind)
    if found != kind:
        raise Untranslatable(f"a {found} compared with a {kind}")
    literal = _literal(right.value, kind)
    compared = f"({sql} {SQL_OPS[op]} {query.bind(literal)})"
    default = "TRUE" if op is BinaryOp.NE else "FALSE"  # null ne a value: true
    return f"COALESCE({compared}, {default})"


def _text_test(node: Call, query: SqlQuery) -> str:
    first, second = node.args
    if node.function is Function.SUBSTRINGOF:  # substringof(needle, haystack)
        first, second = second, first
    if not isinstance(second, Literal) or not isinstance(second.value, str):
        raise Untranslatable(f"{node.function.value} of an expression")
    text, kind = _value(first, query, "text")
    if kind != "text":
        raise Untranslatable(f"{node.function.value} of a {kind}")
    if node.function is Function.STARTSWITH and text == "h.key":  # the index's range
        escaped = second.value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"h.key LIKE {query.bind(escaped + '%')}"
    needle = query.bind(second.value)
    test = {
        Function.STARTSWITH: f"left({text}, length({needle})) = {needle}",
        Function.ENDSWITH: f"right({text}, length({needle})) = {needle}",
        Function.SUBSTRINGOF: f"strpos({text}, {needle}) > 0",
    }[node.function]
    return f"COALESCE({test}, FALSE)"


def _value(node: Node, query: SqlQuery, wanted: str | None) -> tuple[str, str]:
    """SQL for a value expression, and its kind (text, number, time, bool)."""
    if isinstance(node, Property):
        return _property(node, query, wanted)
    if isinstance(node, Call) and node.function in TEXT_FUNCTIONS:
        (arg,) = node.args
        text, kind = _value(arg, query, "text")
        if kind != "text":
            raise Untranslatable(f"{node.function.value} of a {kind}")
        # ICU's root locale maps case as Python's str.upper/lower do (ß to SS)
        return f'{TEXT_FUNCTIONS[node.function]}({text} COLLATE "und-x-icu") COLLATE "C"', "text"
    if isinstance(node, Call) and node.function is Function.LENGTH:
        (arg,) = node.args
        text, kind = _value(arg, query, "text")
        if kind != "text":
            raise Untranslatable(f"length of a {kind}")
        return f"char_length({text})", "number"
    raise Untranslatable(f"{type(node).__name__} as a value")


def _property(node: Property, query: SqlQuery, wanted: str | None) -> tuple[str, str]:
    column = query.columns.get(node.name)
    if column is None:
        raise Untranslatable(f"unknown property {node.name!r}")  # Python names it
    if column.field:
        return _field(node, query)
    kind = wanted or "text"
    if kind not in JSON_TYPES:
        raise Untranslatable(f"a JSON member read as {kind}")
    path = query.bind(list(column.path))
    member = f"(c.doc #> CAST({path} AS text[]))"
    json_text = f"({member} #>> '{{}}')"
    typed = f"CAST({json_text} AS {JSON_CASTS[kind]})"
    if kind == "text":
        typed += ' COLLATE "C"'
    return f"(CASE WHEN jsonb_typeof({member}) = '{JSON_TYPES[kind]}' THEN {typed} END)", kind


def _field(node: Property, query: SqlQuery) -> tuple[str, str]:
    column = query.columns.get(node.name)
    if column is None or column.field not in FIELDS:
        raise Untranslatable(f"property {node.name!r} is not a commit field")
    return FIELDS[column.field]


def _kind_of(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float, Decimal)):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dt.datetime):
        return "time"
    raise Untranslatable(f"a literal of type {type(value).__name__}")


def _literal(value: Any, kind: str) -> Any:
    if kind == "time":
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return moment.timestamp()
    nan = isinstance(value, Decimal) and value.is_nan()
    if nan or (isinstance(value, float) and math.isnan(value)):
        raise Untranslatable("NaN")
    return value
