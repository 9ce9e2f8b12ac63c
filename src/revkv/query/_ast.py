"""The syntax tree of an OData 2 ``$filter`` or ``$orderby`` expression.

The tree is the contract between the parser and every back end that runs a query: the
Python predicate compiler (``evaluate.py``), the sort (``order.py``) and a SQL compiler.
So it is plain data: frozen, slotted, typed, with no behaviour beyond what every back
end needs (the arity of functions, the Edm type of a literal). A back end dispatches on
the node class and on the operator or function enum, never on strings.

Every node records ``position``, the 0-based offset in the source text of the token
that made it (a literal's first character, a property's name, an operator's keyword,
a function's name), so a back end that rejects a node can point at it. Positions do
not take part in equality or hashing: two trees are equal when they mean the same
thing, whatever the spacing of the text they came from.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

__all__ = [
    "ARITHMETIC_OPS",
    "COMPARISON_OPS",
    "FUNCTION_ARITY",
    "LOGICAL_OPS",
    "Binary",
    "BinaryOp",
    "Call",
    "EdmType",
    "Function",
    "Literal",
    "LiteralValue",
    "Node",
    "OrderBy",
    "Property",
    "Unary",
    "UnaryOp",
    "walk",
]


class EdmType(StrEnum):
    """The primitive types of OData 2 (CSDL), spelled as they are on the wire."""

    BINARY = "Edm.Binary"
    BOOLEAN = "Edm.Boolean"
    BYTE = "Edm.Byte"
    DATETIME = "Edm.DateTime"
    DATETIMEOFFSET = "Edm.DateTimeOffset"
    DECIMAL = "Edm.Decimal"
    DOUBLE = "Edm.Double"
    GUID = "Edm.Guid"
    INT16 = "Edm.Int16"
    INT32 = "Edm.Int32"
    INT64 = "Edm.Int64"
    SBYTE = "Edm.SByte"
    SINGLE = "Edm.Single"
    STRING = "Edm.String"
    TIME = "Edm.Time"


class UnaryOp(StrEnum):
    NOT = "not"
    NEG = "-"


class BinaryOp(StrEnum):
    """Binary operators, valued by their keyword in the URL syntax."""

    OR = "or"
    AND = "and"
    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    ADD = "add"
    SUB = "sub"
    MUL = "mul"
    DIV = "div"
    MOD = "mod"


LOGICAL_OPS = frozenset({BinaryOp.AND, BinaryOp.OR})
COMPARISON_OPS = frozenset(
    {BinaryOp.EQ, BinaryOp.NE, BinaryOp.LT, BinaryOp.LE, BinaryOp.GT, BinaryOp.GE}
)
ARITHMETIC_OPS = frozenset({BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL, BinaryOp.DIV, BinaryOp.MOD})


class Function(StrEnum):
    """The canonical functions of OData 2; names are case-sensitive, all lowercase."""

    SUBSTRINGOF = "substringof"
    STARTSWITH = "startswith"
    ENDSWITH = "endswith"
    LENGTH = "length"
    INDEXOF = "indexof"
    REPLACE = "replace"
    SUBSTRING = "substring"
    TOLOWER = "tolower"
    TOUPPER = "toupper"
    TRIM = "trim"
    CONCAT = "concat"
    YEAR = "year"
    MONTH = "month"
    DAY = "day"
    HOUR = "hour"
    MINUTE = "minute"
    SECOND = "second"
    ROUND = "round"
    FLOOR = "floor"
    CEILING = "ceiling"
    ISOF = "isof"
    CAST = "cast"


def _arity() -> dict[Function, tuple[int, int]]:
    table = dict.fromkeys(Function, (1, 1))
    for two in (Function.SUBSTRINGOF, Function.STARTSWITH, Function.ENDSWITH):
        table[two] = (2, 2)
    table[Function.INDEXOF] = (2, 2)
    table[Function.CONCAT] = (2, 2)
    table[Function.REPLACE] = (3, 3)
    table[Function.SUBSTRING] = (2, 3)
    table[Function.ISOF] = (1, 2)
    table[Function.CAST] = (1, 2)
    return table


FUNCTION_ARITY: dict[Function, tuple[int, int]] = _arity()
"""(fewest, most) arguments of each function, checked by the parser."""

LiteralValue = (
    str | bool | int | float | Decimal | dt.datetime | dt.timedelta | uuid.UUID | bytes | None
)
"""What a literal holds: Edm.Time is a ``timedelta`` (time of day or duration),
Edm.DateTime an aware UTC ``datetime``, Edm.DateTimeOffset an aware ``datetime`` with its
own offset, Edm.Single and Edm.Double a ``float``, ``null`` is ``None``."""


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant. ``edm_type`` is None for the untyped ``null``."""

    value: LiteralValue
    edm_type: EdmType | None
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Property:
    """A property of the record, or a path ``a/b`` into nested mappings."""

    name: str
    position: int = field(default=0, compare=False)

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.name.split("/"))


@dataclass(frozen=True, slots=True)
class Unary:
    op: UnaryOp
    operand: Node
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Binary:
    op: BinaryOp
    left: Node
    right: Node
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Call:
    """A function call. For ``isof`` and ``cast`` the last argument is a string literal
    naming an ``EdmType`` (the parser checks it)."""

    function: Function
    args: tuple[Node, ...]
    position: int = field(default=0, compare=False)


Node = Literal | Property | Unary | Binary | Call


@dataclass(frozen=True, slots=True)
class OrderBy:
    """One item of ``$orderby``; ``position`` is where its expression starts."""

    expr: Node
    descending: bool = False
    position: int = field(default=0, compare=False)


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, parents before children, left to right.

    Iterative, because a long ``or`` list is a tree as deep as the list is long."""
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        yield current
        match current:
            case Unary(operand=operand):
                stack.append(operand)
            case Binary(left=left, right=right):
                stack += (right, left)
            case Call(args=args):
                stack += reversed(args)
            case _:
                pass
