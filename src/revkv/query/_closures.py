"""The closures a compiled filter is made of, one factory per kind of node.

Each factory takes the evaluators of a node's operands and returns the evaluator of the
node: a function of one record. The hot paths avoid what costs in CPython — a call
that only forwards, a list built per record, a generic comparison when the type of one
side is known — because a filter runs over up to 100,000 records per request. Failures
are ``Mismatch`` or ``ArithmeticError`` (see ``FAILURES``); the caller decides what they
mean.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from revkv.query._ast import BinaryOp, Function
from revkv.query._values import COMPARATORS, Mismatch, arithmetic, as_utc, comparable, compare

__all__ = [
    "FAILURES",
    "REFLECTED",
    "STRING_METHODS",
    "Evaluator",
    "Record",
    "all_of",
    "any_of",
    "arithmetic_of",
    "call",
    "comparison",
    "comparison_with_constant",
    "logical_not",
    "path_reader",
    "string_method_call",
]

Record = Mapping[str, Any]
Evaluator = Callable[[Record], Any]

FAILURES = (Mismatch, ArithmeticError)
"""What evaluating a compiled node may raise for a record whose values do not fit."""

_DIRECT: frozenset[type] = frozenset(
    {str, int, float, bool, bytes, Decimal, uuid.UUID, dt.timedelta}
)
"""Types whose values compare with their own kind without conversion (not datetime:
a naive one must first be read as UTC)."""

REFLECTED: dict[BinaryOp, BinaryOp] = {
    BinaryOp.EQ: BinaryOp.EQ,
    BinaryOp.NE: BinaryOp.NE,
    BinaryOp.LT: BinaryOp.GT,
    BinaryOp.LE: BinaryOp.GE,
    BinaryOp.GT: BinaryOp.LT,
    BinaryOp.GE: BinaryOp.LE,
}
"""The operator with its operands swapped: ``1 lt Key`` is ``Key gt 1``."""


def path_reader(path: Sequence[str]) -> Evaluator:
    """``a/b``: a property of a nested mapping; null when a step is null or missing."""

    def read(record: Record) -> Any:
        value: Any = record
        for name in path:
            if value is None:
                return None
            if not isinstance(value, Mapping):
                raise Mismatch(f"{name!r} is not a property of a {type(value).__name__}")
            value = value.get(name)
        return value

    return read


def logical_not(operand: Evaluator) -> Evaluator:
    def not_(record: Record) -> bool | None:
        value = operand(record)
        if value is None:
            return None
        if value is True or value is False:
            return not value
        raise Mismatch("'not' needs a boolean")

    return not_


def all_of(terms: Sequence[Evaluator]) -> Evaluator:
    """``a and b and ...`` in three-valued logic, short-circuiting on false."""
    if len(terms) == 2:
        return _both(*terms)
    evaluators = tuple(terms)

    def all_(record: Record) -> bool | None:
        unknown = False
        for evaluate in evaluators:
            value = evaluate(record)
            if value is False:
                return False
            if value is None:
                unknown = True
            elif value is not True:
                raise Mismatch("'and' needs booleans")
        return None if unknown else True

    return all_


def _both(first: Evaluator, second: Evaluator) -> Evaluator:
    """The common two-term ``and``, without a loop."""

    def both(record: Record) -> bool | None:
        a = first(record)
        if a is False:
            return False
        if a is not True and a is not None:
            raise Mismatch("'and' needs booleans")
        b = second(record)
        if b is False or (b is True and a is True):
            return b
        if b is not True and b is not None:
            raise Mismatch("'and' needs booleans")
        return None

    return both


def any_of(terms: Sequence[Evaluator]) -> Evaluator:
    """``a or b or ...`` in three-valued logic, short-circuiting on true."""
    evaluators = tuple(terms)

    def any_(record: Record) -> bool | None:
        unknown = False
        for evaluate in evaluators:
            value = evaluate(record)
            if value is True:
                return True
            if value is None:
                unknown = True
            elif value is not False:
                raise Mismatch("'or' needs booleans")
        return None if unknown else False

    return any_


def arithmetic_of(op: BinaryOp, first: Evaluator, second: Evaluator) -> Evaluator:
    compute = arithmetic(op)
    return lambda record: compute(first(record), second(record))


def comparison(op: BinaryOp, first: Evaluator, second: Evaluator) -> Evaluator:
    """``first op second``, both read per record."""
    test = COMPARATORS[op]

    def compare_values(record: Record) -> bool:
        a, b = first(record), second(record)
        if a is None or b is None:
            return compare(op, a, b)
        if type(a) is type(b) and type(a) in _DIRECT:
            return test(a, b)
        a, b = comparable(a, b)
        return test(a, b)

    return compare_values


def comparison_with_constant(op: BinaryOp, read: Evaluator, constant: Any) -> Evaluator:
    """``read(record) op constant``, checking the kind of one side only."""
    if constant is None:
        return lambda record: compare(op, read(record), None)
    test, if_null = COMPARATORS[op], op is BinaryOp.NE
    if isinstance(constant, dt.datetime):
        moment = as_utc(constant)
        naive_moment = moment.astimezone(dt.UTC).replace(tzinfo=None)  # for naive = UTC

        def compare_to_moment(record: Record) -> bool:
            value = read(record)
            if value is None:
                return if_null
            if type(value) is dt.datetime:
                return test(value, moment if value.tzinfo is not None else naive_moment)
            a, b = comparable(value, moment)
            return test(a, b)

        return compare_to_moment
    direct = type(constant) if type(constant) in _DIRECT else None

    def compare_to_constant(record: Record) -> bool:
        value = read(record)
        if value is None:
            return if_null
        if type(value) is direct:
            return test(value, constant)
        a, b = comparable(value, constant)
        return test(a, b)

    return compare_to_constant


STRING_METHODS: dict[Function, tuple[Callable[[str, str], Any], int]] = {
    Function.STARTSWITH: (str.startswith, 1),
    Function.ENDSWITH: (str.endswith, 1),
    Function.INDEXOF: (str.find, 1),
    Function.SUBSTRINGOF: (str.__contains__, 0),
}
"""Two-argument string functions as a method of the argument read from the record, and
the index of the argument that must be a constant string for that shortcut:
``substringof('x', Key)`` is ``Key.__contains__('x')``."""


def string_method_call(
    function: Function, read: Evaluator, constant: str, fallback: Callable[[Any], Any]
) -> Evaluator:
    """A function of ``STRING_METHODS`` with its constant argument fixed; ``fallback``
    takes the read value when it is not exactly a ``str``."""
    method = STRING_METHODS[function][0]

    def call_method(record: Record) -> Any:
        value = read(record)
        if type(value) is str:
            return method(value, constant)
        if value is None:
            return None
        return fallback(value)

    return call_method


def call(implementation: Callable[..., Any], arguments: Sequence[Evaluator]) -> Evaluator:
    """Null in, null out; the common arities get closures without a list."""
    if len(arguments) == 1:
        (first,) = arguments

        def call_one(record: Record) -> Any:
            value = first(record)
            return None if value is None else implementation(value)

        return call_one
    if len(arguments) == 2:
        first, second = arguments

        def call_two(record: Record) -> Any:
            a, b = first(record), second(record)
            return None if a is None or b is None else implementation(a, b)

        return call_two

    def call_many(record: Record) -> Any:
        values = [argument(record) for argument in arguments]
        return None if any(v is None for v in values) else implementation(*values)

    return call_many
