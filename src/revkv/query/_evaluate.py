"""Compiling a filter tree into a Python predicate over records.

A listing runs one filter over up to 100,000 records per request, so the tree is
compiled once into nested closures (``closures.py``) and never walked per record.
Subtrees without a property are evaluated at compile time, comparisons against a
constant get a closure that reads only one side, and ``and``/``or`` lists are flattened
into one loop (so a long ``or`` list needs no deep recursion).

The value rules are those of ``values.py``. ``and``, ``or`` and ``not`` use three-valued
logic (``null and false`` is false, ``null or true`` is true, ``not null`` is null), and a
record matches only when the whole filter is ``true``.

Type errors are handled in two places, by design:

- at compile time, what is wrong whatever the record: a subtree of literals that cannot
  be evaluated (``1 eq 'a'``, ``1 div 0``, ``length(1)``), a filter or an operand of
  ``and``/``or``/``not`` that cannot be boolean (``Key add 1``, ``'a' and true``), an
  unknown property when the names are given. These raise ``QuerySyntaxError``.
- per record, what depends on the values: ``Key add 1`` on a string Key, a division by
  zero. The record does not match; the predicate returns False and never raises.
  Evaluation is left to right and short-circuits, so ``Key eq 'a' or Key add 1 eq 2``
  matches the string ``'a'``.
"""

from __future__ import annotations

import difflib
import operator
from collections.abc import Callable, Collection
from typing import Any, NamedTuple

from revkv.errors import QuerySyntaxError
from revkv.query import _closures as closures
from revkv.query._ast import (
    ARITHMETIC_OPS,
    COMPARISON_OPS,
    LOGICAL_OPS,
    Binary,
    BinaryOp,
    Call,
    EdmType,
    Function,
    Literal,
    Node,
    Property,
    Unary,
    UnaryOp,
)
from revkv.query._closures import FAILURES, Evaluator, Record
from revkv.query._functions import IMPLEMENTATIONS, is_of_type
from revkv.query._types import Types, check_filter
from revkv.query._values import negate

__all__ = ["Evaluator", "Predicate", "Record", "compile_expression", "compile_filter"]

Predicate = Callable[[Record], bool]

_EMPTY: Record = {}


def compile_filter(
    node: Node,
    properties: Collection[str] | None = None,
    *,
    source: str = "",
    types: Types | None = None,
) -> Predicate:
    """A predicate that is True for the records ``node`` selects.

    ``properties``, when given, are the names a record may have: any other name is a
    ``QuerySyntaxError`` at its position; without it a missing property reads as null.
    A path ``a/b`` is checked by its first name only. ``source`` is the text ``node``
    was parsed from, quoted in error messages. ``types``, when given, are the Edm types
    of the properties: a tree that cannot be well typed (``Key eq 1`` of a string Key)
    is then a ``QuerySyntaxError`` too (``_types.check_filter``), not a filter matching
    nothing.
    """
    compiler = _Compiler(properties, source)
    compiler.require_boolean(node)
    code = compiler.compile(node)
    if types is not None:
        check_filter(node, types, source=source)
    if code.constant:
        matches = code.value is True
        return lambda record: matches
    evaluate = code.evaluate

    def predicate(record: Record) -> bool:
        try:
            return evaluate(record) is True
        except FAILURES:
            return False

    return predicate


def compile_expression(
    node: Node, properties: Collection[str] | None = None, *, source: str = ""
) -> Evaluator:
    """A function giving the value of ``node`` for a record (``$orderby`` uses it): null
    where the record's values do not fit the operators."""
    evaluate = _Compiler(properties, source).compile(node).evaluate

    def value(record: Record) -> Any:
        try:
            return evaluate(record)
        except FAILURES:
            return None

    return value


_NON_BOOLEAN_RESULTS = {
    **dict.fromkeys(
        (Function.LENGTH, Function.INDEXOF, Function.YEAR, Function.MONTH, Function.DAY),
        "an Edm.Int32",
    ),
    **dict.fromkeys((Function.HOUR, Function.MINUTE, Function.SECOND), "an Edm.Int32"),
    **dict.fromkeys((Function.ROUND, Function.FLOOR, Function.CEILING), "a number"),
    **dict.fromkeys(
        (
            Function.REPLACE,
            Function.SUBSTRING,
            Function.TOLOWER,
            Function.TOUPPER,
            Function.TRIM,
            Function.CONCAT,
        ),
        "an Edm.String",
    ),
}
_BOOLEAN_TYPE = Literal(EdmType.BOOLEAN.value, EdmType.STRING)


def _non_boolean(node: Node) -> str | None:
    """What ``node`` gives when that is certainly not a boolean, else None (a property,
    a comparison, ``null`` and the boolean functions may all be boolean)."""
    match node:
        case Literal(edm_type=edm_type) if edm_type not in (None, EdmType.BOOLEAN):
            return f"an {edm_type} literal"
        case Binary(op=op) if op in ARITHMETIC_OPS:
            return f"a number ('{op.value}')"
        case Unary(op=UnaryOp.NEG):
            return "a number ('-')"
        case Call(function=Function.CAST, args=(*_, Literal(value=str(type_name)) as last)):
            return None if last == _BOOLEAN_TYPE else f"an {type_name} (cast)"
        case Call(function=function) if function in _NON_BOOLEAN_RESULTS:
            return f"{_NON_BOOLEAN_RESULTS[function]} ({function.value})"
        case _:
            return None


class _Code(NamedTuple):
    """A compiled node; a constant one also carries its value."""

    evaluate: Evaluator
    constant: bool = False
    value: Any = None


def _constant(value: Any) -> _Code:
    return _Code(lambda record: value, True, value)


class _Compiler:
    def __init__(self, properties: Collection[str] | None, source: str) -> None:
        self.properties = properties
        self.source = source

    def error(self, message: str, node: Node) -> QuerySyntaxError:
        return QuerySyntaxError(message, self.source, node.position)

    def require_boolean(self, node: Node) -> None:
        found = _non_boolean(node)
        if found is not None:
            raise self.error(f"expected a boolean expression, but this gives {found}", node)

    def compile(self, node: Node) -> _Code:
        match node:
            case Literal(value=value):
                return _constant(value)
            case Property():
                return _Code(self.property(node))
            case Unary():
                return self.fold(node, self.unary(node))
            case Binary(op=op) if op in LOGICAL_OPS:
                return self.fold(node, self.logical(node))
            case Binary():
                return self.fold(node, self.binary(node))
            case Call():
                return self.fold(node, self.call(node))

    def fold(self, node: Node, code: _Code) -> _Code:
        """Evaluate now what depends on no record; what fails is wrong for every record."""
        if not code.constant:
            return code
        try:
            return _constant(code.evaluate(_EMPTY))
        except FAILURES as failure:
            raise self.error(f"cannot evaluate this: {failure}", node) from None

    def property(self, node: Property) -> Evaluator:
        path = node.path
        if self.properties is not None and path[0] not in self.properties:
            close = difflib.get_close_matches(path[0], self.properties, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise self.error(f"unknown property {path[0]!r}{hint}", node)
        if len(path) == 1:
            return operator.methodcaller("get", node.name)  # C speed, missing is None
        return closures.path_reader(path)

    def unary(self, node: Unary) -> _Code:
        operand = self.compile(node.operand)
        inner = operand.evaluate
        if node.op is UnaryOp.NEG:
            return _Code(lambda record: negate(inner(record)), operand.constant)
        self.require_boolean(node.operand)
        return _Code(closures.logical_not(inner), operand.constant)

    def logical(self, node: Binary) -> _Code:
        terms = _chain(node)
        for term in terms:
            self.require_boolean(term)
        codes = [self.compile(term) for term in terms]
        combine = closures.all_of if node.op is BinaryOp.AND else closures.any_of
        evaluate = combine([code.evaluate for code in codes])
        return _Code(evaluate, all(code.constant for code in codes))

    def binary(self, node: Binary) -> _Code:
        left, right = self.compile(node.left), self.compile(node.right)
        constant = left.constant and right.constant
        if node.op not in COMPARISON_OPS:
            return _Code(closures.arithmetic_of(node.op, left.evaluate, right.evaluate), constant)
        if left.constant and not right.constant:
            op = closures.REFLECTED[node.op]
            return _Code(closures.comparison_with_constant(op, right.evaluate, left.value))
        if right.constant and not left.constant:
            return _Code(closures.comparison_with_constant(node.op, left.evaluate, right.value))
        return _Code(closures.comparison(node.op, left.evaluate, right.evaluate), constant)

    def call(self, node: Call) -> _Code:
        function = node.function
        if function in (Function.ISOF, Function.CAST) and len(node.args) == 1:
            raise self.error(
                f"{function.value}() with only a type (a test of the entity's type) is not "
                "supported; give the value to test as the first argument",
                node,
            )
        codes = [self.compile(arg) for arg in node.args]
        constant = all(code.constant for code in codes)
        implementation = IMPLEMENTATIONS[function]
        if function is Function.ISOF:  # the one function that is not null in, null out
            value, type_name = codes[0].evaluate, codes[1].value
            return _Code(lambda record: is_of_type(value(record), type_name), constant)
        shortcut = None if constant else _string_shortcut(function, codes, implementation)
        if shortcut is not None:
            return _Code(shortcut)
        return _Code(closures.call(implementation, [c.evaluate for c in codes]), constant)


def _string_shortcut(
    function: Function, codes: list[_Code], implementation: Callable[..., Any]
) -> Evaluator | None:
    """``startswith(Key, 'a')`` and kin as one string method call per record."""
    if function not in closures.STRING_METHODS:
        return None
    fixed = closures.STRING_METHODS[function][1]
    constant, read = codes[fixed], codes[1 - fixed].evaluate
    if not (constant.constant and isinstance(constant.value, str)):
        return None
    text: str = constant.value
    if fixed == 0:
        fallback: Callable[[Any], Any] = lambda value: implementation(text, value)  # noqa: E731
    else:
        fallback = lambda value: implementation(value, text)  # noqa: E731
    return closures.string_method_call(function, read, text, fallback)


def _chain(node: Binary) -> list[Node]:
    """The operands of a run of one logical operator, left to right, without recursion."""
    terms: list[Node] = []
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Binary) and current.op is node.op:
            stack += (current.right, current.left)
        else:
            terms.append(current)
    return terms
